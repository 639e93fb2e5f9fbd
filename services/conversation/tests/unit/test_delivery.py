"""Delivery statuses without I/O: whatever order and however often Meta's reports arrive, a
message's status only moves forward, and a failure is final unless delivery is proven."""

from __future__ import annotations

import itertools

import pytest
from parley_conversation.domain.delivery import MessageStatus, after_report

PENDING, SENT, DELIVERED, READ, PLAYED, FAILED = (
    MessageStatus.PENDING,
    MessageStatus.SENT,
    MessageStatus.DELIVERED,
    MessageStatus.READ,
    MessageStatus.PLAYED,
    MessageStatus.FAILED,
)
FORWARD = [PENDING, SENT, DELIVERED, READ, PLAYED]
REPORTS = [SENT, DELIVERED, READ, PLAYED, FAILED]
FIXED = [MessageStatus.RECEIVED, MessageStatus.INTERNAL, MessageStatus.DISCARDED]


def final_status(reports: list[MessageStatus], start: MessageStatus = PENDING) -> MessageStatus:
    status = start
    for reported in reports:
        status = after_report(status, reported) or status
    return status


@pytest.mark.parametrize(("current", "reported"), list(itertools.product(FORWARD, FORWARD[1:])))
def test_progress_moves_forward_only(current, reported) -> None:
    after = after_report(current, reported)
    if FORWARD.index(reported) > FORWARD.index(current):
        assert after == reported
    else:
        assert after is None  # a repeat or a straggler changes nothing


def test_read_without_delivered_is_normal() -> None:
    assert after_report(SENT, READ) == READ
    assert final_status([SENT, READ, DELIVERED]) == READ


@pytest.mark.parametrize("order", list(itertools.permutations([SENT, DELIVERED, READ])))
def test_every_arrival_order_ends_at_the_furthest_status(order) -> None:
    assert final_status(list(order)) == READ
    assert final_status([*order, *order]) == READ  # and repeats change nothing


def test_a_failure_counts_only_before_delivery() -> None:
    assert after_report(PENDING, FAILED) == FAILED
    assert after_report(SENT, FAILED) == FAILED
    for delivered in (DELIVERED, READ, PLAYED):
        assert after_report(delivered, FAILED) is None


def test_a_failure_is_final_unless_delivery_is_proven() -> None:
    assert after_report(FAILED, SENT) is None  # Meta accepted it, then it failed
    assert after_report(FAILED, FAILED) is None  # the reason is kept from the first report
    for proof in (DELIVERED, READ, PLAYED):
        assert after_report(FAILED, proof) == proof


@pytest.mark.parametrize(("current", "reported"), list(itertools.product(FIXED, REPORTS)))
def test_messages_that_were_never_sent_ignore_delivery_reports(current, reported) -> None:
    assert after_report(current, reported) is None


@pytest.mark.parametrize("reported", [PENDING, *FIXED])
def test_reports_that_are_not_delivery_statuses_change_nothing(reported) -> None:
    for current in (*FORWARD, FAILED):
        assert after_report(current, reported) is None


def test_any_sequence_of_reports_never_goes_backwards() -> None:
    rank = {status: index for index, status in enumerate(FORWARD)}
    for reports in itertools.product(REPORTS, repeat=4):
        status = PENDING
        for reported in reports:
            after = after_report(status, reported)
            if after is not None and after != FAILED and status != FAILED:
                assert rank[after] > rank[status], (reports, status, after)
            status = after or status
