"""Sign-in throttling that slows guessing down without letting anyone lock an account out.

Only failures count. Each attempt takes a token from three buckets before the password is
checked (so that a thousand guesses sent at once are still a thousand tokens), and a
successful sign-in gives them back:

- the account from this client address: a guesser at one address gets a few tries, and
  nobody else is affected by them;
- this client address, whatever the account: one address spraying many accounts;
- the account from everywhere, several times larger than the first, against a guesser
  spread over many addresses; a single address can never empty it alone.

Addresses are counted by `address_bucket` (IPv6 by /64). Keys are digests of the email, so
Redis never holds an address of a person, and unknown emails are throttled like known ones.
They exist before any tenant is known, so they live under a platform prefix (the only Redis
keys of auth that do not start with a tenant id).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from parley_platform.errors import RateLimited
from parley_platform.ratelimit import Limit, RateLimiter, address_bucket
from prometheus_client import Counter

from parley_auth.config import Settings

PLATFORM_PREFIX = "platform"

THROTTLED = Counter(
    "parley_auth_sign_in_throttled_total",
    "Sign-in attempts refused by throttling, by the bucket that was empty",
    ["bucket"],
)
_BUCKET_NAMES = ("account_and_address", "address", "account")


@dataclass(frozen=True)
class Admission:
    """An attempt let through: the tokens it took, to give back if it succeeds."""

    buckets: tuple[tuple[str, Limit], ...]


def email_digest(email: str) -> str:
    """What Redis keys about an email address hold instead of the address itself."""
    return hashlib.sha256(email.encode()).hexdigest()


class SignInThrottle:
    """Admits password checks (sign-in, password change) and forgives successful ones."""

    def __init__(self, limiter: RateLimiter, settings: Settings) -> None:
        self._limiter = limiter
        self._settings = settings

    def buckets(self, email: str, client_address: str) -> tuple[tuple[str, Limit], ...]:
        """The three buckets an attempt on `email` from `client_address` spends."""
        s = self._settings
        account = f"{PLATFORM_PREFIX}:login:account:{email_digest(email)}"
        address = f"{PLATFORM_PREFIX}:login:address:{address_bucket(client_address)}"
        window = s.login_window_s
        return (
            (
                f"{account}:from:{address_bucket(client_address)}",
                Limit.per(s.login_failures_per_account_and_address, window),
            ),
            (address, Limit.per(s.login_failures_per_address, window)),
            (account, Limit.per(s.login_failures_per_account, window)),
        )

    async def admit(self, email: str, client_address: str) -> Admission:
        """Take this attempt's tokens, or refuse it (429 with the wait) when a bucket is
        empty; nothing is taken from the others then."""
        buckets = self.buckets(email, client_address)
        decision = await self._limiter.try_acquire_all(buckets)
        if not decision.allowed:
            for name, left in zip(_BUCKET_NAMES, decision.remaining, strict=True):
                if left < 1:
                    THROTTLED.labels(name).inc()
            raise RateLimited(
                "too many failed sign-in attempts; try again later",
                retry_after_s=decision.retry_after_s,
            )
        return Admission(buckets)

    async def succeeded(self, admission: Admission) -> None:
        """The password was right: the attempt does not count, and this address's earlier
        typos on this account are forgiven."""
        account_and_address, *others = admission.buckets
        await self._limiter.reset(account_and_address[0])
        await self._limiter.give_back(others)
