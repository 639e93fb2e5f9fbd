"""FAQ entries: one by one (add, edit, delete) and imported from CSV; each is found by a
customer's question and answered with its own answer."""

from __future__ import annotations

import uuid

from .conftest import Knowledge, admin, agent

FAQ = "/api/v1/knowledge/faq"


async def test_an_entry_is_added_found_edited_and_deleted(knowledge: Knowledge):
    tenant = uuid.uuid4()
    added = await knowledge.request(
        "POST",
        admin(tenant),
        FAQ,
        json={"question": "Do you deliver on Sundays?", "answer": "No, only Monday to Saturday."},
    )
    assert added.status_code == 202, added.text
    entry = added.json()
    await knowledge.ready(admin(tenant), entry["id"])

    (found,) = await knowledge.search(agent(tenant), "sunday delivery")
    assert found["heading"] == "Do you deliver on Sundays?"
    assert found["text"] == "No, only Monday to Saturday."
    assert found["document_kind"] == "faq"

    edited = await knowledge.request(
        "PUT",
        admin(tenant),
        f"{FAQ}/{entry['id']}",
        json={"question": "Do you deliver on Sundays?", "answer": "Yes, since May, until 1 pm."},
    )
    assert edited.status_code == 202, edited.text
    assert edited.json()["revision"] == 2
    await knowledge.ready(admin(tenant), entry["id"])
    (found,) = await knowledge.search(agent(tenant), "sunday delivery")
    assert found["text"] == "Yes, since May, until 1 pm."

    shown = (await knowledge.request("GET", agent(tenant), f"{FAQ}/{entry['id']}")).json()
    assert (shown["question"], shown["answer"], shown["state"]) == (
        "Do you deliver on Sundays?",
        "Yes, since May, until 1 pm.",
        "ready",
    )

    deleted = await knowledge.request("DELETE", admin(tenant), f"{FAQ}/{entry['id']}")
    assert deleted.status_code == 204
    assert await knowledge.search(agent(tenant), "sunday delivery") == []
    assert (
        await knowledge.request("GET", agent(tenant), f"{FAQ}/{entry['id']}")
    ).status_code == 404


async def test_a_csv_of_entries_is_imported_and_importing_it_again_duplicates_nothing(
    knowledge: Knowledge,
):
    tenant = uuid.uuid4()
    csv = (
        b"question,answer\n"
        b"How do I reset my password?,Use the Forgot password link on the sign-in page.\n"
        b'Can I pay by invoice?,"Yes, for yearly plans."\n'
        b"Where is your office?,At 12 Harbour Street in Leith.\n"
    )
    imported = await knowledge.request(
        "POST", admin(tenant), f"{FAQ}/import", content=csv, headers={"content-type": "text/csv"}
    )
    assert imported.status_code == 200, imported.text
    assert (imported.json()["created"], imported.json()["updated"]) == (3, 0)
    for item in imported.json()["items"]:
        await knowledge.ready(admin(tenant), item["id"])

    (office, *_) = await knowledge.search(agent(tenant), "what is the address of your office")
    assert office["text"] == "At 12 Harbour Street in Leith."

    changed = csv.replace(b"12 Harbour Street", b"40 Quay Road")
    again = await knowledge.request(
        "POST", admin(tenant), f"{FAQ}/import", files={"file": ("faq.csv", changed, "text/csv")}
    )
    assert again.status_code == 200, again.text
    assert (again.json()["created"], again.json()["updated"], again.json()["unchanged"]) == (
        0,
        1,
        2,
    )
    for item in again.json()["items"]:
        await knowledge.ready(admin(tenant), item["id"])
    listed = (await knowledge.request("GET", admin(tenant), FAQ)).json()["items"]
    assert len(listed) == 3
    (office, *_) = await knowledge.search(agent(tenant), "what is the address of your office")
    assert office["text"] == "At 40 Quay Road in Leith."


async def test_a_csv_with_bad_rows_imports_nothing_and_names_them(knowledge: Knowledge):
    tenant = uuid.uuid4()
    refused = await knowledge.request(
        "POST",
        admin(tenant),
        f"{FAQ}/import",
        content=b"question,answer\nGood?,Fine.\n,No question\n",
        headers={"content-type": "text/csv"},
    )
    assert refused.status_code == 422
    assert refused.json()["error"]["details"] == [{"row": 3, "reason": "the question is empty"}]
    assert (await knowledge.request("GET", admin(tenant), FAQ)).json()["items"] == []
