"""The chaos suite's verdict, as pure logic over what was observed (unit-tested on its own).

What the suite promises, and how each promise is judged here:

- every customer message whose webhook was answered 200 (at any attempt) leads to exactly
  one reply in the sandbox's outbox (a text quoting that message) or to one recorded handoff
  (the customer's conversation waits for a person, and the message got no reply);
- a message whose webhook was never answered 200 is *not accepted*: Meta would go on
  retrying for days, but within the run it counts as a failure (the platform lost it);
- the only duplicates are sends that timed out at the Cloud API: a second copy of a reply is
  allowed only when Parley recorded the reply as `possible_duplicate`; each one is counted;
- consumer lag is back to zero within `LAG_RECOVERY_LIMIT_S` after the last fault ended;
- every event in a dead-letter topic says why it is there (`dlq-error`).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

LAG_RECOVERY_LIMIT_S = 30.0


@dataclass(frozen=True)
class SentMessage:
    """A question a simulated customer sent through the sandbox."""

    wamid: str
    tenant: str
    customer: str
    sent_at: float


@dataclass(frozen=True)
class WebhookAttempt:
    """One delivery attempt of a webhook that carried customer messages."""

    wamids: tuple[str, ...]
    status: int  # 0: the gateway could not be reached
    at: float


@dataclass(frozen=True)
class OutboxReply:
    """A text the platform sent, quoting (replying to) a customer message."""

    reply_to: str
    at: float


@dataclass(frozen=True)
class RecordedReply:
    """An AI reply as Parley's conversation API records it."""

    reply_to: str
    possible_duplicate: bool


@dataclass(frozen=True)
class DeadLetter:
    """An event found in a dead-letter topic."""

    topic: str
    reason: str


@dataclass(frozen=True)
class LagSample:
    """Every consumer group's committed offsets and the partitions' end offsets at one
    moment, keyed by `group/topic/partition`."""

    at: float
    committed: Mapping[str, int]
    ends: Mapping[str, int]

    @property
    def lag(self) -> int:
        """Records published and not yet committed, over every group and partition."""
        return sum(max(0, self.ends.get(k, 0) - offset) for k, offset in self.committed.items())

    def consumed(self, ends: Mapping[str, int]) -> bool:
        """Whether every group committed past the given end offsets of its partitions."""
        return all(self.committed.get(k, 0) >= end for k, end in ends.items())


@dataclass(frozen=True)
class FaultWindow:
    """A fault's time span and the time a fresh probe question was answered after it."""

    name: str
    started_at: float
    ended_at: float
    probe_answered_at: float | None = None

    @property
    def recovery_s(self) -> float | None:
        """From the fault's end to the first answer to a question asked after it."""
        if self.probe_answered_at is None:
            return None
        return max(0.0, self.probe_answered_at - self.ended_at)


@dataclass(frozen=True)
class Observations:
    """Everything the suite collected, the input of `judge`."""

    sent: Sequence[SentMessage]
    webhook_attempts: Sequence[WebhookAttempt]
    outbox_replies: Sequence[OutboxReply]
    recorded_replies: Sequence[RecordedReply]
    # (tenant, customer) whose conversation waits for a person
    handed_off: frozenset[tuple[str, str]]
    dead_letters: Sequence[DeadLetter]
    lag_samples: Sequence[LagSample]
    faults: Sequence[FaultWindow]


class Outcome(StrEnum):
    """What became of one customer message."""

    ANSWERED = "answered"
    HANDED_OFF = "handed off"
    LOST = "lost"  # accepted (200) but neither answered nor handed off
    NOT_ACCEPTED = "not accepted"  # no webhook attempt was answered 200


@dataclass
class Verdict:
    """The figures of a run and every broken promise (empty: the run passed)."""

    outcomes: dict[str, Outcome]
    duplicates_flagged: int
    duplicates_unflagged: int
    webhooks_refused_then_accepted: int
    webhook_attempts_failed: int
    lag_recovery_s: float | None
    lag_zero_s: float | None
    dead_letters: int
    dead_letters_without_reason: int
    failures: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.failures

    def count(self, outcome: Outcome) -> int:
        """How many messages ended with `outcome`."""
        return sum(1 for o in self.outcomes.values() if o is outcome)


def accepted_messages(attempts: Iterable[WebhookAttempt]) -> set[str]:
    """Messages whose webhook was answered 200 at some attempt."""
    return {wamid for a in attempts if a.status == 200 for wamid in a.wamids}


def lag_recovery(samples: Sequence[LagSample], faults_ended_at: float) -> float | None:
    """Seconds from `faults_ended_at` until the lag it left was consumed: every group
    committed past the end offsets of the first sample taken after the faults ended.

    Customers keep writing meanwhile, so the lag of any one moment includes the last second's
    new events; what must reach zero is the backlog the faults built up. None when it was
    never consumed."""
    after = sorted((s for s in samples if s.at >= faults_ended_at), key=lambda s: s.at)
    if not after:
        return None
    backlog = {k: end for k, end in after[0].ends.items() if k in after[0].committed}
    for sample in after:
        if sample.consumed(backlog):
            return sample.at - faults_ended_at
    return None


def first_zero_lag(samples: Sequence[LagSample], since: float) -> float | None:
    """Seconds from `since` to the first sample with no lag at all; None if there was none."""
    for sample in sorted(samples, key=lambda s: s.at):
        if sample.at >= since and sample.lag == 0:
            return sample.at - since
    return None


