"""The deployment as an SRE applies it: every kustomize overlay renders and each object is
valid Kubernetes, pods are hardened, only each service's callers reach it, production
encrypts every connection, consumers scale on their own groups' lag, and the Kafka ACLs are
exactly what each service's code declares. What these checks cannot see is listed in
docs/operations.md ("What the deployment tests do not check")."""

from __future__ import annotations

import importlib
import re
import shutil
import subprocess
from contextlib import AsyncExitStack
from functools import cache
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml
from parley_platform.events.access import SERVICE_ACCESS, access_of, setup_script
from parley_platform.settings import ServiceSettings
from parley_platform.transport import plaintext_connections
from parley_testing.services import serve_app

ROOT = Path(__file__).resolve().parents[1]
K8S = ROOT / "deploy" / "k8s"
OVERLAYS = ("dev", "prod")
SERVICES = ("gateway", "auth", "conversation", "ai", "whatsapp", "knowledge")
GRPC_SERVERS = {"auth": 50051, "knowledge": 50052}
# Custom resources of cert-manager and KEDA: no schema ships with kubernetes-validate, so the
# tests below check what matters in them.
CUSTOM_KINDS = {"Certificate", "Issuer", "ScaledObject", "TriggerAuthentication"}
# The oldest Kubernetes the manifests support (native preStop sleep: 1.30) and the newest
# kubernetes-validate knows.
KUBERNETES_VERSIONS = ("1.30.0", kubernetes_validate.latest_version())


def settings_class(service: str) -> type[ServiceSettings]:
    cls: type[ServiceSettings] = importlib.import_module(f"parley_{service}.config").Settings
    return cls


@cache
def kustomize_command() -> list[str]:
    """`kubectl kustomize` when kubectl's kustomize is v4 or later (Debian's kubectl 1.20
    carries v2, which predates the overlays' syntax), else a standalone `kustomize build`."""
    kubectl = shutil.which("kubectl")
    if kubectl:
        version = subprocess.run(
            [kubectl, "version", "--client"], capture_output=True, text=True, check=False
        ).stdout
        if re.search(r"Kustomize Version: v[4-9]", version):
            return [kubectl, "kustomize"]
    kustomize = shutil.which("kustomize")
    assert kustomize, "kubectl with kustomize v4+, or kustomize, is needed (.ci/run installs it)"
    return [kustomize, "build"]


