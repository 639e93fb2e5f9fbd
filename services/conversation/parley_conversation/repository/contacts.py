"""Queries about contacts: the customers of a tenant, by WhatsApp id and business-scoped
user id (BSUID)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from parley_platform.db import driver
from sqlalchemy import and_, exists, func, or_, select

from parley_conversation.repository.tables import contacts, conversations

# The statements of every customer message, in plain SQL through asyncpg (prepared once per
# connection; parley_platform.db.driver says why).
_CONTACT = driver.columns(contacts)
_FIND_BY_WA_ID = f"SELECT {_CONTACT} FROM contacts WHERE tenant_id = $1 AND wa_id = $2 FOR UPDATE"  # noqa: S608
_FIND_BY_BSUID = f"SELECT {_CONTACT} FROM contacts WHERE tenant_id = $1 AND bsuid = $2 FOR UPDATE"  # noqa: S608
_CREATE = f"""
    INSERT INTO contacts (tenant_id, id, wa_id, from_wa_id, bsuid, profile_name, username)
    VALUES ($1, $2, $3, $4, $5, $6, $7)
    ON CONFLICT DO NOTHING
    RETURNING {_CONTACT}
"""  # noqa: S608
# A known contact brought up to date ($1 tenant, $2 contact, locked): each of $3-$6 (wa_id,
# from_wa_id, profile_name, username) replaces the column unless NULL; $7 becomes the BSUID of
# a contact that has none, unless another contact (known only by it) already holds it.
_BRING_UP_TO_DATE = f"""
    UPDATE contacts AS k
       SET wa_id = coalesce($3, k.wa_id),
           from_wa_id = coalesce($4, k.from_wa_id),
           profile_name = coalesce($5, k.profile_name),
           username = coalesce($6, k.username),
           bsuid = CASE WHEN $7::text IS NULL OR k.bsuid IS NOT NULL THEN k.bsuid
                        WHEN EXISTS (SELECT 1 FROM contacts o
                                      WHERE o.tenant_id = $1 AND o.bsuid = $7) THEN k.bsuid
                        ELSE $7 END,
           updated_at = now()
     WHERE k.tenant_id = $1 AND k.id = $2
    RETURNING {_CONTACT}
"""  # noqa: S608


@dataclass(frozen=True)
class Contact:
    """A customer as WhatsApp identifies them to this tenant."""

    id: UUID
    wa_id: str | None  # contacts[].wa_id (else messages[].from)
    from_wa_id: str | None  # messages[].from when it differs from wa_id
    bsuid: str | None  # business-scoped user id
    profile_name: str | None
    username: str | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def from_row(cls, row: Any) -> Contact:
        return cls(**{f: row[f] for f in cls.__dataclass_fields__})


@dataclass(frozen=True)
class ContactIdentity:
    """How one inbound message identifies its sender."""

    wa_id: str | None
    from_wa_id: str | None
    bsuid: str | None
    profile_name: str | None
    username: str | None


class ContactRepository:
    """Contacts of one tenant (the session's)."""

    def __init__(self, session: driver.SqlSession, tenant_id: UUID) -> None:
        self._session = session
        self._tenant_id = tenant_id

    async def _find(self, sql: str, value: str) -> Contact | None:
        row = await driver.fetch_one(self._session, sql, self._tenant_id, value)
        return Contact.from_row(row) if row else None

    async def record_sender(self, who: ContactIdentity) -> Contact:
        """The contact who sent a message, created or brought up to date (name, ids)."""
        found = await self._find_sender(who)
        if found is None:
            inserted = await driver.fetch_one(
                self._session,
                _CREATE,
                self._tenant_id,
                uuid.uuid4(),
                who.wa_id,
                who.from_wa_id,
                who.bsuid,
                who.profile_name,
                who.username,
            )
            if inserted is not None:
                return Contact.from_row(inserted)
            # Created at the same moment by an event keyed differently (by BSUID instead of
            # number): the conflict waited for that transaction, so it is visible now.
            found = await self._find_sender(who)
            if found is None:
                raise ContactCreatedConcurrently(who.wa_id or who.bsuid or "")
        return await self._bring_up_to_date(found, who)

    async def _find_sender(self, who: ContactIdentity) -> Contact | None:
        found = None
        if who.wa_id:
            found = await self._find(_FIND_BY_WA_ID, who.wa_id)
        if found is None and who.bsuid:
            found = await self._find(_FIND_BY_BSUID, who.bsuid)
        return found

    async def _bring_up_to_date(self, found: Contact, who: ContactIdentity) -> Contact:
        wa_id = who.wa_id if who.wa_id and found.wa_id is None else None
        from_wa_id = who.from_wa_id if who.from_wa_id != found.from_wa_id else None
        profile_name = who.profile_name if who.profile_name != found.profile_name else None
        username = who.username if who.username != found.username else None
        bsuid = who.bsuid if who.bsuid and found.bsuid is None else None
        if not any((wa_id, from_wa_id, profile_name, username, bsuid)):
            return found
        row = await driver.fetch_one(
            self._session,
            _BRING_UP_TO_DATE,
            self._tenant_id,
            found.id,
            wa_id,
            from_wa_id,
            profile_name,
            username,
            bsuid,
        )
        if row is None:
            raise LookupError(f"contact {found.id} is gone")
        return Contact.from_row(row)

    async def get(self, contact_id: UUID) -> Contact | None:
        row = (
            (
                await driver.sqlalchemy_session(self._session).execute(
                    select(contacts).where(
                        contacts.c.tenant_id == self._tenant_id, contacts.c.id == contact_id
                    )
                )
            )
            .mappings()
            .first()
        )
        return Contact.from_row(row) if row else None

    async def search(
        self,
        *,
        visible: Any,
        query: str | None,
        after: tuple[str, UUID] | None,
        limit: int,
    ) -> list[Contact]:
        """Contacts with at least one conversation matching `visible` (a condition on the
        conversations table), optionally matching `query` (name, username or number),
        ordered by name then id, after the cursor `after`."""
        sort_name = func.coalesce(contacts.c.profile_name, "")
        statement = (
            select(contacts)
            .where(
                contacts.c.tenant_id == self._tenant_id,
                exists().where(
                    conversations.c.tenant_id == contacts.c.tenant_id,
                    conversations.c.contact_id == contacts.c.id,
                    visible,
                ),
            )
            .order_by(sort_name, contacts.c.id)
            .limit(limit)
        )
        if query:
            statement = statement.where(matches_contact(query))
        if after is not None:
            statement = statement.where(
                or_(
                    sort_name > after[0],
                    and_(sort_name == after[0], contacts.c.id > after[1]),
                )
            )
        rows = (await driver.sqlalchemy_session(self._session).execute(statement)).mappings().all()
        return [Contact.from_row(r) for r in rows]


class ContactCreatedConcurrently(RuntimeError):
    """A contact's insert conflicted but the conflicting row is not visible (retry)."""


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def matches_contact(query: str) -> Any:
    """A condition: the contact's name or username contains `query` (any case), or their
    number contains its digits."""
    pattern = f"%{_escape_like(query.strip())}%"
    conditions = [
        contacts.c.profile_name.ilike(pattern, escape="\\"),
        contacts.c.username.ilike(pattern, escape="\\"),
    ]
    digits = "".join(c for c in query if c.isdigit())
    if digits:
        conditions += [
            contacts.c.wa_id.like(f"%{digits}%"),
            contacts.c.from_wa_id.like(f"%{digits}%"),
        ]
    return or_(*conditions)
