"""The sandbox's own API, for people, tests and `make run`: register business numbers, write
as a customer (the sandbox sends the webhook like Meta), read what the platform sent, inject
faults."""

from __future__ import annotations

import base64
import binascii
import secrets
import time
from typing import Any, Literal

from fastapi import APIRouter, HTTPException, Query
from pydantic import BaseModel, Field

from parley_sandbox import meta
from parley_sandbox.config import SandboxSettings
from parley_sandbox.state import BusinessNumber, Media, SandboxState, Template
from parley_sandbox.webhooks import WebhookDelivery

MEDIA_KINDS = ("image", "video", "audio", "document", "sticker")


class TemplateSpec(BaseModel):
    """An approved template the number accepts."""

    name: str
    language: str = "en_US"
    body_parameters: int = Field(default=0, ge=0)


class NumberRegistration(BaseModel):
    """A business number the sandbox should serve."""

    phone_number_id: str = Field(min_length=1, max_length=64)
    waba_id: str = Field(min_length=1, max_length=64)
    display_phone_number: str = Field(min_length=1, max_length=32)
    access_token: str | None = Field(
        default=None,
        min_length=8,
        description="the business token the sandbox accepts for this number (and its WABA); "
        "default: the sandbox issues one and returns it",
    )
    verified_name: str = Field(default="Sandbox Business", min_length=1, max_length=120)
    app_secret: str | None = Field(
        default=None,
        min_length=8,
        description="signs this number's webhooks (default: the "
        "sandbox's PARLEY_SANDBOX_DEFAULT_APP_SECRET)",
    )
    webhook_url: str | None = None
    messages_per_second: int | None = Field(default=None, ge=1)
    templates: list[TemplateSpec] | None = None


class MediaUpload(BaseModel):
    """A file a simulated customer sends (base64)."""

    data_base64: str
    mime_type: str
    caption: str | None = None
    filename: str | None = None
    voice: bool = False


class CustomerMessage(BaseModel):
    """What a simulated customer sends to a business number."""

    phone_number_id: str
    name: str = "Sandbox Customer"
    user_id: str | None = Field(default=None, description="business-scoped user id (BSUID)")
    hide_number: bool = Field(
        default=False, description="username mode: the webhook carries only the BSUID"
    )
    text: str | None = None
    media_kind: Literal["image", "video", "audio", "document", "sticker"] | None = None
    media: MediaUpload | None = None
    button_reply: dict[str, str] | None = Field(default=None, description="{id, title}")
    reaction: dict[str, str] | None = Field(default=None, description="{message_id, emoji}")
    location: dict[str, Any] | None = None
    reply_to_wamid: str | None = None
    raw: dict[str, Any] | None = Field(
        default=None, description="a whole messages[] item of any type (id/from are filled in)"
    )


class Behaviour(BaseModel):
    """How the sandbox behaves from now on (fields left out stay as they are)."""

    status_webhooks: bool | None = None
    status_drop_probability: float | None = Field(default=None, ge=0, le=1)
    status_shuffle_probability: float | None = Field(default=None, ge=0, le=1)
    status_duplicate_probability: float | None = Field(default=None, ge=0, le=1)


class FaultSpec(BaseModel):
    """A failure to inject into Cloud API requests."""

    phone_number_id: str | None = Field(default=None, description="default: every number")
    code: int | None = Field(default=None, description="Graph error code to answer with")
    latency_ms: int = Field(default=0, ge=0, le=120_000)
    timeout: bool = False
    accept: bool = Field(
        default=False, description="deliver the message anyway (the answer is what fails)"
    )
    count: int | None = Field(
        default=None, ge=1, description="for N requests; default: until cleared"
    )
    probability: float = Field(default=1.0, gt=0, le=1)


