"""Assignment to users and teams, validated against the auth service, seen end to end
through the real gateway: who then sees the conversation, who may hold it, and that another
tenant's users and teams do not exist."""

from __future__ import annotations

import json
import uuid

from parley_testing.polling import eventually


async def _conversation_ids(user) -> set[str]:
    response = await user.get("/api/v1/conversations", params={"limit": 100})
    assert response.status_code == 200, response.text
    return {c["id"] for c in response.json()["items"]}


async def test_assignment_decides_who_sees_and_who_holds_a_conversation(platform) -> None:
    edge, harness = platform.edge, platform.harness
    owner = await edge.sign_up("Acme")
    tenant = owner.tenant_id
    alice = await edge.add_user(owner, "agent")
    bob = await edge.add_user(owner, "agent")
    carol = await edge.add_user(owner, "agent")
    team = (await owner.post("/api/v1/teams", json={"name": "Billing"})).json()
    for member in (bob, carol):
        added = await owner.put(f"/api/v1/teams/{team['id']}/members/{member.user_id}")
        assert added.status_code in (200, 204), added.text
    bob, carol = await platform.signed_in_again(bob), await platform.signed_in_again(carol)

    ana, ben = harness.customer(tenant), harness.customer(tenant)
    await harness.customer_says(ana, "billing question")
    await harness.customer_says(ben, "shipping question")

    async def both_listed() -> list | None:
        response = await owner.get("/api/v1/conversations")
        items = response.json()["items"]
        return items if len(items) == 2 else None

    listed = {c["contact"]["wa_id"]: c for c in await eventually(both_listed, timeout_s=30)}
    billing, shipping = listed[ana.wa_id]["id"], listed[ben.wa_id]["id"]
    assert await _conversation_ids(alice) == {billing, shipping}  # unassigned: everyone

    to_team = await owner.post(
        f"/api/v1/conversations/{billing}/assign", json={"team_id": team["id"]}
    )
    assert to_team.status_code == 200, to_team.text
    to_alice = await owner.post(
        f"/api/v1/conversations/{shipping}/assign", json={"user_id": str(alice.user_id)}
    )
    assert to_alice.json()["assignee_user_id"] == str(alice.user_id)

    assert await _conversation_ids(alice) == {shipping}
    assert await _conversation_ids(bob) == {billing}
    assert await _conversation_ids(carol) == {billing}
    assert (await alice.get(f"/api/v1/conversations/{billing}")).status_code == 404
    team_filter = await owner.get("/api/v1/conversations", params={"team_id": team["id"]})
    assert [c["id"] for c in team_filter.json()["items"]] == [billing]

    # Within the team, the first to take over holds it; a teammate may not take it away.
    async with harness.stream(harness.agent(tenant, uuid.UUID(team["id"]))) as team_view:
        taken = await bob.post(f"/api/v1/conversations/{billing}/takeover")
        assert taken.status_code == 200 and taken.json()["assignee_user_id"] == str(bob.user_id)
        refused = await carol.post(f"/api/v1/conversations/{billing}/takeover")
        assert refused.status_code == 409
        assert refused.json()["error"]["code"] == "conversation_owned"
        refused = await carol.post(f"/api/v1/conversations/{billing}/messages", json={"text": "hi"})
        assert refused.status_code == 409
        await team_view.until(lambda cs: any(c["kind"] == "state_changed" for c in cs))

    transitions = (await owner.get(f"/api/v1/conversations/{billing}/transitions")).json()["items"]
    assert [(t["actor_kind"], t["actor_id"], t["to_assignee_team_id"]) for t in transitions] == [
        ("user", str(owner.user_id), team["id"]),
        ("user", str(bob.user_id), team["id"]),
    ]


