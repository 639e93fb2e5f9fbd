"""The Cloud API paths Parley calls, answering like Meta: send a message (text, template,
interactive, mark-as-read with typing indicator), look up a media id, download the media;
and the Graph API calls of connecting a number (Embedded Signup): read a phone number, list a
WABA's numbers, subscribe the app to a WABA's webhooks. A token opens only what it was issued
for: the numbers of its WABA.

Checks run in Meta's order of concern: the token, injected faults, the number's throughput,
the request's shape, the pair limit, the 24-hour window, the template.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import time
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from starlette.requests import ClientDisconnect

from parley_sandbox import meta
from parley_sandbox.config import SandboxSettings
from parley_sandbox.state import AppSubscription, BusinessNumber, SandboxState
from parley_sandbox.webhooks import WebhookDelivery

TEXT_LIMIT = 4096
BUTTON_TITLE_LIMIT = 20
BUTTON_ID_LIMIT = 256
INTERACTIVE_BODY_LIMIT = 1024
FREE_FORM_TYPES = {
    "text",
    "interactive",
    "image",
    "video",
    "audio",
    "document",
    "sticker",
    "location",
    "contacts",
    "reaction",
}


class GraphError(Exception):
    """A Graph API error answer."""

    def __init__(self, code: int, details: str = "") -> None:
        super().__init__(code, details)
        self.code = code
        self.details = details

    def response(self) -> JSONResponse:
        """Meta's answer for this error."""
        status, body = meta.graph_error(self.code, self.details)
        return JSONResponse(body, status_code=status)


