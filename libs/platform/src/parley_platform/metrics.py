"""Prometheus metrics shared by every service (exposed at `/metrics` on the operations port;
the full list, with each service's own, is in docs/operations.md)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)

HTTP_REQUESTS = Counter(
    "parley_http_requests_total", "HTTP requests served", ["method", "route", "status"]
)
HTTP_LATENCY = Histogram(
    "parley_http_request_seconds",
    "HTTP request latency",
    ["method", "route"],
    buckets=LATENCY_BUCKETS,
)
EVENTS_PUBLISHED = Counter(
    "parley_events_published_total", "Events acknowledged by Kafka", ["topic"]
)
PUBLISH_FAILURES = Counter(
    "parley_event_publish_failures_total", "Publishes that failed or timed out", ["topic"]
)
PUBLISH_LATENCY = Histogram(
    "parley_event_publish_seconds",
    "Time to acks=all for one publish call",
    ["topic"],
    buckets=LATENCY_BUCKETS,
)
EVENTS_CONSUMED = Counter(
    "parley_events_consumed_total", "Events handled", ["group", "topic", "outcome"]
)
HANDLER_RETRIES = Counter(
    "parley_event_handler_retries_total",
    "Handler attempts that failed and were retried",
    ["group", "topic"],
)
DEAD_LETTERS = Counter(
    "parley_dead_letters_total", "Events moved to a dead-letter topic", ["group", "topic"]
)
HANDLER_LATENCY = Histogram(
    "parley_event_handler_seconds",
    "Handler latency (successful attempt)",
    ["group", "topic"],
    buckets=LATENCY_BUCKETS,
)
CONSUMER_LAG = Gauge(
    "parley_consumer_lag",
    "Records between the group's committed offset and the partition's end (refreshed from "
    "the broker, so a stuck consumer's lag still grows)",
    ["group", "topic", "partition"],
)
OUTBOX_RELAYED = Counter("parley_outbox_relayed_total", "Outbox rows published", ["topic"])
OUTBOX_PENDING = Gauge("parley_outbox_pending", "Outbox rows waiting at the last idle pass")
OUTBOX_PASSES = Counter(
    "parley_outbox_relay_passes_total",
    "Relay passes by result: rows published, or none found (woken for rows an earlier pass took)",
    ["result"],
)
OUTBOX_OLDEST_AGE = Gauge(
    "parley_outbox_oldest_age_seconds",
    "Age of the oldest row the relay claimed at its last pass (0 when none was waiting)",
)
OUTBOX_DELAY = Histogram(
    "parley_outbox_delay_seconds",
    "From the outbox row's commit to Kafka's acknowledgement of its event",
    buckets=LATENCY_BUCKETS,
)
RATE_LIMIT_WAIT = Histogram(
    "parley_rate_limit_wait_seconds",
    "Time a caller waited for a rate-limit slot (0 when one was free)",
    ["limiter"],
    buckets=(0, *LATENCY_BUCKETS, 30, 60),
)
PACING_BUCKETS = (0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.03, 0.05, 0.1, 0.2, 0.5, 1)
RATE_LIMIT_STEP = Histogram(
    "parley_ratelimit_step_seconds",
    "Steps of waiting for a rate limit: the Redis round trip of a reservation, how late the "
    "wait for the slot ended (event-loop and scheduling lag), the wait at the sliding window",
    ["namespace", "step"],
    buckets=PACING_BUCKETS,
)
