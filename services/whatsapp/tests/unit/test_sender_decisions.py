"""The sender's rules without I/O: what each Meta error code leads to, how long it waits
before trying again and when it gives up, how long texts are split, and the request bodies
built from send commands."""

from __future__ import annotations

import pytest
from parley.whatsapp.v1 import events_pb2 as wa
from parley_whatsapp.domain.errors import Disposition, RetryPolicy, classify, is_retryable
from parley_whatsapp.domain.outbound import (
    InvalidCommand,
    is_read_receipt,
    plan_requests,
    read_receipt,
)
from parley_whatsapp.domain.text import split_text

# WHATSAPP.md §5, row by row.
ERROR_TABLE = [
    (130429, Disposition.THROTTLED),
    (131056, Disposition.PAIR_LIMITED),
    (131048, Disposition.PERMANENT),  # spam limit: a quality stop, not a retry
    (131047, Disposition.WINDOW_CLOSED),
    (131026, Disposition.PERMANENT),
    (131049, Disposition.PERMANENT),  # only after >= 24 h: beyond any retry budget
    (131050, Disposition.PERMANENT),
    (130403, Disposition.PERMANENT),
    (4, Disposition.THROTTLED),
    (80007, Disposition.THROTTLED),
    (133016, Disposition.PERMANENT),
    (131057, Disposition.RETRY),
    (131000, Disposition.RETRY),
    (131016, Disposition.RETRY),
    (1, Disposition.RETRY),
    (2, Disposition.RETRY),
    (133004, Disposition.RETRY),
    (190, Disposition.RECONNECT),
    (0, Disposition.PERMANENT),
    (3, Disposition.PERMANENT),
    (10, Disposition.PERMANENT),
    (200, Disposition.PERMANENT),
    (299, Disposition.PERMANENT),
    (131005, Disposition.PERMANENT),
    (368, Disposition.PERMANENT),
    (131031, Disposition.PERMANENT),
    (130497, Disposition.PERMANENT),
    (131042, Disposition.PERMANENT),
    (100, Disposition.PERMANENT),
    (131008, Disposition.PERMANENT),
    (131009, Disposition.PERMANENT),
    (132000, Disposition.PERMANENT),
    (132001, Disposition.PERMANENT),
    (132016, Disposition.PERMANENT),
    (131051, Disposition.PERMANENT),
    (131053, Disposition.PERMANENT),
    (135000, Disposition.PERMANENT),
    (999999, Disposition.PERMANENT),  # a code Meta invents later surfaces, never loops
]


@pytest.mark.parametrize(("code", "disposition"), ERROR_TABLE)
def test_each_meta_error_code_has_its_disposition(code: int, disposition: Disposition) -> None:
    assert classify(code) == disposition


def test_only_transient_and_throttling_codes_are_retried() -> None:
    retried = {code for code, _ in ERROR_TABLE if is_retryable(classify(code))}
    assert retried == {130429, 131056, 4, 80007, 131057, 131000, 131016, 1, 2, 133004}


POLICY = RetryPolicy(max_attempts=8, initial_backoff_s=0.5, max_backoff_s=15.0)


def lowest(low: float, high: float) -> float:
    return low


def highest(low: float, high: float) -> float:
    return high


def test_the_pair_limit_is_waited_out_for_4_to_the_x_seconds_plus_up_to_a_fifth() -> None:
    waits = [POLICY.delay(Disposition.PAIR_LIMITED, attempt, lowest) for attempt in (1, 2, 3)]
    assert waits == [1, 4, 15]  # 16 s, capped at the longest backoff
    assert POLICY.delay(Disposition.PAIR_LIMITED, 2, highest) == pytest.approx(4.8)
    patient = RetryPolicy(max_attempts=8, initial_backoff_s=0.5, max_backoff_s=100)
    assert patient.delay(Disposition.PAIR_LIMITED, 4, lowest) == 64


@pytest.mark.parametrize("disposition", [Disposition.RETRY, Disposition.THROTTLED])
def test_other_retries_back_off_exponentially_with_up_to_half_taken_off(disposition) -> None:
    ceilings = [POLICY.delay(disposition, attempt, highest) for attempt in range(1, 8)]
    assert ceilings == [0.5, 1.0, 2.0, 4.0, 8.0, 15.0, 15.0]
    assert POLICY.delay(disposition, 3, lowest) == 1.0


def test_jitter_spreads_retries_within_the_bounds() -> None:
    delays = {POLICY.delay(Disposition.RETRY, 4) for _ in range(200)}
    assert len(delays) > 1 and all(2.0 <= d <= 4.0 for d in delays)


def test_retries_stop_when_attempts_run_out_or_the_wait_would_outlast_the_budget() -> None:
    assert POLICY.next_delay(Disposition.RETRY, 1, remaining_s=60, jitter=highest) == 0.5
    assert POLICY.next_delay(Disposition.RETRY, 7, remaining_s=60, jitter=highest) == 15.0
    assert POLICY.next_delay(Disposition.RETRY, 8, remaining_s=60, jitter=highest) is None
    assert POLICY.next_delay(Disposition.RETRY, 5, remaining_s=3.9, jitter=highest) is None
    assert POLICY.next_delay(Disposition.RETRY, 5, remaining_s=4.0, jitter=lowest) == 4.0


def test_short_text_is_one_part() -> None:
    assert split_text("  Your ticket is resolved.  ") == ["Your ticket is resolved."]
    assert split_text("   ") == []


