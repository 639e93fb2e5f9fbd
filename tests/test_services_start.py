"""Every service starts against the real infrastructure and reports itself alive, ready and
measurable, the way an SRE's probes and scrapers see it."""

from __future__ import annotations

import importlib
from contextlib import AsyncExitStack

from parley_testing.services import serve_app

# Services that others call over gRPC start first; their ports are passed on.
ORDER = ("auth", "knowledge", "conversation", "ai", "whatsapp", "gateway")


async def test_every_service_is_alive_ready_and_exposes_metrics(settings_factory) -> None:
    grpc_targets: dict[str, str] = {}
    async with AsyncExitStack() as stack:
        for name in ORDER:
            overrides = {f"{svc}_grpc_target": target for svc, target in grpc_targets.items()}
            settings = await settings_factory(name)
            settings = settings.model_copy(
                update={k: v for k, v in overrides.items() if k in type(settings).model_fields}
            )
            app = importlib.import_module(f"parley_{name}.main").create_app(settings)
            running = await stack.enter_async_context(serve_app(app))

            assert (await running.client.get("/healthz")).json() == {"status": "ok"}, name
            assert (await running.client.get("/readyz")).json() == {"status": "ready"}, name
            # Details and metrics only on the operations port, which is never published.
            assert (await running.client.get("/metrics")).status_code == 404, name
            ready = await running.ops.get("/readyz")
            assert ready.status_code == 200, (name, ready.json())
            assert ready.json()["checks"] and all(
                v == "ok" for v in ready.json()["checks"].values()
            )
            metrics = await running.ops.get("/metrics")
            assert metrics.status_code == 200 and "parley_" in metrics.text, name
            if running.runtime.grpc_server is not None:
                grpc_targets[name] = f"127.0.0.1:{running.runtime.grpc_server.port}"
    assert set(grpc_targets) == {"auth", "knowledge"}
