"""The Cloud API requests that carry out one send command (WHATSAPP.md §4).

A text longer than 4096 characters becomes several requests (one wamid each); everything
else is one request. A read receipt (with or without the typing indicator) is no message:
one request of its own shape, fire-and-forget. Commands Meta would refuse for their shape
are refused here first, with a reason the dashboard can show.
"""

from __future__ import annotations

from typing import Any

from parley.whatsapp.v1 import events_pb2 as wa

from parley_whatsapp.domain.text import split_text

BUTTON_LIMIT = 3
BUTTON_TITLE_LIMIT = 20
BUTTON_ID_LIMIT = 256
INTERACTIVE_BODY_LIMIT = 1024
INTERACTIVE_FOOTER_LIMIT = 60
INTERACTIVE_HEADER_LIMIT = 60
MAX_MESSAGE_ID_LENGTH = 200


class InvalidCommand(ValueError):
    """The send command cannot become a valid Cloud API request."""


# One POST to `/{phone_number_id}/messages`.
CloudRequest = dict[str, Any]


def recipient_of(command: wa.SendCommand) -> str:
    """The customer a command is addressed to (phone digits, else BSUID)."""
    return command.to_wa_id.removeprefix("+") or command.to_user_id


def is_read_receipt(command: wa.SendCommand) -> bool:
    """Whether `command` only marks a customer's message read (no message is sent)."""
    return command.WhichOneof("content") == "mark_read"


def plan_requests(command: wa.SendCommand) -> list[CloudRequest]:
    """The requests for the message `command` sends, in the order they must be sent."""
    if not command.message_id or len(command.message_id) > MAX_MESSAGE_ID_LENGTH:
        raise InvalidCommand("message_id is missing or too long")
    content = command.WhichOneof("content")
    if content == "mark_read":
        raise InvalidCommand("a read receipt is not a message (see read_receipt)")
    addressed = _addressing(command)
    if content == "text":
        parts = split_text(command.text.body)
        if not parts:
            raise InvalidCommand("text body is empty")
        return [
            _message(
                addressed,
                command,
                "text",
                {"body": part, "preview_url": False},
                with_context=index == 0,
            )
            for index, part in enumerate(parts)
        ]
    if content == "template":
        # Template messages show no quote bubble, so no context is attached.
        return [
            _message(
                addressed, command, "template", _template(command.template), with_context=False
            )
        ]
    if content == "buttons":
        return [_message(addressed, command, "interactive", _buttons(command.buttons))]
    raise InvalidCommand("the command has no content")


def read_receipt(command: wa.SendCommand) -> CloudRequest:
    """The request that marks the customer's message (and those before it) read, and shows
    the typing indicator when asked (Meta answers `{"success": true}`, no wamid)."""
    mark = command.mark_read
    if not mark.wamid:
        raise InvalidCommand("mark_read needs the wamid of the customer's message")
    body: CloudRequest = {
        "messaging_product": "whatsapp",
        "status": "read",
        "message_id": mark.wamid,
    }
    if mark.typing_indicator:
        body["typing_indicator"] = {"type": "text"}
    return body


def _addressing(command: wa.SendCommand) -> dict[str, str]:
    if command.to_wa_id:
        digits = command.to_wa_id.removeprefix("+")
        if not digits.isdigit() or not 6 <= len(digits) <= 20:
            raise InvalidCommand("to_wa_id must be a phone number in digits")
        # With the + Meta never guesses the country from the business number (WHATSAPP.md §4).
        return {"to": f"+{digits}"}
    if command.to_user_id:
        return {"recipient": command.to_user_id}
    raise InvalidCommand("the command names no recipient (to_wa_id or to_user_id)")


def _message(
    addressed: dict[str, str],
    command: wa.SendCommand,
    kind: str,
    content: dict[str, Any],
    *,
    with_context: bool = True,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        **addressed,
        "type": kind,
        kind: content,
    }
    if with_context and command.reply_to_wamid:
        body["context"] = {"message_id": command.reply_to_wamid}
    if command.biz_opaque_callback_data:
        body["biz_opaque_callback_data"] = command.biz_opaque_callback_data
    return body


def _template(template: wa.Template) -> dict[str, Any]:
    if not template.name or not template.language:
        raise InvalidCommand("a template needs a name and a language")
    components = []
    for component in template.components:
        if component.type == "button":
            sub_type = component.sub_type or "quick_reply"
            parameters = (
                [{"type": "payload", "payload": component.payload}]
                if sub_type == "quick_reply"
                else [{"type": "text", "text": p.text} for p in component.parameters]
            )
            components.append(
                {
                    "type": "button",
                    "sub_type": sub_type,
                    "index": str(component.index),
                    "parameters": parameters,
                }
            )
        elif component.type in ("header", "body"):
            components.append(
                {
                    "type": component.type,
                    "parameters": [_template_parameter(p) for p in component.parameters],
                }
            )
        else:
            raise InvalidCommand(f"unknown template component type {component.type!r}")
    body: dict[str, Any] = {"name": template.name, "language": {"code": template.language}}
    if components:
        body["components"] = components
    return body


def _template_parameter(parameter: wa.Template.Parameter) -> dict[str, str]:
    value = {"type": "text", "text": parameter.text}
    if parameter.name:
        value["parameter_name"] = parameter.name
    return value


def _buttons(buttons: wa.InteractiveButtons) -> dict[str, Any]:
    if not buttons.body or len(buttons.body) > INTERACTIVE_BODY_LIMIT:
        raise InvalidCommand(f"button message body must be 1 to {INTERACTIVE_BODY_LIMIT} chars")
    if not 1 <= len(buttons.buttons) <= BUTTON_LIMIT:
        raise InvalidCommand(f"a button message has 1 to {BUTTON_LIMIT} buttons")
    titles = [b.title for b in buttons.buttons]
    if any(not t or len(t) > BUTTON_TITLE_LIMIT for t in titles) or len(set(titles)) != len(titles):
        raise InvalidCommand(f"button titles must be unique and 1 to {BUTTON_TITLE_LIMIT} chars")
    if any(not b.id or len(b.id) > BUTTON_ID_LIMIT for b in buttons.buttons):
        raise InvalidCommand(f"button ids must be 1 to {BUTTON_ID_LIMIT} characters")
    if len(buttons.footer) > INTERACTIVE_FOOTER_LIMIT:
        raise InvalidCommand(f"footer longer than {INTERACTIVE_FOOTER_LIMIT} characters")
    if len(buttons.header_text) > INTERACTIVE_HEADER_LIMIT:
        raise InvalidCommand(f"header longer than {INTERACTIVE_HEADER_LIMIT} characters")
    interactive: dict[str, Any] = {
        "type": "button",
        "body": {"text": buttons.body},
        "action": {
            "buttons": [
                {"type": "reply", "reply": {"id": b.id, "title": b.title}} for b in buttons.buttons
            ]
        },
    }
    if buttons.header_text:
        interactive["header"] = {"type": "text", "text": buttons.header_text}
    if buttons.footer:
        interactive["footer"] = {"text": buttons.footer}
    return interactive