async def test_a_held_conversation_is_reassigned_or_closed_only_by_its_holder_or_an_admin(
    platform,
) -> None:
    edge, harness = platform.edge, platform.harness
    owner = await edge.sign_up("Acme")
    bob = await edge.add_user(owner, "agent")
    carol = await edge.add_user(owner, "agent")
    team = (await owner.post("/api/v1/teams", json={"name": "Support"})).json()
    for member in (bob, carol):
        await owner.put(f"/api/v1/teams/{team['id']}/members/{member.user_id}")
    bob, carol = await platform.signed_in_again(bob), await platform.signed_in_again(carol)
    ana = harness.customer(owner.tenant_id)
    await harness.customer_says(ana, "help please")
    conversation = (await harness.conversation_of(harness.admin(owner.tenant_id), ana))["id"]
    path = f"/api/v1/conversations/{conversation}"
    await owner.post(f"{path}/assign", json={"team_id": team["id"]})
    assert (await bob.post(f"{path}/takeover")).status_code == 200  # Bob holds it

    # Carol sees it (her team's), but cannot take it by assigning it to herself, nor close
    # or release it: each is 409 and changes nothing.
    for action, body in (
        ("assign", {"user_id": str(carol.user_id), "team_id": team["id"]}),
        ("assign", {"user_id": None, "team_id": None}),
        ("close", None),
        ("release", None),
    ):
        refused = await carol.post(f"{path}/{action}", json=body)
        assert refused.status_code == 409, (action, refused.text)
        assert refused.json()["error"]["code"] == "conversation_owned"
    current = (await owner.get(path)).json()
    assert (current["state"], current["assignee_user_id"]) == ("human", str(bob.user_id))

    # The holder hands it to Carol; an admin (the owner here) may reassign or close it.
    handed = await bob.post(
        f"{path}/assign", json={"user_id": str(carol.user_id), "team_id": team["id"]}
    )
    assert handed.status_code == 200 and handed.json()["assignee_user_id"] == str(carol.user_id)
    taken_back = await owner.post(
        f"{path}/assign", json={"user_id": str(bob.user_id), "team_id": team["id"]}
    )
    assert taken_back.status_code == 200
    assert (await owner.post(f"{path}/close")).json()["state"] == "closed"


async def test_another_tenants_user_or_team_cannot_be_assigned(platform) -> None:
    edge, harness = platform.edge, platform.harness
    owner = await edge.sign_up("Acme")
    rival = await edge.sign_up("Rival")
    rival_agent = await edge.add_user(rival, "agent")
    rival_team = (await rival.post("/api/v1/teams", json={"name": "Sales"})).json()
    ana = harness.customer(owner.tenant_id)
    await harness.customer_says(ana, "hello")

    async def listed() -> list:
        return (await owner.get("/api/v1/conversations")).json()["items"]

    (conversation,) = await eventually(listed, timeout_s=30)
    path = f"/api/v1/conversations/{conversation['id']}/assign"

    for body in (
        {"user_id": str(rival_agent.user_id)},
        {"team_id": rival_team["id"]},
        {"user_id": str(uuid.uuid4())},
    ):
        response = await owner.post(path, json=body)
        assert response.status_code == 404, response.text
        assert response.json()["error"]["code"] == "not_found"
    current = (await owner.get(f"/api/v1/conversations/{conversation['id']}")).json()
    assert (current["assignee_user_id"], current["assignee_team_id"]) == (None, None)
    assert (await owner.get(f"/api/v1/conversations/{conversation['id']}/transitions")).json()[
        "items"
    ] == []
    # And the rival sees nothing of it through the gateway either.
    assert (await rival.get(f"/api/v1/conversations/{conversation['id']}")).status_code == 404
    assert (await rival.get("/api/v1/conversations")).json()["items"] == []


async def test_the_live_stream_flows_through_the_gateway(platform) -> None:
    edge, harness = platform.edge, platform.harness
    owner = await edge.sign_up("Acme")
    ana = harness.customer(owner.tenant_id)

    lines: list[str] = []
    async with edge.gateway.client.stream(
        "GET", "/api/v1/events", headers=owner.headers(), timeout=None
    ) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        async for line in response.aiter_lines():
            if line.startswith(": connected"):
                await harness.customer_says(ana, "hello through the edge")
            lines.append(line)
            if lines[-2:-1] == ["event: message_added"] and line.startswith("data: "):
                break
    change = json.loads(lines[-1].removeprefix("data: "))
    assert (change["kind"], change["author"], change["state"]) == (
        "message_added",
        "customer",
        "ai",
    )