def judge(seen: Observations) -> Verdict:
    """Judge a run: each message's outcome, duplicates, lag and dead letters."""
    accepted = accepted_messages(seen.webhook_attempts)
    replies = Counter(r.reply_to for r in seen.outbox_replies)
    flagged = {r.reply_to for r in seen.recorded_replies if r.possible_duplicate}
    failures: list[str] = []

    outcomes: dict[str, Outcome] = {}
    for message in seen.sent:
        if replies[message.wamid] >= 1:
            outcomes[message.wamid] = Outcome.ANSWERED
        elif message.wamid not in accepted:
            outcomes[message.wamid] = Outcome.NOT_ACCEPTED
        elif (message.tenant, message.customer) in seen.handed_off:
            outcomes[message.wamid] = Outcome.HANDED_OFF
        else:
            outcomes[message.wamid] = Outcome.LOST
    for outcome in (Outcome.LOST, Outcome.NOT_ACCEPTED):
        wamids = sorted(w for w, o in outcomes.items() if o is outcome)
        if wamids:
            failures.append(f"{len(wamids)} message(s) {outcome}: {', '.join(wamids[:5])}")

    # A handed-off conversation may hold at most one unanswered message per customer: the
    # customers ask their next question only after an answer.
    unanswered: dict[tuple[str, str], list[str]] = defaultdict(list)
    for message in seen.sent:
        if outcomes[message.wamid] is Outcome.HANDED_OFF:
            unanswered[(message.tenant, message.customer)].append(message.wamid)
    for (tenant, customer), wamids in sorted(unanswered.items()):
        if len(wamids) > 1:
            failures.append(
                f"customer {customer} of {tenant}: {len(wamids)} messages without a reply "
                "behind one handoff"
            )

    sent_wamids = {m.wamid for m in seen.sent}
    duplicated = {w: n - 1 for w, n in replies.items() if n > 1 and w in sent_wamids}
    unflagged = {w: n for w, n in duplicated.items() if w not in flagged}
    if unflagged:
        failures.append(
            f"{sum(unflagged.values())} duplicate repl(ies) not recorded as possible "
            f"duplicates: {', '.join(sorted(unflagged)[:5])}"
        )

    refused_then_accepted = 0
    attempts_by_message: dict[str, list[WebhookAttempt]] = defaultdict(list)
    for attempt in seen.webhook_attempts:
        for wamid in attempt.wamids:
            attempts_by_message[wamid].append(attempt)
    for message in seen.sent:
        statuses = [a.status for a in attempts_by_message[message.wamid]]
        if 200 in statuses and any(s != 200 for s in statuses):
            refused_then_accepted += 1
    failed_attempts = sum(1 for a in seen.webhook_attempts if a.status != 200)

    recovery = zero = None
    if seen.faults:
        faults_ended_at = max(f.ended_at for f in seen.faults)
        recovery = lag_recovery(seen.lag_samples, faults_ended_at)
        zero = first_zero_lag(seen.lag_samples, faults_ended_at)
        if recovery is None or recovery > LAG_RECOVERY_LIMIT_S:
            shown = "never" if recovery is None else f"after {recovery:.1f} s"
            failures.append(
                f"the faults' consumer lag was consumed {shown} (limit "
                f"{LAG_RECOVERY_LIMIT_S:.0f} s)"
            )
        for fault in seen.faults:
            if fault.probe_answered_at is None:
                failures.append(f"no question was answered after the fault {fault.name!r}")

    no_reason = [d for d in seen.dead_letters if not d.reason.strip()]
    if no_reason:
        topics = sorted({d.topic for d in no_reason})
        failures.append(f"{len(no_reason)} dead letter(s) without a reason in {topics}")

    return Verdict(
        outcomes=outcomes,
        duplicates_flagged=sum(n for w, n in duplicated.items() if w in flagged),
        duplicates_unflagged=sum(unflagged.values()),
        webhooks_refused_then_accepted=refused_then_accepted,
        webhook_attempts_failed=failed_attempts,
        lag_recovery_s=recovery,
        lag_zero_s=zero,
        dead_letters=len(seen.dead_letters),
        dead_letters_without_reason=len(no_reason),
        failures=failures,
    )


@dataclass(frozen=True)
class FaultFigures:
    """One fault's row of the report: the messages sent while it lasted and what became of
    them, and how long the platform took to answer a fresh question once it ended."""

    name: str
    duration_s: float
    sent: int
    answered: int
    handed_off: int
    failed: int
    recovery_s: float | None


def figures_per_fault(seen: Observations, verdict: Verdict) -> list[FaultFigures]:
    """The report's rows, one per fault, in the order they happened."""
    rows = []
    for fault in sorted(seen.faults, key=lambda f: f.started_at):
        during = [m for m in seen.sent if fault.started_at <= m.sent_at <= fault.ended_at]
        counts = Counter(verdict.outcomes[m.wamid] for m in during)
        rows.append(
            FaultFigures(
                name=fault.name,
                duration_s=fault.ended_at - fault.started_at,
                sent=len(during),
                answered=counts[Outcome.ANSWERED],
                handed_off=counts[Outcome.HANDED_OFF],
                failed=counts[Outcome.LOST] + counts[Outcome.NOT_ACCEPTED],
                recovery_s=fault.recovery_s,
            )
        )
    return rows
