"""A consumer process for the platform tests: records each event it handles in `effects`
(once, thanks to the inbox). With PARLEY_WORKER_HANG_AFTER_COMMIT=1 it prints
`committed <event_id>` after its database commit and then hangs before returning, so that a
test can SIGKILL it between the database commit and the offset commit."""

from __future__ import annotations

import asyncio
import os
import signal
from typing import ClassVar

from opentelemetry import trace
from parley.whatsapp.v1.events_pb2 import InboundMessage
from parley_platform.db import Database
from parley_platform.events import ConsumedEvent, EventConsumer, EventProducer, first_delivery, on
from parley_platform.events.topics import WHATSAPP_INBOUND
from parley_platform.logging import configure_logging
from parley_platform.settings import ServiceSettings, service_config
from parley_platform.telemetry import setup_telemetry
from sqlalchemy import text

GROUP = "platform-test-worker"


class WorkerSettings(ServiceSettings):
    model_config = service_config("worker")
    service_name: ClassVar[str] = "worker"
    hang_after_commit: bool = False


async def main() -> None:
    settings = WorkerSettings()
    configure_logging("worker")
    setup_telemetry(settings)
    assert settings.database_url is not None
    database = Database(settings.database_url.get_secret_value())
    await database.verify_role()
    producer = EventProducer(settings)
    await producer.start()

    async def handle(event: ConsumedEvent[InboundMessage]) -> None:
        trace_id = format(trace.get_current_span().get_span_context().trace_id, "032x")
        async with database.tenant_session(event.tenant_id) as session:
            if not await first_delivery(session, GROUP, event):
                return
            await session.execute(
                text(
                    "INSERT INTO effects (tenant_id, event_id, trace_id, note) "
                    "VALUES (:t, :e, :trace, :note)"
                ),
                {
                    "t": str(event.tenant_id),
                    "e": event.event_id,
                    "trace": trace_id,
                    "note": event.payload.text.body,
                },
            )
        if settings.hang_after_commit:
            print(f"committed {event.event_id}", flush=True)  # noqa: T201 - read by the test
            await asyncio.sleep(3600)

    consumer = EventConsumer(
        settings, group_id=GROUP, subscriptions=[on(WHATSAPP_INBOUND, handle)], producer=producer
    )
    await consumer.start()
    print("ready", flush=True)  # noqa: T201
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    await stop.wait()
    await consumer.stop()
    await producer.stop()
    await database.dispose()


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    asyncio.run(main())