def test_text_splits_at_the_last_paragraph_then_sentence_then_word() -> None:
    paragraph = "word " * 30  # 150 characters
    text = f"{paragraph.strip()}\n\n{paragraph.strip()}"
    assert split_text(text, limit=200) == [paragraph.strip(), paragraph.strip()]

    sentences = "One short sentence here. " * 10
    parts = split_text(sentences, limit=60)
    assert all(p.endswith(".") and len(p) <= 60 for p in parts)

    words = "alpha beta gamma delta " * 10
    parts = split_text(words, limit=25)
    assert all(len(p) <= 25 for p in parts)
    assert " ".join(parts).split() == words.split()


def test_only_a_word_longer_than_the_limit_is_cut() -> None:
    huge = "x" * 250
    assert split_text(f"see {huge} now", limit=100) == [
        "see",
        "x" * 100,
        "x" * 100,
        "x" * 50 + " now",
    ]


def test_every_part_fits_and_nothing_is_lost_for_meta_sized_texts() -> None:
    text = ("Paragraph with sentences. " * 60 + "\n\n") * 10 + "Ünïcödé 👋 " * 500
    parts = split_text(text)
    assert all(0 < len(p) <= 4096 for p in parts)
    assert "".join(p.replace(" ", "").replace("\n", "") for p in parts) == text.replace(
        " ", ""
    ).replace("\n", "")


def command(**content) -> wa.SendCommand:
    return wa.SendCommand(message_id="m1", to_wa_id="447700900123", **content)


def test_text_request_carries_plus_number_context_and_callback_data() -> None:
    [request] = plan_requests(
        command(
            text=wa.Text(body="hi"), reply_to_wamid="wamid.Q", biz_opaque_callback_data="order-42"
        )
    )
    assert request == {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": "+447700900123",
        "type": "text",
        "text": {"body": "hi", "preview_url": False},
        "context": {"message_id": "wamid.Q"},
        "biz_opaque_callback_data": "order-42",
    }


def test_split_text_quotes_only_in_the_first_part() -> None:
    requests = plan_requests(command(text=wa.Text(body="a " * 3000), reply_to_wamid="wamid.Q"))
    assert len(requests) == 2
    assert "context" in requests[0] and "context" not in requests[1]


def test_a_bsuid_recipient_uses_the_recipient_field() -> None:
    bsuid = wa.SendCommand(message_id="m", to_user_id="US.1349", text=wa.Text(body="hi"))
    [request] = plan_requests(bsuid)
    assert request["recipient"] == "US.1349" and "to" not in request


def test_template_with_named_parameters_and_a_quick_reply_payload() -> None:
    [request] = plan_requests(
        command(
            template=wa.Template(
                name="order_update",
                language="en_GB",
                components=[
                    wa.Template.Component(
                        type="body",
                        parameters=[wa.Template.Parameter(text="Ana", name="customer")],
                    ),
                    wa.Template.Component(type="button", index=0, payload="confirm:881"),
                ],
            ),
            reply_to_wamid="wamid.Q",
        )
    )
    assert "context" not in request  # templates show no quote bubble
    assert request["template"] == {
        "name": "order_update",
        "language": {"code": "en_GB"},
        "components": [
            {
                "type": "body",
                "parameters": [{"type": "text", "text": "Ana", "parameter_name": "customer"}],
            },
            {
                "type": "button",
                "sub_type": "quick_reply",
                "index": "0",
                "parameters": [{"type": "payload", "payload": "confirm:881"}],
            },
        ],
    }


def test_a_read_receipt_is_no_message_and_may_carry_the_typing_indicator() -> None:
    receipt = wa.SendCommand(
        to_wa_id="447700900123", mark_read=wa.MarkRead(wamid="wamid.Q", typing_indicator=True)
    )
    assert is_read_receipt(receipt) and not is_read_receipt(command(text=wa.Text(body="hi")))
    assert read_receipt(receipt) == {
        "messaging_product": "whatsapp",
        "status": "read",
        "message_id": "wamid.Q",
        "typing_indicator": {"type": "text"},
    }
    receipt.mark_read.typing_indicator = False
    assert "typing_indicator" not in read_receipt(receipt)
    with pytest.raises(InvalidCommand, match="wamid"):
        read_receipt(wa.SendCommand(mark_read=wa.MarkRead()))
    # It needs no message id, and is never planned as a message.
    with pytest.raises(InvalidCommand, match="not a message"):
        plan_requests(command(mark_read=wa.MarkRead(wamid="wamid.Q")))


@pytest.mark.parametrize(
    ("broken", "reason"),
    [
        (wa.SendCommand(message_id="m", to_wa_id="447700900123"), "no content"),
        (wa.SendCommand(message_id="m", text=wa.Text(body="hi")), "no recipient"),
        (wa.SendCommand(message_id="m", to_wa_id="+44 77", text=wa.Text(body="x")), "digits"),
        (wa.SendCommand(to_wa_id="447700900123", text=wa.Text(body="x")), "message_id"),
        (command(text=wa.Text(body="  ")), "empty"),
        (
            command(
                buttons=wa.InteractiveButtons(
                    body="b", buttons=[wa.InteractiveButtons.Button(id="1", title="x" * 21)]
                )
            ),
            "titles",
        ),
        (
            command(
                buttons=wa.InteractiveButtons(
                    body="b",
                    buttons=[
                        wa.InteractiveButtons.Button(id="1", title="Same"),
                        wa.InteractiveButtons.Button(id="2", title="Same"),
                    ],
                )
            ),
            "unique",
        ),
        (command(template=wa.Template(name="t")), "language"),
    ],
)
def test_commands_meta_would_refuse_are_refused_with_a_reason(broken, reason) -> None:
    with pytest.raises(InvalidCommand, match=reason):
        plan_requests(broken)
