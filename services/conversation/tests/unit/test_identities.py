"""How an inbound message names its sender and its conversation's key, and how a failure
from Meta is summarised, without I/O."""

from __future__ import annotations

from parley.common.v1.envelope_pb2 import MetaError
from parley.whatsapp.v1 import events_pb2 as wa
from parley_conversation.repository.contacts import ContactIdentity
from parley_conversation.service.customer import customer_key, sender_of
from parley_conversation.service.delivery import describe_error


def test_a_sender_is_known_by_contacts_wa_id_with_a_different_from_kept_too() -> None:
    rewritten = wa.InboundMessage(
        from_wa_id="5511987654321",
        contact_wa_id="551187654321",
        from_user_id="BR.88120391",
        profile_name="Ana",
        username="ana.b",
    )
    assert sender_of(rewritten) == ContactIdentity(
        wa_id="551187654321",
        from_wa_id="5511987654321",
        bsuid="BR.88120391",
        profile_name="Ana",
        username="ana.b",
    )
    # The gateway keys the customer's events by `from`: so does the conversation.
    assert customer_key(rewritten) == "5511987654321"


def test_a_sender_whose_number_agrees_is_stored_once() -> None:
    plain = wa.InboundMessage(from_wa_id="447700900123", contact_wa_id="447700900123")
    assert sender_of(plain) == ContactIdentity("447700900123", None, None, None, None)


def test_a_sender_who_hides_their_number_is_known_by_bsuid() -> None:
    hidden = wa.InboundMessage(from_user_id="US.1349")
    assert sender_of(hidden) == ContactIdentity(None, None, "US.1349", None, None)
    assert customer_key(hidden) == "US.1349"


def test_metas_error_reads_as_one_line() -> None:
    assert (
        describe_error(MetaError(code=131026, title="Message undeliverable", details="no app"))
        == "Message undeliverable (code 131026): no app"
    )
    assert describe_error(MetaError(message="Rate limit hit")) == "Rate limit hit"
    assert describe_error(MetaError()) == "failed"