def build_router(
    settings: SandboxSettings, state: SandboxState, webhooks: WebhookDelivery
) -> APIRouter:
    """The `/sandbox/*` routes over the sandbox's state."""
    router = APIRouter(prefix="/sandbox", tags=["sandbox control"])

    @router.post("/numbers", status_code=201, summary="Register (or update) a business number")
    async def register_number(spec: NumberRegistration) -> dict[str, Any]:
        """Create the number on Meta's side, as a business does in WhatsApp Manager. Without a
        token given, the sandbox issues one and answers with it, once (what Embedded Signup
        hands the business's tech provider)."""
        token = spec.access_token or f"EAAG{secrets.token_urlsafe(32)}"
        number = BusinessNumber(
            phone_number_id=spec.phone_number_id,
            waba_id=spec.waba_id,
            display_phone_number=spec.display_phone_number,
            verified_name=spec.verified_name,
            access_token=token,
            app_secret=spec.app_secret or settings.default_app_secret.get_secret_value(),
            webhook_url=spec.webhook_url or settings.default_webhook_url,
            messages_per_second=spec.messages_per_second or settings.default_messages_per_second,
        )
        if spec.templates is not None:
            number.templates = [Template(**t.model_dump()) for t in spec.templates]
        state.register(number)
        issued = {"access_token": token} if spec.access_token is None else {}
        return {**number.public(), **issued}

    @router.get("/numbers", summary="Registered business numbers")
    async def list_numbers() -> list[dict[str, Any]]:
        return [
            {**n.public(), "app_subscribed": n.waba_id in state.subscriptions}
            for n in state.numbers.values()
        ]

    @router.get("/numbers/{phone_number_id}/traffic", summary="What a number's endpoint saw")
    async def number_traffic(phone_number_id: str) -> dict[str, Any]:
        if phone_number_id not in state.traffic:
            raise HTTPException(404, "unknown number")
        return state.traffic[phone_number_id].public()

    @router.post(
        "/customers/{wa_id}/messages", summary="A customer writes: the webhook goes to Parley"
    )
    async def customer_writes(wa_id: str, message: CustomerMessage) -> dict[str, Any]:
        number = state.numbers.get(message.phone_number_id)
        if number is None:
            raise HTTPException(404, "unknown business number; register it first")
        if not wa_id.isdigit():
            raise HTTPException(422, "wa_id is the customer's number in digits")
        item = _message_item(number, wa_id, message)
        contact = meta.contact(
            None if message.hide_number else wa_id, message.name, message.user_id
        )
        payload = meta.notification(
            number.waba_id,
            number.phone_number_id,
            number.display_phone_number,
            messages=[item],
            contacts=[contact],
        )
        # The window opens for the customer however the business addresses them.
        for customer in (wa_id, message.user_id):
            if customer:
                state.last_inbound[(number.phone_number_id, customer)] = time.monotonic()
        state.inbound_senders[item["id"]] = wa_id
        state.inbound.append(
            {
                "sequence": state.next_sequence(),
                "wamid": item["id"],
                "phone_number_id": number.phone_number_id,
                "from": wa_id,
                "type": item["type"],
                "content": item.get(item["type"]),
                "at": time.time(),
            }
        )
        status = await webhooks.deliver(number, payload, kind="message")
        return {"wamid": item["id"], "webhook_status": status, "message": item}

    def _message_item(number: BusinessNumber, wa_id: str, message: CustomerMessage) -> dict:
        sender = None if message.hide_number else wa_id
        context = (
            {"from": number.display_phone_number, "id": message.reply_to_wamid}
            if message.reply_to_wamid
            else None
        )
        common: dict[str, Any] = {"sender_user_id": message.user_id, "context": context}
        if message.raw is not None:
            kind = str(message.raw.get("type") or "unsupported")
            item = meta.message(sender, kind, None, **common)
            item.update({k: v for k, v in message.raw.items() if k not in ("id", "from")})
            return item
        if message.media is not None:
            kind = message.media_kind or "image"
            try:
                content = base64.b64decode(message.media.data_base64, validate=True)
            except (binascii.Error, ValueError) as exc:
                raise HTTPException(422, "media.data_base64 is not base64") from exc
            if len(content) > settings.max_media_bytes:
                raise HTTPException(413, "media larger than the sandbox accepts")
            media = Media(
                state.new_media_id(), number.phone_number_id, message.media.mime_type, content
            )
            state.media[media.media_id] = media
            body: dict[str, Any] = {
                "id": media.media_id,
                "mime_type": media.mime_type,
                "sha256": media.sha256,
            }
            if message.media.caption:
                body["caption"] = message.media.caption
            if kind == "document":
                body["filename"] = message.media.filename or "document"
            if kind == "audio":
                body["voice"] = message.media.voice
            return meta.message(sender, kind, body, **common)
        if message.button_reply is not None:
            return meta.message(
                sender,
                "interactive",
                {"type": "button_reply", "button_reply": message.button_reply},
                **common,
            )
        if message.reaction is not None:
            return meta.message(sender, "reaction", message.reaction, **common)
        if message.location is not None:
            return meta.message(sender, "location", message.location, **common)
        if not message.text:
            raise HTTPException(422, "give text, media, button_reply, reaction, location or raw")
        return meta.message(sender, "text", {"body": message.text}, **common)

    @router.get("/outbox", summary="What the platform sent")
    async def outbox(
        phone_number_id: str | None = None,
        recipient: str | None = Query(default=None, description="customer wa_id or BSUID"),
        since: float | None = Query(default=None, description="Unix time"),
        after_sequence: int | None = None,
    ) -> list[dict[str, Any]]:
        return [
            m
            for m in state.outbox
            if (phone_number_id is None or m["phone_number_id"] == phone_number_id)
            and (recipient is None or m.get("recipient") == recipient.removeprefix("+"))
            and (since is None or m["at"] >= since)
            and (after_sequence is None or m["sequence"] > after_sequence)
        ]

    @router.get("/conversation", summary="Both sides of one chat, in order (the chat page)")
    async def conversation(
        phone_number_id: str, wa_id: str, after_sequence: int = 0
    ) -> list[dict[str, Any]]:
        inbound = [
            {**m, "direction": "in"}
            for m in state.inbound
            if m["phone_number_id"] == phone_number_id and m["from"] == wa_id
        ]
        outbound = [
            {**m, "direction": "out"}
            for m in state.outbox
            if m["phone_number_id"] == phone_number_id and m.get("recipient") == wa_id
        ]
        merged = sorted(inbound + outbound, key=lambda m: m["sequence"])
        return [m for m in merged if m["sequence"] > after_sequence]

    @router.get("/webhooks", summary="Every webhook delivery attempt")
    async def webhook_log(phone_number_id: str | None = None) -> list[dict[str, Any]]:
        return [
            w
            for w in state.webhook_log
            if phone_number_id is None or w["phone_number_id"] == phone_number_id
        ]

    @router.post("/faults", status_code=201, summary="Inject a failure")
    async def add_fault(spec: FaultSpec) -> dict[str, Any]:
        if spec.code is None and not spec.timeout and not spec.latency_ms:
            raise HTTPException(422, "give an error code, a timeout or a latency")
        fault = state.add_fault(
            phone_number_id=spec.phone_number_id,
            code=spec.code,
            latency_ms=spec.latency_ms,
            timeout=spec.timeout,
            accept=spec.accept,
            remaining=spec.count,
            probability=spec.probability,
        )
        return fault.__dict__

    @router.patch("/behaviour", summary="Change how statuses are delivered (lost, shuffled...)")
    async def change_behaviour(change: Behaviour) -> dict[str, Any]:
        for name, value in change.model_dump(exclude_none=True).items():
            setattr(settings, name, value)
        return {name: getattr(settings, name) for name in Behaviour.model_fields}

    @router.get("/faults", summary="Faults in force")
    async def list_faults() -> list[dict[str, Any]]:
        return [f.__dict__ for f in state.faults if f.remaining != 0]

    @router.delete("/faults", summary="Clear faults (one number's, or all)")
    async def clear_faults(phone_number_id: str | None = None) -> dict[str, int]:
        return {"cleared": state.clear_faults(phone_number_id)}

    return router
