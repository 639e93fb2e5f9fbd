"""`parley-dlq`: look into a consumer group's dead-letter topic and send its events back.

    parley-dlq inspect conversation                 # one JSON line per dead letter
    parley-dlq inspect conversation --payload       # ... with the decoded payload (personal data!)
    parley-dlq replay conversation --event-id ID    # republish chosen events to their topic
    parley-dlq replay conversation --all --dry-run  # what --all would republish

A dead letter keeps the original record's key, value and envelope headers, plus `dlq-*`
headers saying why and where it came from (parley_platform.events.consumer). Replaying
publishes the record again, without the `dlq-*` headers, to the topic it came from, with its
original event id: every consumer group of that topic sees it again, and the groups that
had handled it skip it through their inbox, so a replay (or a second replay) applies an event
at most once. An event that fails again is dead-lettered again, with a new entry.

Settings come from `PARLEY_DLQ_*` variables like any service's (`KAFKA_BOOTSTRAP`,
`KAFKA_TOPIC_PREFIX`, SASL/TLS); in production use the operator's Kafka principal, which may
read every dead-letter topic and write the topics events are replayed to. Payloads are not
printed unless asked for: they hold customers' messages.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import ClassVar

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from google.protobuf.json_format import MessageToDict

from parley_platform.events.admin import topic_partitions
from parley_platform.events.producer import EventProducer, RawRecord
from parley_platform.events.topics import ALL_TOPICS, dead_letter_topic
from parley_platform.settings import ServiceSettings, service_config
from parley_platform.transport import kafka_client_options

READ_TIMEOUT_S = 30.0
_PAYLOAD_TYPES = {topic.event_type: topic.payload_type for topic in ALL_TOPICS}


class DlqSettings(ServiceSettings):
    """The tool's connection to Kafka (`PARLEY_DLQ_*`)."""

    model_config = service_config("DLQ")
    service_name: ClassVar[str] = "dlq"


@dataclass(frozen=True)
class DeadLetter:
    """One dead-lettered event as an operator sees it."""

    partition: int
    offset: int
    event_id: str | None
    event_type: str | None
    tenant_id: str | None
    original_topic: str | None
    original_partition: int | None
    original_offset: int | None
    attempts: int | None
    error: str | None
    failed_at: str | None
    payload: dict[str, object] | None = None


def _header(record: ConsumerRecord, name: str) -> str | None:
    for key, value in record.headers or ():
        if key == name:
            return bytes(value).decode(errors="replace")
    return None


def _number(text: str | None) -> int | None:
    return int(text) if text is not None and text.lstrip("-").isdigit() else None


def describe(record: ConsumerRecord, *, with_payload: bool = False) -> DeadLetter:
    """What a dead-letter record says about itself (the payload only when asked)."""
    event_type = _header(record, "event-type")
    payload = None
    if with_payload and event_type in _PAYLOAD_TYPES:
        try:
            message = _PAYLOAD_TYPES[event_type].FromString(record.value or b"")
            payload = MessageToDict(message, preserving_proto_field_name=True)
        except Exception:  # an undecodable payload is why some records are here
            payload = {"undecodable_bytes": len(record.value or b"")}
    return DeadLetter(
        partition=record.partition,
        offset=record.offset,
        event_id=_header(record, "event-id"),
        event_type=event_type,
        tenant_id=_header(record, "tenant-id"),
        original_topic=_header(record, "dlq-original-topic"),
        original_partition=_number(_header(record, "dlq-original-partition")),
        original_offset=_number(_header(record, "dlq-original-offset")),
        attempts=_number(_header(record, "dlq-attempts")),
        error=_header(record, "dlq-error"),
        failed_at=_header(record, "dlq-failed-at"),
        payload=payload,
    )