@cache
def render(overlay: str) -> tuple[dict[str, Any], ...]:
    out = subprocess.run(
        [*kustomize_command(), str(K8S / "overlays" / overlay)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return tuple(doc for doc in yaml.safe_load_all(out) if doc)


def objects(overlay: str, kind: str) -> list[dict[str, Any]]:
    return [doc for doc in render(overlay) if doc["kind"] == kind]


def named(overlay: str, kind: str, name: str) -> dict[str, Any]:
    return next(d for d in objects(overlay, kind) if d["metadata"]["name"] == name)


def deployment(overlay: str, service: str) -> dict[str, Any]:
    return named(overlay, "Deployment", f"parley-{service}")


def container(workload: dict[str, Any]) -> dict[str, Any]:
    containers: list[dict[str, Any]] = workload["spec"]["template"]["spec"]["containers"]
    return containers[0]


def config_data(overlay: str, name: str) -> dict[str, str]:
    """A ConfigMap's data by its name before kustomize's hash suffix."""
    for doc in objects(overlay, "ConfigMap"):
        actual = doc["metadata"]["name"]
        if actual == name or actual.rsplit("-", 1)[0] == name:
            return dict(doc.get("data") or {})
    raise KeyError(name)


def service_config(overlay: str, service: str) -> dict[str, str]:
    """The settings (without prefix) the service's ConfigMaps give it, as the pod sees them."""
    values: dict[str, str] = {}
    for source in container(deployment(overlay, service))["envFrom"]:
        if ref := source.get("configMapRef"):
            values |= config_data(overlay, ref["name"])
    return values


@pytest.mark.parametrize("overlay", OVERLAYS)
@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
def test_every_object_of_every_overlay_is_valid_kubernetes(overlay: str, version: str) -> None:
    docs = render(overlay)
    assert docs
    for doc in docs:
        if doc["kind"] in CUSTOM_KINDS:
            continue
        try:
            kubernetes_validate.validate(doc, version, strict=True)
        except kubernetes_validate.ValidationError as err:
            pytest.fail(f"{overlay} {doc['kind']}/{doc['metadata']['name']}: {err.message}")


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_each_service_has_its_own_account_probes_resources_and_hardened_pod(overlay: str) -> None:
    for service in SERVICES:
        workload = deployment(overlay, service)
        pod = workload["spec"]["template"]["spec"]
        main = container(workload)
        assert pod["serviceAccountName"] == f"parley-{service}"
        assert named(overlay, "ServiceAccount", f"parley-{service}")
        assert pod["automountServiceAccountToken"] is False
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault"
        hardening = main["securityContext"]
        assert hardening["readOnlyRootFilesystem"] is True
        assert hardening["allowPrivilegeEscalation"] is False
        assert hardening["capabilities"]["drop"] == ["ALL"]
        assert main["resources"]["requests"]["cpu"] and main["resources"]["limits"]["memory"]
        assert main["command"] == ["python", "-m", f"parley_{service}"]
        ports = {p["name"]: p["containerPort"] for p in main["ports"]}
        config = service_config(overlay, service)
        assert ports["http"] == int(config["HTTP_PORT"])
        assert ports["ops"] == int(config["OPS_PORT"])
        assert main["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "ops"}
        if service in GRPC_SERVERS:
            # Native gRPC probes on the plaintext health-only port (the kubelet has no TLS).
            assert ports["grpc"] == GRPC_SERVERS[service] == int(config["GRPC_PORT"])
            probe_port = int(config["GRPC_PROBE_PORT"])
            assert main["readinessProbe"]["grpc"] == {"port": probe_port, "service": "readiness"}
            assert main["startupProbe"]["grpc"]["port"] == probe_port
        else:
            assert main["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "ops"}
            assert main["startupProbe"]["httpGet"]["port"] == "ops"
        pdb = named(overlay, "PodDisruptionBudget", f"parley-{service}")
        assert pdb["spec"]["selector"] == workload["spec"]["selector"]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_setting_the_manifests_set_is_one_the_service_reads(overlay: str) -> None:
    """A misspelt key would be ignored silently by the service (extra="ignore")."""
    for service in SERVICES:
        fields = settings_class(service).model_fields
        unknown = [key for key in service_config(overlay, service) if key.lower() not in fields]
        assert not unknown, (overlay, service, unknown)


def peer_name(peer: dict[str, Any]) -> str:
    """A NetworkPolicy peer as a service name, or `namespace:<name>`."""
    if "podSelector" in peer:
        name: str = peer["podSelector"]["matchLabels"]["app.kubernetes.io/name"]
        return name.removeprefix("parley-")
    return "namespace:" + peer["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"]


def allowed_sources(overlay: str, service: str) -> dict[str, set[str]]:
    """Port name -> who may connect ("*" for anyone) under the service's NetworkPolicy."""
    policy = named(overlay, "NetworkPolicy", f"parley-{service}")
    sources: dict[str, set[str]] = {}
    for rule in policy["spec"]["ingress"]:
        peers = rule.get("from")
        names = {"*"} if peers is None else {peer_name(peer) for peer in peers}
        for port in rule["ports"]:
            sources.setdefault(port["port"], set()).update(names)
    return sources


def callers_in_code() -> dict[tuple[str, str], set[str]]:
    """(callee, port) -> calling services, from the settings each service has for its peers
    (`<callee>_grpc_target`, `<callee>_http_url`)."""
    calls: dict[tuple[str, str], set[str]] = {}
    for caller in SERVICES:
        for field in settings_class(caller).model_fields:
            for callee in SERVICES:
                if field == f"{callee}_grpc_target":
                    calls.setdefault((callee, "grpc"), set()).add(caller)
                if field == f"{callee}_http_url":
                    calls.setdefault((callee, "http"), set()).add(caller)
    return calls


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_only_the_gateway_is_public_and_each_service_is_reached_only_by_its_callers(
    overlay: str,
) -> None:
    deny = named(overlay, "NetworkPolicy", "parley-default-deny-ingress")
    assert deny["spec"] == {"podSelector": {}, "policyTypes": ["Ingress"]}
    calls = callers_in_code()
    assert calls[("auth", "grpc")] == {"gateway", "conversation", "whatsapp"}
    assert calls[("knowledge", "grpc")] == {"ai"}
    for service in SERVICES:
        sources = allowed_sources(overlay, service)
        assert sources.pop("ops") == {"namespace:monitoring"}, service
        if service == "gateway":
            assert sources == {"http": {"*"}}
            continue
        expected = {
            port: calls[(service, port)] for port in ("http", "grpc") if (service, port) in calls
        }
        assert sources == expected, service
    assert objects(overlay, "Ingress") == [] or {
        rule["http"]["paths"][0]["backend"]["service"]["name"]
        for ingress in objects(overlay, "Ingress")
        for rule in ingress["spec"]["rules"]
    } == {"gateway"}


EVERY_CONNECTION = {"database": True, "redis": True, "kafka": True, "grpc_used": True}


def settings_from_environment(
    service: str, values: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> ServiceSettings:
    """The service's settings from `values` (unprefixed names) set as its environment."""
    prefix = f"PARLEY_{service.upper()}_"
    for key, value in values.items():
        monkeypatch.setenv(prefix + key, value)
    return settings_class(service)()


def test_production_encrypts_and_authenticates_every_connection(monkeypatch) -> None:
    monkeypatch.delenv("PGSSLMODE", raising=False)
    certificates = {c["spec"]["commonName"]: c for c in objects("prod", "Certificate")}
    for service in SERVICES:
        workload = deployment("prod", service)
        main = container(workload)
        config = service_config("prod", service)
        env = {e["name"]: e["value"] for e in main.get("env", [])}
        assert env["PGSSLMODE"] == "verify-full" and env["PGSSLROOTCERT"]
        monkeypatch.setenv("PGSSLMODE", env["PGSSLMODE"])
        # The certificate cert-manager issues for the service is mounted where the settings
        # look for it, and names the service.
        secret = certificates[service]["spec"]["secretName"]
        volume = next(v for v in workload["spec"]["template"]["spec"]["volumes"] if "secret" in v)
        assert volume["secret"]["secretName"] == secret
        mount = next(m for m in main["volumeMounts"] if m["name"] == volume["name"])
        assert config["GRPC_TLS_CERT_FILE"] == f"{mount['mountPath']}/tls.crt"
        assert config["GRPC_TLS_CA_FILE"] == f"{mount['mountPath']}/ca.crt"
        access = access_of(service)
        if access.writes() or access.read_topics():
            assert config["KAFKA_SASL_USERNAME"] == access.principal
        # What the service itself says of these settings at start-up in production, read
        # from the environment as in the pod (secrets as the operator's Secrets give them).
        secrets = {
            name.upper(): "a-long-value-from-the-operators-secret"
            for name, info in settings_class(service).model_fields.items()
            if "SecretStr" in str(info.annotation)
        } | {
            "KAFKA_SASL_PASSWORD": "a-long-scram-password-from-the-secret",
            "REDIS_URL": "rediss://:password@redis.example.internal:6380/0",
            "DATABASE_URL": "postgresql+asyncpg://app:pw@postgres.example.internal:5432/db",
        }
        settings = settings_from_environment(service, {**config, **secrets}, monkeypatch)
        assert settings.environment.value == "production"
        assert plaintext_connections(settings, **EVERY_CONNECTION) == [], service


def test_consumers_scale_on_the_lag_of_their_own_groups_in_production() -> None:
    partitions = int(config_data("prod", "parley-common")["KAFKA_PARTITIONS"])
    scaled = {s["spec"]["scaleTargetRef"]["name"]: s for s in objects("prod", "ScaledObject")}
    assert set(scaled) == {"parley-conversation", "parley-whatsapp", "parley-ai"}
    hpas = {h["metadata"]["name"] for h in objects("prod", "HorizontalPodAutoscaler")}
    assert not hpas & set(scaled), "KEDA owns the HPA of a scaled object"
    bootstrap = config_data("prod", "parley-common")["KAFKA_BOOTSTRAP"]
    for name, scaled_object in scaled.items():
        assert scaled_object["spec"]["maxReplicaCount"] <= partitions
        kafka = [t for t in scaled_object["spec"]["triggers"] if t["type"] == "kafka"]
        assert kafka and all(t["metadata"]["bootstrapServers"] == bootstrap for t in kafka)
        groups = {t["metadata"]["consumerGroup"] for t in kafka}
        assert groups <= set(access_of(name.removeprefix("parley-")).consumes), name


def test_the_kafka_setup_script_is_generated_from_the_access_table() -> None:
    script = K8S / "overlays" / "prod" / "kafka-access" / "setup.sh"
    assert script.read_text() == setup_script(), "run: parley-kafka-acls > " + str(script)
    subprocess.run(["bash", "-n", str(script)], check=True)
    for access in SERVICE_ACCESS:
        for topic in access.writes():
            line = (
                f"acl --allow-principal User:{access.principal} --operation Write "
                f'--operation Describe --topic "${{TOPIC_PREFIX}}{topic}"'
            )
            assert line in script.read_text()


async def test_kafka_access_is_exactly_what_each_service_declares(settings_factory) -> None:
    """Start every service and compare what it creates, produces and consumes with the ACL
    table: a new topic or group fails here until access.py (and so the ACLs) says so."""
    grpc_targets: dict[str, str] = {}
    async with AsyncExitStack() as stack:
        for service in ("auth", "knowledge", "conversation", "ai", "whatsapp", "gateway"):
            settings = await settings_factory(service)
            fields = type(settings).model_fields
            settings = settings.model_copy(
                update={
                    f"{k}_grpc_target": v
                    for k, v in grpc_targets.items()
                    if f"{k}_grpc_target" in fields
                }
            )
            app = importlib.import_module(f"parley_{service}.main").create_app(settings)
            running = await stack.enter_async_context(serve_app(app))
            runtime = running.runtime
            if runtime.grpc_server is not None:
                grpc_targets[service] = f"127.0.0.1:{runtime.grpc_port}"
            access = access_of(service)
            # A service creates the topics it produces (and may create one it consumes).
            created = set(runtime.declared_topics)
            assert set(access.produces) <= created, service
            assert created <= set(access.produces) | set(access.read_topics()), service
            declared = {c.group_id: set(c.topics) for c in runtime.consumers}
            assert declared == {g: set(t) for g, t in access.consumes.items()}, service


def compose_config(*files: str, env: dict[str, str] | None = None) -> dict[str, Any]:
    """`docker compose config` of the files, by whichever Compose this machine has."""
    args = [a for f in files for a in ("-f", str(ROOT / f))]
    if (
        shutil.which("docker")
        and subprocess.run(["docker", "compose", "version"], capture_output=True).returncode == 0
    ):
        command = ["docker", "compose", *args]
    else:
        compose = shutil.which("docker-compose")
        assert compose, "Docker Compose is needed (.ci/run installs docker-compose)"
        command = [compose, *args]
    done = subprocess.run(
        [*command, "--profile", "dev", "config"],
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin:/usr/local/bin", **(env or {})},
        cwd=ROOT,
    )
    if done.returncode != 0:
        raise AssertionError(done.stderr)
    config: dict[str, Any] = yaml.safe_load(done.stdout)
    return config


COMPOSE_ENV = {
    "POSTGRES_PASSWORD": "pg-password-for-the-test",
    "REDIS_PASSWORD": "redis-password-for-the-test",
    "PARLEY_SERVICE_TOKEN_SECRET": "service-token-secret-for-the-test",
    "PARLEY_AUTH_ENCRYPTION_KEY": "auth-encryption-key-for-the-test",
    "PARLEY_AI_ENCRYPTION_KEY": "ai-encryption-key-for-the-test",
    "WHATSAPP_APP_SECRET": "whatsapp-app-secret-for-the-test",
    "WHATSAPP_VERIFY_TOKEN": "whatsapp-verify-token-for-the-test",
    "SANDBOX_APP_SECRET": "sandbox-app-secret-for-the-test",
    **{
        f"PARLEY_{s.upper()}_DB_{role}_PASSWORD": f"{s}-{role.lower()}-password"
        for s in ("auth", "conversation", "ai", "whatsapp", "knowledge")
        for role in ("OWNER", "APP")
    },
}


def published(service: dict[str, Any]) -> list[dict[str, Any]]:
    """The service's published ports in Compose's long form (v1 prints the short one)."""
    ports = []
    for port in service.get("ports") or []:
        if isinstance(port, str):
            parts = port.split("/")[0].split(":")
            host_ip = parts[0] if len(parts) == 3 else ""
            port = {"host_ip": host_ip, "published": parts[-2], "target": parts[-1]}
        ports.append(port)
    return ports


def test_compose_publishes_only_the_gateway_and_dev_tools_on_loopback() -> None:
    config = compose_config("docker-compose.yml", env=COMPOSE_ENV)
    services = config["services"]
    for name, service in services.items():
        for port in published(service):
            if name == "gateway":
                continue
            assert name in {"sandbox", "jaeger"}, f"{name} publishes {port}"
            assert port["host_ip"] == "127.0.0.1", f"{name} is published beyond this machine"
            assert service["profiles"] == ["dev"], f"{name} runs outside the dev profile"
    assert {"sandbox", "jaeger"} <= set(services)
    for name in ("postgres", "redis", "kafka", "auth", "conversation", "ai", "whatsapp"):
        assert not published(services[name]), name


def test_compose_gives_the_sandbox_its_own_secret_and_requires_passwords() -> None:
    services = compose_config("docker-compose.yml", env=COMPOSE_ENV)["services"]
    sandbox_secret = services["sandbox"]["environment"]["PARLEY_SANDBOX_DEFAULT_APP_SECRET"]
    assert sandbox_secret == COMPOSE_ENV["SANDBOX_APP_SECRET"]
    # Not the platform's service-token secret, nor anything but its own.
    assert (
        COMPOSE_ENV["PARLEY_SERVICE_TOKEN_SECRET"]
        not in services["sandbox"]["environment"].values()
    )
    redis_command = " ".join(services["redis"]["command"])
    assert "--requirepass" in redis_command
    for name in ("auth", "conversation", "whatsapp", "gateway"):
        url = services[name]["environment"][f"PARLEY_{name.upper()}_REDIS_URL"]
        assert COMPOSE_ENV["REDIS_PASSWORD"] in url, name
    assert (
        services["postgres"]["environment"]["POSTGRES_PASSWORD"]
        == (COMPOSE_ENV["POSTGRES_PASSWORD"])
    )
    for missing in ("POSTGRES_PASSWORD", "REDIS_PASSWORD", "PARLEY_SERVICE_TOKEN_SECRET"):
        env = {k: v for k, v in COMPOSE_ENV.items() if k != missing}
        with pytest.raises(AssertionError, match=missing):
            compose_config("docker-compose.yml", env=env)


def test_the_production_compose_file_encrypts_every_connection(monkeypatch) -> None:
    config = compose_config(
        "docker-compose.yml", "deploy/compose/production.yml", env=PRODUCTION_COMPOSE_ENV
    )
    services = config["services"]
    for service in SERVICES:
        env: dict[str, str] = services[service]["environment"]
        prefix = f"PARLEY_{service.upper()}_"
        assert env[f"{prefix}ENVIRONMENT"] == "production", service
        monkeypatch.delenv("PGSSLMODE", raising=False)
        if "PGSSLMODE" in env:
            monkeypatch.setenv("PGSSLMODE", env["PGSSLMODE"])
        own = {k.removeprefix(prefix): v for k, v in env.items() if k.startswith(prefix)}
        settings = settings_from_environment(service, own, monkeypatch)
        assert plaintext_connections(settings, **EVERY_CONNECTION) == [], service
        access = access_of(service)
        if access.writes() or access.read_topics():
            assert env[f"{prefix}KAFKA_SASL_USERNAME"] == access.principal
    # Every listener reachable from the network is SASL_SSL; plaintext ones are loopback.
    kafka = services["kafka"]["environment"]
    protocols = dict(
        pair.split(":") for pair in kafka["KAFKA_LISTENER_SECURITY_PROTOCOL_MAP"].split(",")
    )
    for listener in kafka["KAFKA_LISTENERS"].split(","):
        name, address = listener.split("://")
        if protocols[name] != "SASL_SSL":
            assert address.startswith("127.0.0.1:"), listener
    assert kafka["KAFKA_ALLOW_EVERYONE_IF_NO_ACL_FOUND"] == "false"


PRODUCTION_COMPOSE_ENV = {
    **COMPOSE_ENV,
    **{
        f"KAFKA_PASSWORD_{s.upper()}": f"kafka-{s}-password-for-the-test"
        for s in ("gateway", "conversation", "ai", "whatsapp", "knowledge", "operator", "admin")
    },
    "PARLEY_PUBLIC_BASE_URL": "https://api.example.com",
}


def test_the_image_builds_every_workspace_package_and_runs_unprivileged() -> None:
    """Without a Docker engine here, the Dockerfile is read: a workspace member left out of
    the build stage breaks `uv sync --frozen` in the image, and the last stage must not run
    as root."""
    import tomllib

    dockerfile = (ROOT / "Dockerfile").read_text()
    copied = {line.split()[1] for line in dockerfile.splitlines() if line.startswith("COPY ")}
    members = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["uv"]["workspace"]
    for member in members["members"]:
        top = member.split("/*")[0]
        assert top in copied or member in copied, f"{member} is not copied into the image"
    final_stage = dockerfile.rsplit("\nFROM ", 1)[1]
    user = next(line for line in reversed(final_stage.splitlines()) if line.startswith("USER "))
    assert user.split()[1].split(":")[0] not in ("0", "root")
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert {".git", ".venv", ".parley", "deploy/compose/tls"} <= set(ignored)