def build_router(
    settings: SandboxSettings, state: SandboxState, webhooks: WebhookDelivery
) -> APIRouter:
    """The Cloud API routes over the sandbox's state."""
    router = APIRouter(tags=["cloud api"])

    def authorised_number(request: Request, phone_number_id: str) -> BusinessNumber:
        """The number addressed, if the bearer token is the one it accepts."""
        number = state.numbers.get(phone_number_id)
        if number is None:
            raise GraphError(
                100, f"Unsupported post request. Object with ID '{phone_number_id}' does not exist"
            )
        given = request.headers.get("authorization", "")
        expected = f"Bearer {number.access_token}"
        if not hmac.compare_digest(given.encode(), expected.encode()):
            raise GraphError(190, "Error validating access token")
        return number

    def token_of(request: Request) -> str:
        return request.headers.get("authorization", "").removeprefix("Bearer ").strip()

    def authorised_waba(request: Request, waba_id: str) -> list[BusinessNumber]:
        """The WABA's numbers, if the bearer token was issued for (a number of) that WABA.
        An unknown token is 190; a token of another business is 100, as if the WABA did not
        exist (Meta does not tell a stranger which objects exist)."""
        token = token_of(request)
        if not token or not any(
            hmac.compare_digest(token.encode(), n.access_token.encode())
            for n in state.numbers.values()
        ):
            raise GraphError(190, "Error validating access token")
        numbers = state.numbers_of_waba(waba_id)
        if not any(hmac.compare_digest(token.encode(), n.access_token.encode()) for n in numbers):
            raise GraphError(
                100,
                f"Unsupported request. Object with ID '{waba_id}' does not exist, cannot be "
                "loaded due to missing permissions, or does not support this operation",
            )
        return numbers

    @router.get("/{version}/{waba_id}/phone_numbers", summary="A WABA's phone numbers")
    async def waba_phone_numbers(version: str, waba_id: str, request: Request) -> Response:
        try:
            numbers = authorised_waba(request, waba_id)
        except GraphError as error:
            return error.response()
        return JSONResponse({"data": [n.graph_view() for n in numbers]})

    @router.post("/{version}/{waba_id}/subscribed_apps", summary="Subscribe the app to a WABA")
    async def subscribe_app(version: str, waba_id: str, request: Request) -> Response:
        try:
            authorised_waba(request, waba_id)
            try:
                body = await request.json()
            except ValueError:
                body = {}
            override = body.get("override_callback_uri") if isinstance(body, dict) else None
            if override is not None and (not isinstance(override, str) or len(override) > 200):
                raise GraphError(100, "override_callback_uri must be a URL of at most 200 chars")
        except GraphError as error:
            return error.response()
        state.subscriptions[waba_id] = AppSubscription(
            override_callback_uri=override,
            verify_token=body.get("verify_token") if isinstance(body, dict) else None,
        )
        return JSONResponse({"success": True})

    @router.get("/{version}/{waba_id}/subscribed_apps", summary="Apps subscribed to a WABA")
    async def subscribed_apps(version: str, waba_id: str, request: Request) -> Response:
        try:
            authorised_waba(request, waba_id)
        except GraphError as error:
            return error.response()
        subscription = state.subscriptions.get(waba_id)
        data = []
        if subscription is not None:
            app: dict[str, Any] = {"whatsapp_business_api_data": {"name": "Parley"}}
            if subscription.override_callback_uri:
                app["override_callback_uri"] = subscription.override_callback_uri
            data.append(app)
        return JSONResponse({"data": data})

    @router.post("/{version}/{phone_number_id}/messages", summary="Send a message")
    async def send_message(version: str, phone_number_id: str, request: Request) -> Response:
        try:
            number = authorised_number(request, phone_number_id)
        except GraphError as error:
            return error.response()
        try:
            body = await request.json()
        except ValueError:
            body = None
        except ClientDisconnect:
            return Response(status_code=400)  # nobody is listening any more
        # A request counts once it fully arrived, as Meta can only count those.
        traffic = state.traffic[phone_number_id]
        traffic.record_arrival(time.monotonic())
        try:
            fault = state.draw_fault(phone_number_id)
            if fault is not None and fault.latency_ms:
                await asyncio.sleep(fault.latency_ms / 1000)
            if fault is not None and (fault.code or fault.timeout) and not fault.accept:
                return await _fail(fault.code, hold=fault.timeout)
            if traffic.accepted_window.count(time.monotonic()) >= number.messages_per_second:
                raise GraphError(
                    130429, f"Throughput of {number.messages_per_second} messages/s exceeded"
                )
            if not isinstance(body, dict) or body.get("messaging_product") != "whatsapp":
                raise GraphError(100, "messaging_product must be 'whatsapp'")
            result = _accept(number, body)
            traffic.accepted += 1
            traffic.accepted_window.add(time.monotonic())
            if fault is not None and (fault.code or fault.timeout):
                # Meta accepted it, but the answer is lost: the client sees a failure.
                return await _fail(fault.code, hold=fault.timeout)
            return JSONResponse(result)
        except GraphError as error:
            traffic.rejected[error.code] = traffic.rejected.get(error.code, 0) + 1
            return error.response()

    async def _fail(code: int | None, *, hold: bool) -> Response:
        if hold:
            await asyncio.sleep(settings.timeout_fault_hold_s)
            return JSONResponse({"error": "gateway timeout"}, status_code=504)
        raise GraphError(code or 131000, "injected fault")

    def _accept(number: BusinessNumber, body: dict[str, Any]) -> dict[str, Any]:
        if body.get("status") == "read":
            return _mark_read(number, body)
        recipient_field = "recipient" if body.get("recipient") else "to"
        recipient = str(body.get(recipient_field) or "")
        if not recipient:
            raise GraphError(131008, "The parameter 'to' is required.")
        customer = recipient.removeprefix("+")
        kind = body.get("type", "text")
        if not isinstance(body.get(kind), dict):
            raise GraphError(131008, f"The parameter '{kind}' is required.")
        _validate_content(kind, body[kind])
        if not state.pair_allows(
            number.phone_number_id, customer, settings.pair_rate_per_s, settings.pair_burst
        ):
            raise GraphError(131056, "Too many messages to this user; retry later")
        if kind == "template":
            _check_template(number, body["template"])
        elif kind in FREE_FORM_TYPES:
            last = state.last_inbound.get((number.phone_number_id, customer))
            if last is None or time.monotonic() - last > settings.customer_service_window_s:
                raise GraphError(
                    131047,
                    "Message failed to send because more than 24 hours have passed since the "
                    "customer last replied to this number.",
                )
        else:
            raise GraphError(131051, f"Message type '{kind}' is not supported")
        wamid = meta.new_wamid()
        state.outbox.append(
            {
                "sequence": state.next_sequence(),
                "wamid": wamid,
                "phone_number_id": number.phone_number_id,
                "to": recipient,
                "recipient": customer,
                "recipient_field": recipient_field,
                "type": kind,
                "content": body[kind],
                "context": body.get("context"),
                "biz_opaque_callback_data": body.get("biz_opaque_callback_data"),
                "at": time.time(),
            }
        )
        _schedule_statuses(number, wamid, customer, recipient_field, body)
        return {
            "messaging_product": "whatsapp",
            "contacts": [{"input": recipient, "wa_id": customer}],
            "messages": [{"id": wamid}],
        }

    def _mark_read(number: BusinessNumber, body: dict[str, Any]) -> dict[str, Any]:
        wamid = body.get("message_id")
        if not wamid or wamid not in state.inbound_senders:
            raise GraphError(100, f"Invalid parameter message_id '{wamid}'")
        typing = body.get("typing_indicator")
        state.outbox.append(
            {
                "sequence": state.next_sequence(),
                "wamid": None,
                "phone_number_id": number.phone_number_id,
                "type": "read",
                "recipient": state.inbound_senders[wamid],
                "content": {"message_id": wamid, "typing_indicator": typing},
                "at": time.time(),
            }
        )
        return {"success": True}

    def _schedule_statuses(
        number: BusinessNumber, wamid: str, customer: str, field: str, body: dict[str, Any]
    ) -> None:
        if not settings.status_webhooks:
            return
        wa_id, user_id = (None, customer) if field == "recipient" else (customer, None)
        callback = body.get("biz_opaque_callback_data")
        states = ["sent", "delivered", "read"]
        if state.random.random() < settings.status_shuffle_probability:
            state.random.shuffle(states)
        if state.random.random() < settings.status_duplicate_probability:
            states.append(state.random.choice(states))
        payloads = [
            meta.notification(
                number.waba_id,
                number.phone_number_id,
                number.display_phone_number,
                statuses=[
                    meta.status(wamid, s, wa_id, recipient_user_id=user_id, callback_data=callback)
                ],
            )
            for s in states
            if state.random.random() >= settings.status_drop_probability
        ]
        if payloads:
            webhooks.deliver_later(number, payloads, settings.status_delay_s, kind="status")

    def _check_template(number: BusinessNumber, template: dict[str, Any]) -> None:
        language = (template.get("language") or {}).get("code", "")
        known = number.template(str(template.get("name")), language)
        if known is None:
            raise GraphError(
                132001, f"template name ({template.get('name')}) does not exist in {language}"
            )
        body_params = sum(
            len(c.get("parameters") or [])
            for c in template.get("components") or []
            if c.get("type") == "body"
        )
        if body_params != known.body_parameters:
            raise GraphError(
                132000,
                f"body: number of localizable_params ({body_params}) does not match the "
                f"expected number of params ({known.body_parameters})",
            )

    @router.get("/{version}/{object_id}", summary="Look up a media id or a phone number")
    async def graph_object(
        version: str, object_id: str, request: Request, phone_number_id: str | None = None
    ) -> Response:
        number = state.numbers.get(object_id)
        if number is not None and object_id not in state.media:
            try:
                authorised_waba(request, number.waba_id)
            except GraphError as error:
                return error.response()
            return JSONResponse(number.graph_view())
        media_id = object_id
        media = state.media.get(media_id)
        if media is None or (phone_number_id and media.phone_number_id != phone_number_id):
            return GraphError(100, f"Object with ID '{media_id}' does not exist").response()
        try:
            authorised_number(request, media.phone_number_id)
        except GraphError as error:
            return error.response()
        # In milliseconds: whole seconds would cut a short TTL (tests use 1 s and 1 ms) by up
        # to a second, depending on when in the second the URL was made.
        expires = int((time.time() + settings.media_url_ttl_s) * 1000)
        url = (
            f"{settings.public_base_url}/sandbox/media-download/{media_id}"
            f"?expires={expires}&sig={_url_signature(media_id, expires)}"
        )
        return JSONResponse(
            {
                "messaging_product": "whatsapp",
                "url": url,
                "mime_type": media.mime_type,
                "sha256": media.sha256,
                "file_size": len(media.content),
                "id": media_id,
            }
        )

    @router.get("/sandbox/media-download/{media_id}", summary="Download media (bearer token)")
    async def media_download(media_id: str, expires: int, sig: str, request: Request) -> Response:
        media = state.media.get(media_id)
        fresh = hmac.compare_digest(sig, _url_signature(media_id, expires)) and (
            time.time() * 1000 <= expires
        )
        if media is None or not fresh:
            return Response(status_code=404)
        try:
            authorised_number(request, media.phone_number_id)
        except GraphError as error:
            return error.response()
        return Response(media.content, media_type=media.mime_type)

    def _url_signature(media_id: str, expires: int) -> str:
        key = settings.default_app_secret.get_secret_value().encode()
        return hmac.new(key, f"{media_id}:{expires}".encode(), hashlib.sha256).hexdigest()

    return router


