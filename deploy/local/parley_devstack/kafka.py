"""Apache Kafka in KRaft combined mode, from its official jars on Maven Central.

The jars are fetched once with `mvn dependency:copy-dependencies` into the shared cache
folder and run with the machine's Java 17. Kafka 4.1.1 is pinned: aiokafka 0.14 passes our
integration tests against it (idempotent producer, consumer groups, manual commits); see
docs/local-stack.md.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import shutil
import subprocess
import uuid
from pathlib import Path

from parley_devstack.layout import CACHE_DIR, StackLayout
from parley_devstack.processes import StackError, port_open, read_pid, spawn, terminate, wait_until

KAFKA_VERSION = "4.1.1"
_HERE = Path(__file__).resolve().parent / "kafka"
_NO_JAVA = (
    "Kafka needs Java 17+ and Maven (to fetch its jars from Maven Central), and {missing} is "
    "missing here; install them or run the whole platform with `docker compose up` instead."
)


def kafka_libs(cache_dir: Path = CACHE_DIR) -> Path:
    """The folder of Kafka's jars, fetched on first use."""
    target = cache_dir / f"kafka-{KAFKA_VERSION}" / "libs"
    if (target / ".complete").exists():
        return target
    for tool in ("java", "mvn"):
        if shutil.which(tool) is None:
            raise StackError(_NO_JAVA.format(missing=tool))
    target.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(
        [
            "mvn",
            "-q",
            "-B",
            "-f",
            str(_HERE / "pom.xml"),
            f"-Dkafka.version={KAFKA_VERSION}",
            "dependency:copy-dependencies",
            f"-DoutputDirectory={target}",
            "-DincludeScope=runtime",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise StackError(
            f"fetching Kafka {KAFKA_VERSION} from Maven Central failed:\n{result.stdout[-2000:]}"
        )
    (target / ".complete").write_text(KAFKA_VERSION)
    return target


class Kafka:
    """The stack's single Kafka node (broker and controller)."""

    name = "kafka"

    def __init__(
        self,
        layout: StackLayout,
        *,
        root: Path | None = None,
        port: int | None = None,
        controller_port: int | None = None,
    ) -> None:
        """A node of `layout`; `root` and ports override the layout's (a throwaway node for
        tests that stop Kafka on purpose)."""
        self.layout = layout
        root = root or layout.root
        self.dir = root / "kafka"
        self.data = self.dir / "data"
        self.pid_file = root / "pids" / "kafka.pid"
        self.log_file = root / "logs" / "kafka.log"
        self.port = port or layout.port("kafka")
        self.controller_port = controller_port or layout.port("kafka_controller")

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    def _properties(self) -> Path:
        path = self.dir / "server.properties"
        lines = {
            "process.roles": "broker,controller",
            "node.id": "1",
            "controller.quorum.voters": f"1@127.0.0.1:{self.controller_port}",
            "listeners": f"PLAINTEXT://127.0.0.1:{self.port},CONTROLLER://127.0.0.1:{self.controller_port}",
            "advertised.listeners": f"PLAINTEXT://127.0.0.1:{self.port}",
            "controller.listener.names": "CONTROLLER",
            "inter.broker.listener.name": "PLAINTEXT",
            "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
            "log.dirs": str(self.data),
            "num.partitions": "3",
            "offsets.topic.replication.factor": "1",
            "offsets.topic.num.partitions": "10",
            "transaction.state.log.replication.factor": "1",
            "transaction.state.log.min.isr": "1",
            "min.insync.replicas": "1",
            "group.initial.rebalance.delay.ms": "0",
            # Topics are created by the services (parley_platform.events.admin), never implicitly.
            "auto.create.topics.enable": "false",
            "log.retention.hours": "168",
        }
        path.write_text("".join(f"{k}={v}\n" for k, v in lines.items()))
        return path

    def _java(self, libs: Path, *args: str, heap: str = "128m") -> list[str]:
        return [
            "java",
            f"-Xmx{heap}",
            # The JVM options Kafka's own start script uses (KAFKA_JVM_PERFORMANCE_OPTS), as the
            # Compose and Kubernetes images run it: G1's default 200 ms pause goal showed up as
            # tens of milliseconds in every produce's tail.
            "-XX:+UseG1GC",
            "-XX:MaxGCPauseMillis=20",
            "-XX:InitiatingHeapOccupancyPercent=35",
            "-XX:+ExplicitGCInvokesConcurrent",
            "-Djava.awt.headless=true",
            f"-Dlog4j2.configurationFile={_HERE / 'log4j2.properties'}",
            "-cp",
            f"{libs}/*",
            *args,
        ]

    def running(self) -> bool:
        return read_pid(self.pid_file) is not None and port_open(self.port)

    def start(self) -> None:
        if self.running():
            return
        for port in (self.port, self.controller_port):
            if port_open(port):
                raise StackError(
                    f"port {port} is taken by another program; set "
                    f"PARLEY_{self.layout.profile.upper()}_KAFKA_PORT / _KAFKA_CONTROLLER_PORT"
                )
        libs = kafka_libs()
        self.dir.mkdir(parents=True, exist_ok=True)
        self.pid_file.parent.mkdir(parents=True, exist_ok=True)
        properties = self._properties()
        if not (self.data / "meta.properties").exists():
            shutil.rmtree(self.data, ignore_errors=True)
            result = subprocess.run(
                self._java(
                    libs,
                    "kafka.tools.StorageTool",
                    "format",
                    "-t",
                    str(uuid.uuid4()),
                    "-c",
                    str(properties),
                ),
                capture_output=True,
                text=True,
                check=False,
            )
            if result.returncode != 0:
                raise StackError(f"formatting Kafka storage failed: {result.stdout}{result.stderr}")
        heap = "1g" if self.layout.durable else "768m"
        pid = spawn(
            self._java(libs, "kafka.Kafka", str(properties), heap=heap),
            log_file=self.log_file,
            pid_file=self.pid_file,
        )
        wait_until(
            lambda: port_open(self.port),
            timeout_s=60,
            what="Kafka",
            pid=pid,
            log_file=self.log_file,
        )
        wait_until(
            self._answers_metadata,
            timeout_s=60,
            what="Kafka metadata",
            pid=pid,
            log_file=self.log_file,
        )

    def _answers_metadata(self) -> bool:
        from aiokafka.admin import AIOKafkaAdminClient

        async def probe() -> bool:
            admin = AIOKafkaAdminClient(bootstrap_servers=self.bootstrap, request_timeout_ms=3000)
            try:
                await admin.start()
                await admin.list_topics()
                return True
            except Exception:
                return False
            finally:
                await admin.close()

        # In a thread of its own: the stack is also started from code that already runs an
        # event loop (benchmarks, async fixtures), where asyncio.run would refuse.
        with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
            return pool.submit(asyncio.run, probe()).result()

    def stop(self) -> None:
        terminate(self.pid_file, timeout_s=30)
