"""Email Parley sends to prove that whoever claims an address receives its mail: the link
that confirms a sign-up, the note that an address already has an account, invitations.

Two ways out (`PARLEY_AUTH_EMAIL_DELIVERY`):

- `mailbox` (development and tests): messages are kept in Redis for a day (the last 500) and
  shown by auth at `/dev/mailbox` (a page) and `/dev/mailbox/messages?to=` (JSON). Never
  served in production, where the messages would only pile up (a start-up warning says so).
- `smtp`: sent through the configured SMTP server (STARTTLS unless disabled).

Messages carry one-time links: they are never logged, only their purpose.
"""

from __future__ import annotations

import asyncio
import json
import logging
import smtplib
import ssl
import time
from dataclasses import asdict, dataclass
from email.message import EmailMessage
from typing import Any, Protocol

from prometheus_client import Counter
from redis.asyncio import Redis

log = logging.getLogger(__name__)

EMAILS = Counter("parley_auth_emails_total", "Emails handed to delivery, by purpose", ["purpose"])

MAILBOX_KEY = "platform:mailbox"
MAILBOX_SIZE = 500
MAILBOX_KEEP_S = 24 * 3600


@dataclass(frozen=True)
class OutgoingEmail:
    """One message: who it is for, why, and what it says."""

    to: str
    purpose: str  # signup_confirmation, signup_existing_account, invitation
    subject: str
    text: str
    link: str | None = None


class EmailSender(Protocol):
    async def send(self, email: OutgoingEmail) -> None: ...


class LocalMailbox:
    """Keeps messages in Redis, for a person (or a test) to read at `/dev/mailbox`."""

    def __init__(self, redis: Redis) -> None:
        self._redis = redis

    async def send(self, email: OutgoingEmail) -> None:
        EMAILS.labels(email.purpose).inc()
        record = json.dumps({**asdict(email), "at": time.time()})
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.lpush(MAILBOX_KEY, record)
            pipe.ltrim(MAILBOX_KEY, 0, MAILBOX_SIZE - 1)
            pipe.expire(MAILBOX_KEY, MAILBOX_KEEP_S)
            await pipe.execute()
        log.info("email kept in the local mailbox (/dev/mailbox)", extra={"purpose": email.purpose})

    async def messages(self, to: str | None = None) -> list[dict[str, Any]]:
        """The kept messages, newest first (those for `to` only, when given)."""
        records = await self._redis.lrange(MAILBOX_KEY, 0, MAILBOX_SIZE - 1)
        found = [json.loads(r) for r in records]
        return [m for m in found if to is None or m["to"] == to]


@dataclass(frozen=True)
class SmtpSender:
    """Sends through an SMTP server (in a worker thread: smtplib blocks)."""

    host: str
    port: int
    sender: str
    username: str | None
    password: str | None
    starttls: bool
    timeout_s: float

    async def send(self, email: OutgoingEmail) -> None:
        EMAILS.labels(email.purpose).inc()
        message = EmailMessage()
        message["From"] = self.sender
        message["To"] = email.to
        message["Subject"] = email.subject
        message.set_content(email.text)
        await asyncio.to_thread(self._deliver, message)
        log.info("email sent", extra={"purpose": email.purpose})

    def _deliver(self, message: EmailMessage) -> None:
        with smtplib.SMTP(self.host, self.port, timeout=self.timeout_s) as smtp:
            if self.starttls:
                smtp.starttls(context=ssl.create_default_context())
            if self.username and self.password:
                smtp.login(self.username, self.password)
            smtp.send_message(message)


def signup_confirmation(to: str, company: str, link: str) -> OutgoingEmail:
    return OutgoingEmail(
        to=to,
        purpose="signup_confirmation",
        subject="Confirm your email to create your Parley account",
        text=(
            f"Someone (we hope you) asked to create a Parley account for {company} with this "
            f"address. Open this link to confirm it and start:\n\n{link}\n\nThe link works "
            "once and expires. If it was not you, ignore this message: nothing is created."
        ),
        link=link,
    )


def signup_existing_account(to: str, sign_in_link: str) -> OutgoingEmail:
    return OutgoingEmail(
        to=to,
        purpose="signup_existing_account",
        subject="You already have a Parley account",
        text=(
            "Someone (we hope you) tried to create a Parley account with this address, which "
            "already has one: one address is one account. Sign in instead:\n\n"
            f"{sign_in_link}\n\nIf it was not you, you can ignore this message."
        ),
        link=sign_in_link,
    )


def invitation(to: str, company: str, inviter: str, link: str) -> OutgoingEmail:
    return OutgoingEmail(
        to=to,
        purpose="invitation",
        subject=f"{inviter} invited you to {company} on Parley",
        text=(
            f"{inviter} invited you to join {company} on Parley. Open this link to choose "
            f"your password:\n\n{link}\n\nThe link works once and expires."
        ),
        link=link,
    )