def _validate_content(kind: str, content: dict[str, Any]) -> None:
    if kind == "text":
        text = content.get("body")
        if not isinstance(text, str) or not text:
            raise GraphError(131008, "The parameter text['body'] is required.")
        if len(text) > TEXT_LIMIT:
            raise GraphError(100, f"Param text['body'] must be at most {TEXT_LIMIT} characters.")
    elif kind == "interactive":
        buttons = ((content.get("action") or {}).get("buttons")) or []
        body_text = (content.get("body") or {}).get("text") or ""
        titles = [((b.get("reply") or {}).get("title") or "") for b in buttons]
        ids = [((b.get("reply") or {}).get("id") or "") for b in buttons]
        if not body_text or len(body_text) > INTERACTIVE_BODY_LIMIT:
            raise GraphError(131009, "interactive body text is missing or too long")
        if not 1 <= len(buttons) <= 3:
            raise GraphError(131009, "an interactive button message takes 1 to 3 buttons")
        if any(not t or len(t) > BUTTON_TITLE_LIMIT for t in titles) or len(set(titles)) < len(
            titles
        ):
            raise GraphError(131009, "button titles must be unique and at most 20 characters")
        if any(not i or len(i) > BUTTON_ID_LIMIT for i in ids):
            raise GraphError(131009, "button ids must be 1 to 256 characters")
