"""Who may write and read which topic: each service's Kafka principal and its ACLs.

A service writes only the topics it produces (plus its groups' dead-letter topics) and reads
only the topics its consumer groups subscribe to. `tests/test_deployment.py` starts every
service and checks this table against what each one declares to its runtime (the topics it
creates, its consumer groups), so a new topic or group fails the test until it is added here;
`parley-kafka-acls` prints the script that applies it with Kafka's own tools
(deploy/k8s/overlays/prod/kafka-access/setup.sh, used by the prod overlay's Job and the
production compose file).

Names here are canonical: the script adds the environment's topic prefix (groups carry it
too, decision 25).
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from parley_platform.events.topics import (
    AI_REPLY,
    CONVERSATION_AI_REQUESTED,
    CONVERSATION_CHANGED,
    KNOWLEDGE_CRAWL_REQUESTED,
    KNOWLEDGE_DOCUMENT_CHANGED,
    KNOWLEDGE_INGEST_REQUESTED,
    WHATSAPP_INBOUND,
    WHATSAPP_MEDIA,
    WHATSAPP_OUTBOUND,
    WHATSAPP_OUTCOME,
    WHATSAPP_STATUS,
    WHATSAPP_WEBHOOK_ERROR,
    dead_letter_topic,
)

# The principal of the operators' tools (parley-dlq, KEDA's lag scaler): reads every
# dead-letter topic, writes back to the topics events are replayed to, describes the groups.
OPERATOR = "parley-operator"


@dataclass(frozen=True)
class KafkaAccess:
    """One service's rights on Kafka."""

    service: str
    produces: tuple[str, ...] = ()
    # consumer group -> the topics it subscribes to
    consumes: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    # topics read without a consumer group (manual assignment, nothing committed)
    reads: tuple[str, ...] = ()

    @property
    def principal(self) -> str:
        """The SCRAM user name of the service (its `KAFKA_SASL_USERNAME`)."""
        return f"parley-{self.service}"

    def writes(self) -> tuple[str, ...]:
        """Every topic it writes: what it produces and its groups' dead letters."""
        return (*self.produces, *(dead_letter_topic(group) for group in self.consumes))

    def read_topics(self) -> tuple[str, ...]:
        subscribed = [topic for topics in self.consumes.values() for topic in topics]
        return tuple(dict.fromkeys([*subscribed, *self.reads]))


SERVICE_ACCESS: tuple[KafkaAccess, ...] = (
    KafkaAccess("auth"),
    KafkaAccess(
        "gateway",
        produces=(WHATSAPP_INBOUND.name, WHATSAPP_STATUS.name, WHATSAPP_WEBHOOK_ERROR.name),
    ),
    KafkaAccess(
        "conversation",
        produces=(
            CONVERSATION_AI_REQUESTED.name,
            CONVERSATION_CHANGED.name,
            WHATSAPP_OUTBOUND.name,
        ),
        consumes={
            "conversation": (
                WHATSAPP_INBOUND.name,
                WHATSAPP_STATUS.name,
                WHATSAPP_OUTCOME.name,
                WHATSAPP_MEDIA.name,
                AI_REPLY.name,
            )
        },
        # The live feed: every replica reads the whole topics without a group.
        reads=(CONVERSATION_CHANGED.name, KNOWLEDGE_DOCUMENT_CHANGED.name),
    ),
    KafkaAccess(
        "whatsapp",
        produces=(WHATSAPP_OUTCOME.name, WHATSAPP_MEDIA.name),
        consumes={
            "whatsapp-sender": (WHATSAPP_OUTBOUND.name,),
            "whatsapp-media": (WHATSAPP_INBOUND.name,),
        },
    ),
    KafkaAccess(
        "ai",
        produces=(AI_REPLY.name,),
        consumes={"ai": (CONVERSATION_AI_REQUESTED.name,)},
    ),
    KafkaAccess(
        "knowledge",
        produces=(
            KNOWLEDGE_DOCUMENT_CHANGED.name,
            KNOWLEDGE_INGEST_REQUESTED.name,
            KNOWLEDGE_CRAWL_REQUESTED.name,
        ),
        consumes={
            "knowledge-ingest": (KNOWLEDGE_INGEST_REQUESTED.name,),
            "knowledge-crawl": (KNOWLEDGE_CRAWL_REQUESTED.name,),
        },
    ),
)


def access_of(service: str) -> KafkaAccess:
    """The Kafka rights of `service`."""
    return next(a for a in SERVICE_ACCESS if a.service == service)


def _topic(name: str) -> str:
    # Names are [a-z0-9.-]; the environment's prefix is a shell variable of the script.
    return f'"${{TOPIC_PREFIX}}{name}"'


