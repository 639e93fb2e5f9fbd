"""Teams: create, rename, delete, members from the same tenant only."""

from __future__ import annotations


async def test_teams_are_created_renamed_and_deleted(edge) -> None:
    owner = await edge.sign_up()
    created = await owner.post("/api/v1/teams", json={"name": "  Billing  "})
    assert created.status_code == 201
    team = created.json()
    assert team["name"] == "Billing" and team["member_ids"] == []

    duplicate = await owner.post("/api/v1/teams", json={"name": "billing"})
    assert duplicate.status_code == 409 and duplicate.json()["error"]["code"] == "team_name_taken"

    renamed = await owner.patch(f"/api/v1/teams/{team['id']}", json={"name": "Payments"})
    assert renamed.status_code == 200 and renamed.json()["name"] == "Payments"
    assert [t["name"] for t in (await owner.get("/api/v1/teams")).json()] == ["Payments"]

    assert (await owner.delete(f"/api/v1/teams/{team['id']}")).status_code == 204
    assert (await owner.get(f"/api/v1/teams/{team['id']}")).status_code == 404
    assert (await owner.delete(f"/api/v1/teams/{team['id']}")).status_code == 404


async def test_members_are_added_and_removed_and_carried_in_tokens(edge) -> None:
    owner = await edge.sign_up()
    agent = await edge.add_user(owner, "agent")
    team = (await owner.post("/api/v1/teams", json={"name": "Support"})).json()

    added = await owner.put(f"/api/v1/teams/{team['id']}/members/{agent.user_id}")
    assert added.status_code == 200 and added.json()["member_ids"] == [str(agent.user_id)]
    again = await owner.put(f"/api/v1/teams/{team['id']}/members/{agent.user_id}")
    assert again.json()["member_ids"] == [str(agent.user_id)]  # adding twice changes nothing

    refreshed = await edge.anonymous().post(
        "/api/v1/auth/refresh", json={"refresh_token": agent.refresh_token}
    )
    me = (await edge.client(refreshed.json()["access_token"]).get("/api/v1/me")).json()
    assert me["user"]["team_ids"] == [team["id"]]

    removed = await owner.delete(f"/api/v1/teams/{team['id']}/members/{agent.user_id}")
    assert removed.status_code == 204
    assert (await owner.get(f"/api/v1/teams/{team['id']}")).json()["member_ids"] == []
    not_member = await owner.delete(f"/api/v1/teams/{team['id']}/members/{agent.user_id}")
    assert not_member.status_code == 404


async def test_a_team_only_takes_users_of_its_tenant(edge) -> None:
    alpha = await edge.sign_up("Alpha")
    bravo = await edge.sign_up("Bravo")
    team = (await alpha.post("/api/v1/teams", json={"name": "Support"})).json()
    foreign = await alpha.put(f"/api/v1/teams/{team['id']}/members/{bravo.user_id}")
    assert foreign.status_code == 404
    made_up = await alpha.put(
        f"/api/v1/teams/{team['id']}/members/00000000-0000-0000-0000-000000000001"
    )
    assert made_up.status_code == 404
    assert (await alpha.get(f"/api/v1/teams/{team['id']}")).json()["member_ids"] == []
    bad_id = await alpha.get("/api/v1/teams/not-a-uuid")
    assert bad_id.status_code == 422
