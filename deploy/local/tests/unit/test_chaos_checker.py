"""The chaos suite's checker: each promise it judges fails the run when broken, and a run
where everything held passes."""

from __future__ import annotations

from dataclasses import replace

from parley_devstack.chaos.checker import (
    DeadLetter,
    FaultWindow,
    LagSample,
    Observations,
    OutboxReply,
    Outcome,
    RecordedReply,
    SentMessage,
    WebhookAttempt,
    figures_per_fault,
    judge,
    lag_recovery,
)

T = "tenant-a"


def sent(wamid: str, customer: str = "1", at: float = 10.0) -> SentMessage:
    return SentMessage(wamid, T, customer, at)


def ok(*wamids: str, at: float = 10.0) -> WebhookAttempt:
    return WebhookAttempt(wamids, 200, at)


def lag(at: float, ends: dict[str, int], committed: dict[str, int]) -> LagSample:
    return LagSample(at, committed=committed, ends=ends)


FAULT = FaultWindow("SIGKILL ai", 50.0, 100.0, probe_answered_at=104.0)


def good_run() -> Observations:
    """Two customers: one answered, one handed off; a fault recovered; lag consumed."""
    return Observations(
        sent=[sent("w1", "1"), sent("w2", "2")],
        webhook_attempts=[ok("w1"), WebhookAttempt(("w2",), 503, 10.0), ok("w2", at=12.0)],
        outbox_replies=[OutboxReply("w1", 20.0)],
        recorded_replies=[RecordedReply("w1", possible_duplicate=False)],
        handed_off=frozenset({(T, "2")}),
        dead_letters=[DeadLetter("ai.dlq.v1", "PermanentEventError: no text")],
        lag_samples=[
            lag(101.0, {"g/t/0": 5}, {"g/t/0": 3}),
            lag(103.0, {"g/t/0": 7}, {"g/t/0": 5}),
            lag(105.0, {"g/t/0": 7}, {"g/t/0": 7}),
        ],
        faults=[FAULT],
    )


def test_a_run_where_every_promise_held_passes_with_its_figures() -> None:
    verdict = judge(good_run())
    assert verdict.passed, verdict.failures
    assert verdict.outcomes == {"w1": Outcome.ANSWERED, "w2": Outcome.HANDED_OFF}
    assert verdict.webhooks_refused_then_accepted == 1
    assert verdict.webhook_attempts_failed == 1
    assert verdict.lag_recovery_s == 3.0  # the faults' backlog consumed
    assert verdict.lag_zero_s == 5.0  # and the newer records too
    assert verdict.dead_letters == 1


def test_an_accepted_message_with_neither_reply_nor_handoff_is_lost() -> None:
    verdict = judge(replace(good_run(), handed_off=frozenset()))
    assert verdict.outcomes["w2"] is Outcome.LOST
    assert not verdict.passed
    assert "1 message(s) lost: w2" in verdict.failures


def test_a_message_whose_webhook_never_got_a_200_was_not_accepted() -> None:
    run = replace(good_run(), webhook_attempts=[ok("w1"), WebhookAttempt(("w2",), 0, 10.0)])
    verdict = judge(run)
    assert verdict.outcomes["w2"] is Outcome.NOT_ACCEPTED
    assert not verdict.passed


def test_a_second_copy_of_a_reply_passes_only_when_recorded_as_a_possible_duplicate() -> None:
    twice = [OutboxReply("w1", 20.0), OutboxReply("w1", 31.0)]
    unflagged = judge(replace(good_run(), outbox_replies=twice))
    assert unflagged.duplicates_unflagged == 1 and not unflagged.passed

    flagged = judge(
        replace(
            good_run(),
            outbox_replies=twice,
            recorded_replies=[RecordedReply("w1", possible_duplicate=True)],
        )
    )
    assert flagged.passed, flagged.failures
    assert (flagged.duplicates_flagged, flagged.duplicates_unflagged) == (1, 0)


def test_two_unanswered_messages_behind_one_handoff_are_a_failure() -> None:
    run = replace(
        good_run(),
        sent=[sent("w1", "1"), sent("w2", "2"), sent("w3", "2", at=11.0)],
        webhook_attempts=[ok("w1", "w2", "w3")],
    )
    verdict = judge(run)
    assert any("2 messages without a reply behind one handoff" in f for f in verdict.failures)


def test_lag_must_consume_the_faults_backlog_within_30_seconds() -> None:
    slow = [lag(101.0, {"g/t/0": 50}, {"g/t/0": 3}), lag(140.0, {"g/t/0": 60}, {"g/t/0": 50})]
    verdict = judge(replace(good_run(), lag_samples=slow))
    assert verdict.lag_recovery_s == 40.0
    assert any("consumed after 40.0 s" in f for f in verdict.failures)

    never = judge(replace(good_run(), lag_samples=slow[:1]))
    assert never.lag_recovery_s is None
    assert any("consumed never" in f for f in never.failures)


def test_new_traffic_after_the_faults_does_not_count_as_their_backlog() -> None:
    # At 120 s the backlog of 101 s is consumed although 7 newer records wait.
    samples = [lag(101.0, {"g/t/0": 50}, {"g/t/0": 3}), lag(120.0, {"g/t/0": 57}, {"g/t/0": 50})]
    assert lag_recovery(samples, faults_ended_at=100.0) == 20.0
    assert samples[1].lag == 7


def test_a_fault_after_which_nothing_was_answered_fails_the_run() -> None:
    verdict = judge(replace(good_run(), faults=[replace(FAULT, probe_answered_at=None)]))
    assert "no question was answered after the fault 'SIGKILL ai'" in verdict.failures


def test_a_dead_letter_without_a_reason_fails_the_run() -> None:
    run = replace(good_run(), dead_letters=[DeadLetter("conversation.dlq.v1", " ")])
    verdict = judge(run)
    assert verdict.dead_letters_without_reason == 1
    assert any("without a reason" in f for f in verdict.failures)


def test_each_fault_row_counts_the_messages_sent_while_it_lasted() -> None:
    run = replace(
        good_run(),
        sent=[sent("w1", "1", at=60.0), sent("w2", "2", at=70.0), sent("w3", "3", at=120.0)],
        webhook_attempts=[ok("w1", "w2", "w3")],
        outbox_replies=[OutboxReply("w1", 80.0), OutboxReply("w3", 121.0)],
    )
    verdict = judge(run)
    [row] = figures_per_fault(run, verdict)
    assert (row.sent, row.answered, row.handed_off, row.failed) == (2, 1, 1, 0)
    assert row.duration_s == 50.0 and row.recovery_s == 4.0