async def read_dead_letters(settings: ServiceSettings, group_id: str) -> list[ConsumerRecord]:
    """Every record now in `group_id`'s dead-letter topic, oldest first per partition.
    Reads without a consumer group, so nothing is committed and nothing is taken away."""
    topic = settings.topic_name(dead_letter_topic(group_id))
    reader = AIOKafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap,
        group_id=None,
        client_id="parley-dlq",
        enable_auto_commit=False,
        isolation_level="read_committed",
        **kafka_client_options(settings),
    )
    await reader.start()
    try:
        if topic not in await reader.topics():
            raise LookupError(f"there is no dead-letter topic {topic} (is {group_id!r} a group?)")
        partitions = await topic_partitions(settings, dead_letter_topic(group_id))
        reader.assign(partitions)
        await reader.seek_to_beginning(*partitions)
        ends: dict[TopicPartition, int] = await reader.end_offsets(partitions)
        records: list[ConsumerRecord] = []

        async def behind() -> bool:
            return any([await reader.position(tp) < end for tp, end in ends.items()])

        async def read_to_end() -> None:
            while await behind():
                batches = await reader.getmany(timeout_ms=500)
                for tp, batch in batches.items():
                    records.extend(r for r in batch if r.offset < ends[tp])

        await asyncio.wait_for(read_to_end(), timeout=READ_TIMEOUT_S)
    finally:
        await reader.stop()
    return sorted(records, key=lambda r: (r.partition, r.offset))


def replay_record(record: ConsumerRecord) -> RawRecord:
    """The record as it was before it failed: same topic, key, value and envelope."""
    topic = _header(record, "dlq-original-topic")
    if not topic:
        raise ValueError(f"dead letter at offset {record.offset} names no original topic")
    headers = [(k, bytes(v)) for k, v in (record.headers or ()) if not k.startswith("dlq-")]
    return RawRecord(topic=topic, key=record.key or b"", value=record.value or b"", headers=headers)


async def replay(
    settings: ServiceSettings,
    group_id: str,
    *,
    event_ids: Sequence[str] = (),
    everything: bool = False,
    dry_run: bool = False,
) -> list[DeadLetter]:
    """Republish the chosen dead letters (by event id, or all) to their original topics;
    returns what was (or, with `dry_run`, would be) replayed."""
    if not everything and not event_ids:
        raise ValueError("choose events with --event-id, or --all")
    wanted = set(event_ids)
    chosen = [
        record
        for record in await read_dead_letters(settings, group_id)
        if everything or _header(record, "event-id") in wanted
    ]
    missing = wanted - {_header(r, "event-id") for r in chosen}
    if missing:
        raise LookupError(f"not in {group_id}'s dead-letter topic: {', '.join(sorted(missing))}")
    # One replay per event id even if it was dead-lettered more than once.
    latest = {_header(r, "event-id") or f"offset-{r.offset}": r for r in chosen}
    if not dry_run and latest:
        producer = EventProducer(settings, client_id="parley-dlq")
        await producer.start()
        try:
            await producer.publish_raw([replay_record(r) for r in latest.values()], label="replay")
        finally:
            await producer.stop()
    return [describe(r) for r in latest.values()]


def _write(entry: DeadLetter) -> None:
    sys.stdout.write(json.dumps(asdict(entry), ensure_ascii=False) + "\n")


async def run(argv: Sequence[str] | None = None) -> int:
    """The `parley-dlq` command in a running event loop; returns its exit status."""
    parser = argparse.ArgumentParser(prog="parley-dlq", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    inspect = sub.add_parser("inspect", help="list a group's dead letters as JSON lines")
    inspect.add_argument("group", help="consumer group, e.g. conversation, whatsapp-sender")
    inspect.add_argument("--payload", action="store_true", help="include decoded payloads")
    again = sub.add_parser("replay", help="republish dead letters to their original topics")
    again.add_argument("group")
    again.add_argument("--event-id", action="append", default=[], dest="event_ids")
    again.add_argument("--all", action="store_true", dest="everything")
    again.add_argument("--dry-run", action="store_true")
    args = parser.parse_args(argv)
    settings = DlqSettings()
    try:
        if args.command == "inspect":
            for record in await read_dead_letters(settings, args.group):
                _write(describe(record, with_payload=args.payload))
        else:
            for entry in await replay(
                settings,
                args.group,
                event_ids=args.event_ids,
                everything=args.everything,
                dry_run=args.dry_run,
            ):
                _write(entry)
    except (ValueError, LookupError, TimeoutError) as exc:
        sys.stderr.write(f"parley-dlq: {exc}\n")
        return 2
    return 0


def main() -> None:
    """Entry point of the `parley-dlq` console script."""
    raise SystemExit(asyncio.run(run()))


if __name__ == "__main__":
    main()