def _acl(principal: str, operations: Sequence[str], resource: str, name: str) -> str:
    ops = " ".join(f"--operation {op}" for op in operations)
    return f"acl --allow-principal User:{principal} {ops} --{resource} {_topic(name)}"


def acl_lines(accesses: Sequence[KafkaAccess] = SERVICE_ACCESS) -> list[str]:
    """One `acl ...` line (a function of the setup script) per right in the table."""
    lines = []
    for access in accesses:
        who = access.principal
        for topic in access.writes():
            lines.append(_acl(who, ("Write", "Describe"), "topic", topic))
        for topic in access.read_topics():
            lines.append(_acl(who, ("Read", "Describe"), "topic", topic))
        for group in access.consumes:
            lines.append(_acl(who, ("Read",), "group", group))
    dead_letters = [dead_letter_topic(group) for access in accesses for group in access.consumes]
    replayable = sorted({t for a in accesses for ts in a.consumes.values() for t in ts})
    for topic in dead_letters:
        lines.append(_acl(OPERATOR, ("Read", "Describe"), "topic", topic))
    # Lag for autoscaling (KEDA) and alerts: the groups' committed offsets.
    for group in (g for a in accesses for g in a.consumes):
        lines.append(_acl(OPERATOR, ("Describe",), "group", group))
    for topic in replayable:
        lines.append(_acl(OPERATOR, ("Write", "Describe"), "topic", topic))
    return lines


def principals(accesses: Sequence[KafkaAccess] = SERVICE_ACCESS) -> list[str]:
    """Every SCRAM user the platform needs (services that use Kafka, and the operator)."""
    users = [a.principal for a in accesses if a.writes() or a.read_topics()]
    return [*users, OPERATOR]


def all_topics(accesses: Sequence[KafkaAccess] = SERVICE_ACCESS) -> list[str]:
    """Every topic the table names (created up front: services get no Create right)."""
    names = {t for a in accesses for t in (*a.writes(), *a.read_topics())}
    return sorted(names)


_SCRIPT_HEAD = """#!/usr/bin/env bash
# Generated by `parley-kafka-acls` from parley_platform/events/access.py; do not edit (a test
# fails when it is stale). Creates Parley's SCRAM users, topics and ACLs on a cluster with an
# ACL authorizer, as its admin. Run with the Kafka distribution's bin/ on PATH and:
#   BOOTSTRAP        brokers (SASL_SSL listener)
#   ADMIN_CONFIG     client properties of the admin principal (SASL_SSL, SCRAM, truststore)
#   TOPIC_PREFIX     the environment's KAFKA_TOPIC_PREFIX (may be empty)
#   PARTITIONS, REPLICATION_FACTOR, RETENTION_MS   for topics created here
#   PASSWORD_<USER>  each user's SCRAM password, e.g. PASSWORD_PARLEY_GATEWAY
# Safe to run again: users are updated, existing topics and ACLs are left as they are.
set -euo pipefail
: "${BOOTSTRAP:?}" "${ADMIN_CONFIG:?}" "${TOPIC_PREFIX=}"
: "${PARTITIONS:=12}" "${REPLICATION_FACTOR:=3}" "${RETENTION_MS:=604800000}"

acl() {
  kafka-acls.sh --bootstrap-server "$BOOTSTRAP" --command-config "$ADMIN_CONFIG" --add "$@"
}
topic() {
  kafka-topics.sh --bootstrap-server "$BOOTSTRAP" --command-config "$ADMIN_CONFIG" \\
    --create --if-not-exists --topic "$1" --partitions "$PARTITIONS" \\
    --replication-factor "$REPLICATION_FACTOR" \\
    --config min.insync.replicas="$(( REPLICATION_FACTOR < 2 ? 1 : 2 ))" \\
    --config retention.ms="$RETENTION_MS"
}
user() {
  local variable="PASSWORD_${1//-/_}"
  variable="${variable^^}"
  kafka-configs.sh --bootstrap-server "$BOOTSTRAP" --command-config "$ADMIN_CONFIG" \\
    --alter --entity-type users --entity-name "$1" \\
    --add-config "SCRAM-SHA-512=[password=${!variable:?$variable is not set}]"
}
"""


def setup_script(accesses: Sequence[KafkaAccess] = SERVICE_ACCESS) -> str:
    """The whole setup script: users, topics, ACLs."""
    body = [
        "",
        "# Users (one per service, and the operators' tools)",
        *(f"user {name}" for name in principals(accesses)),
        "",
        "# Topics (services have no Create right)",
        *(f"topic {_topic(name)}" for name in all_topics(accesses)),
        "",
        "# Rights: a service writes what it produces, reads what it consumes",
        *acl_lines(accesses),
    ]
    return _SCRIPT_HEAD + "\n".join(body) + "\n"


def main() -> None:
    """`parley-kafka-acls`: print the setup script."""
    sys.stdout.write(setup_script())
