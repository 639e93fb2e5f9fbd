"""The conversation service's own Prometheus metrics (next to the platform's, at /metrics).

Counted where the decision is made, inside the transaction: one that then fails to commit
is retried (events) or reported to the caller (API), so counts may run slightly high, never
low.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge

TRANSITIONS = Counter(
    "parley_conversation_transitions_total",
    "Ownership changes (state or assignment), by new state and by who caused them",
    ["to_state", "actor"],
)
AI_REPLIES = Counter(
    "parley_conversation_ai_replies_total",
    "AI replies by what became of them: sent, discarded (no longer wanted), handoff",
    ["outcome"],
)
WINDOW_CLOSED_REFUSALS = Counter(
    "parley_conversation_window_closed_refusals_total",
    "Free-form agent replies refused because the 24-hour window was closed",
)
LIVE_STREAMS = Gauge("parley_conversation_live_streams", "Live event streams open on this replica")
