"""No password, token, API key, invitation or channel secret ever reaches a log line.

The whole flow runs with the services' own JSON logging at DEBUG, and a second handler
records every log record before the redaction filter touches it, so the test also fails if
code hands a secret to the logger and only the safety net hides it.
"""

from __future__ import annotations

import io
import logging
import uuid
from dataclasses import dataclass

import pytest
from parley.auth.v1 import auth_pb2
from parley_devstack.seeding import WhatsAppNumber
from parley_platform.context import tenant_scope
from parley_platform.logging import configure_logging
from parley_testing.edge import PASSWORD


class RawRecords(logging.Handler):
    """Everything a record carries, before any filter rewrites it."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.texts: list[str] = []

    def handle(self, record: logging.LogRecord) -> bool:  # before handler filters run
        self.texts.append(str(record.msg))
        self.texts.append(repr(record.args))
        self.texts.extend(repr(v) for v in vars(record).values())
        if record.exc_info:
            self.texts.append(logging.Formatter().formatException(record.exc_info))
        return True

    def emit(self, record: logging.LogRecord) -> None:
        pass


@dataclass
class CapturedLogs:
    json_lines: io.StringIO
    raw: RawRecords


@pytest.fixture
def debug_logs():
    """The services' JSON log output at DEBUG, and the raw records."""
    root = logging.getLogger()
    saved_handlers, saved_level = root.handlers[:], root.level
    configure_logging("parley", "DEBUG")
    output = io.StringIO()
    json_handler = root.handlers[0]
    assert isinstance(json_handler, logging.StreamHandler)
    json_handler.setStream(output)
    raw = RawRecords()
    root.handlers.insert(0, raw)
    try:
        yield CapturedLogs(output, raw)
    finally:
        root.handlers[:] = saved_handlers
        root.setLevel(saved_level)


async def test_a_full_flow_logs_no_secret(debug_logs, edge, channel_body, grpc_as) -> None:
    secrets: list[str] = [PASSWORD]
    anonymous = edge.anonymous()

    owner = await edge.sign_up()
    secrets += [owner.credential, owner.refresh_token]
    secrets.append(await edge.mailbox.link_token(str(owner.email), "signup_confirmation"))
    wrong = await anonymous.post(
        "/api/v1/auth/login", json={"email": owner.email, "password": "wrong-password-123"}
    )
    assert wrong.status_code == 401
    secrets.append("wrong-password-123")
    login = (
        await anonymous.post(
            "/api/v1/auth/login", json={"email": owner.email, "password": PASSWORD}
        )
    ).json()
    secrets += [login["access_token"], login["refresh_token"]]
    refreshed = (
        await anonymous.post("/api/v1/auth/refresh", json={"refresh_token": login["refresh_token"]})
    ).json()
    secrets += [refreshed["access_token"], refreshed["refresh_token"]]
    reuse = await anonymous.post(
        "/api/v1/auth/refresh", json={"refresh_token": login["refresh_token"]}
    )
    assert reuse.status_code == 401  # logged as a warning, without the token
    # The reuse signed the owner out everywhere; sign in again.
    again = (
        await anonymous.post(
            "/api/v1/auth/login", json={"email": owner.email, "password": PASSWORD}
        )
    ).json()
    owner.credential = again["access_token"]
    secrets += [again["access_token"], again["refresh_token"]]

    invitee = f"a-{uuid.uuid4().hex[:8]}@example.com"
    await owner.post("/api/v1/users", json={"email": invitee, "name": "A", "role": "agent"})
    invitation = await edge.mailbox.link_token(invitee, "invitation")
    secrets.append(invitation)
    await anonymous.post(
        "/api/v1/auth/accept-invite",
        json={"invitation": invitation, "password": "agent password 123"},
    )
    secrets.append("agent password 123")

    key = (
        await owner.post("/api/v1/api-keys", json={"name": "k", "scopes": ["users:read"]})
    ).json()
    secrets.append(key["key"])
    assert (await edge.client(key["key"]).get("/api/v1/users")).status_code == 200
    forged_key = key["key"][:-3] + "zzz"
    assert (await edge.client(forged_key).get("/api/v1/users")).status_code == 401
    await owner.delete(f"/api/v1/api-keys/{key['id']}")

    body = await channel_body(
        app_secret="app-secret-" + uuid.uuid4().hex, verify_token="vt-" + "q" * 20
    )
    secrets += [body["access_token"], body["app_secret"], body["verify_token"]]
    channel = (await owner.post("/api/v1/channels/whatsapp", json=body)).json()
    new_token = "EAAGrotated" + uuid.uuid4().hex
    secrets.append(new_token)
    # The business makes a new token at Meta, then gives it to Parley (verified with Meta).
    await edge.meta.serve(
        WhatsAppNumber(
            str(body["phone_number_id"]), str(body["waba_id"]), "1555", access_token=new_token
        )
    )
    rotated = await owner.patch(
        f"/api/v1/channels/whatsapp/{channel['id']}", json={"access_token": new_token}
    )
    assert rotated.status_code == 200, rotated.text
    bad = await owner.post("/api/v1/channels/whatsapp", json={**body, "app_secret": "x y"})
    assert bad.status_code == 422
    await grpc_as("gateway").ResolveChannel(
        auth_pb2.ResolveChannelRequest(phone_number_id=body["phone_number_id"])
    )
    with tenant_scope(owner.tenant_id):
        await grpc_as("whatsapp").GetSendCredentials(
            auth_pb2.GetSendCredentialsRequest(channel_id=channel["id"])
        )
    changed = (
        await owner.post(
            "/api/v1/auth/password",
            json={"current_password": PASSWORD, "new_password": "the new password 42"},
        )
    ).json()
    secrets += ["the new password 42", changed["access_token"], changed["refresh_token"]]
    await anonymous.post("/api/v1/auth/logout", json={"refresh_token": changed["refresh_token"]})

    output = debug_logs.json_lines.getvalue()
    raw = "\n".join(debug_logs.raw.texts)
    assert '"level": "DEBUG"' in output or '"level": "INFO"' in output  # logs were captured
    assert "refresh token reused" in output
    for secret in secrets:
        assert secret not in output, f"secret in JSON logs: {secret[:12]}..."
        assert secret not in raw, f"secret handed to the logger: {secret[:12]}..."
    # The signature part of a token is what makes it a credential: not even that.
    for token in (owner.credential, refreshed["access_token"]):
        assert token.rsplit(".", 1)[-1] not in output + raw
