"""Documents through the API: adding text, its state, listing, replacing by external id,
deleting, and the errors a business gets for bad input."""

from __future__ import annotations

import uuid

from .conftest import DOCUMENTS, Knowledge, admin, agent

SHIPPING = """# Shipping

## Delivery times

Orders placed before 2 pm leave our warehouse the same day. Delivery inside the country takes
two working days; abroad it takes five to seven.

## Costs

Shipping is free above 50 euros. Below that, a flat fee of 4.90 euros applies."""


async def test_a_text_document_becomes_searchable_with_its_headings(knowledge: Knowledge):
    tenant = uuid.uuid4()
    accepted = await knowledge.add_text(admin(tenant), "Shipping", SHIPPING, language="en")
    assert accepted["state"] == "queued"
    assert accepted["searchable"] is False

    ready = await knowledge.ready(admin(tenant), accepted["id"])
    assert ready["chunk_count"] == 2
    assert ready["language"] == "en"
    assert ready["searchable"] is True

    results = await knowledge.search(agent(tenant), "how much is shipping below 50 euros")
    assert results[0]["heading"] == "Shipping > Costs"
    assert results[0]["heading_path"] == ["Shipping", "Costs"]
    assert "flat fee" in results[0]["text"]
    assert results[0]["document_title"] == "Shipping"
    assert results[0]["score"] == 1.0
    assert 0 < results[0]["term_coverage"] <= 1
    assert all(r["score"] < 1.0 for r in results[1:])

    chunks = await knowledge.grpc_search(tenant, "how much is shipping below 50 euros")
    assert chunks[0].heading == "Shipping > Costs"
    assert chunks[0].document_id == accepted["id"]
    assert chunks[0].language == "en"
    assert chunks[0].document_kind == "text"


async def test_a_misspelled_word_is_searched_as_the_word_the_documents_contain(
    knowledge: Knowledge,
):
    tenant = uuid.uuid4()
    doc = await knowledge.add_text(admin(tenant), "Shipping", SHIPPING, language="en")
    await knowledge.ready(admin(tenant), doc["id"])

    (top, *_) = await knowledge.search(agent(tenant), "shiping costs")
    assert top["heading"] == "Shipping > Costs"
    # Both words count as found: the misspelled one as the word it was corrected to.
    assert top["term_coverage"] == 1.0
    (grpc_top, *_) = await knowledge.grpc_search(tenant, "shiping costs")
    assert (grpc_top.heading, grpc_top.term_coverage) == ("Shipping > Costs", 1.0)


async def test_listing_shows_each_documents_state_and_counts(knowledge: Knowledge):
    tenant = uuid.uuid4()
    first = await knowledge.add_text(admin(tenant), "Shipping", SHIPPING)
    second = await knowledge.add_text(admin(tenant), "Opening hours", "We open at 9 am daily.")
    await knowledge.ready(admin(tenant), first["id"])
    await knowledge.ready(admin(tenant), second["id"])

    page = (await knowledge.request("GET", agent(tenant), DOCUMENTS, params={"limit": 1})).json()
    assert [d["id"] for d in page["items"]] == [second["id"]]
    rest = await knowledge.request(
        "GET", agent(tenant), DOCUMENTS, params={"limit": 1, "cursor": page["next_cursor"]}
    )
    assert [d["id"] for d in rest.json()["items"]] == [first["id"]]
    assert rest.json()["next_cursor"] is None
    item = rest.json()["items"][0]
    assert (item["state"], item["chunk_count"], item["page_count"]) == ("ready", 2, 1)


async def test_a_deleted_document_leaves_search_at_once(knowledge: Knowledge):
    tenant = uuid.uuid4()
    doc = await knowledge.add_text(admin(tenant), "Shipping", SHIPPING)
    await knowledge.ready(admin(tenant), doc["id"])
    assert await knowledge.search(agent(tenant), "delivery times")

    deleted = await knowledge.request("DELETE", admin(tenant), f"{DOCUMENTS}/{doc['id']}")
    assert deleted.status_code == 204
    assert await knowledge.search(agent(tenant), "delivery times") == []
    assert await knowledge.grpc_search(tenant, "delivery times") == []
    gone = await knowledge.request("GET", admin(tenant), f"{DOCUMENTS}/{doc['id']}")
    assert gone.status_code == 404


async def test_the_same_external_id_replaces_the_previous_version(knowledge: Knowledge):
    tenant = uuid.uuid4()
    first = await knowledge.add_text(
        admin(tenant), "Hours", "We open at 9 am on weekdays.", external_id="hours"
    )
    await knowledge.ready(admin(tenant), first["id"])
    second = await knowledge.add_text(
        admin(tenant), "Hours", "We open at 10 am on weekdays and Saturdays.", external_id="hours"
    )
    assert second["id"] == first["id"]
    assert second["revision"] == 2
    ready = await knowledge.ready(admin(tenant), second["id"])
    assert ready["revision"] == 2

    results = await knowledge.search(agent(tenant), "when do you open")
    assert [r["text"] for r in results] == ["We open at 10 am on weekdays and Saturdays."]
    listed = (await knowledge.request("GET", admin(tenant), DOCUMENTS)).json()["items"]
    assert len(listed) == 1

    # The same content again changes nothing.
    again = await knowledge.request(
        "POST",
        admin(tenant),
        DOCUMENTS,
        json={
            "title": "Hours",
            "text": "We open at 10 am on weekdays and Saturdays.",
            "external_id": "hours",
        },
    )
    assert again.status_code == 200
    assert again.json()["revision"] == 2


async def test_bad_input_gets_a_clear_error(knowledge: Knowledge):
    tenant = uuid.uuid4()
    no_title = await knowledge.request("POST", admin(tenant), DOCUMENTS, json={"text": "x"})
    assert no_title.status_code == 400
    assert no_title.json()["error"]["details"][0]["field"] == "title"

    blank = await knowledge.request(
        "POST", admin(tenant), DOCUMENTS, json={"title": "Blank", "text": "   \n  "}
    )
    assert blank.status_code == 422
    assert "empty" in blank.json()["error"]["message"]

    language = await knowledge.request(
        "POST", admin(tenant), DOCUMENTS, json={"title": "T", "text": "x", "language": "EN"}
    )
    assert language.status_code == 400

    xml = await knowledge.request(
        "POST", admin(tenant), DOCUMENTS, content=b"<a/>", headers={"content-type": "text/xml"}
    )
    assert xml.status_code == 415

    empty_query = await knowledge.request(
        "POST", agent(tenant), "/api/v1/knowledge/search", json={"query": ""}
    )
    assert empty_query.status_code == 422
    assert (await knowledge.request("GET", admin(tenant), DOCUMENTS)).json()["items"] == []


async def test_agents_search_but_only_admins_change_the_knowledge_base(knowledge: Knowledge):
    tenant = uuid.uuid4()
    refused = await knowledge.request(
        "POST", agent(tenant), DOCUMENTS, json={"title": "T", "text": "Some text."}
    )
    assert refused.status_code == 403
    unauthenticated = await knowledge.client.get(DOCUMENTS)
    assert unauthenticated.status_code == 401


async def test_languages_are_detected_or_the_tenants_default_and_stemmed_accordingly(
    knowledge: Knowledge,
):
    tenant = uuid.uuid4()
    french = await knowledge.add_text(
        admin(tenant),
        "Livraison",
        "Nous livrons les commandes en deux jours ouvrables partout en France, et les "
        "livraisons sont gratuites dès cinquante euros.",
    )
    assert (await knowledge.ready(admin(tenant), french["id"]))["language"] == "fr"
    (found,) = await knowledge.search(agent(tenant), "livraison gratuite")
    assert found["language"] == "fr"

    preferences = "/api/v1/knowledge/preferences"
    assert (await knowledge.request("GET", agent(tenant), preferences)).json() == {
        "default_language": "en"
    }
    changed = await knowledge.request(
        "PUT", admin(tenant), preferences, json={"default_language": "de"}
    )
    assert changed.status_code == 200
    short = await knowledge.add_text(admin(tenant), "Kurz", "Hunde willkommen.")
    assert (await knowledge.ready(admin(tenant), short["id"]))["language"] == "de"
    # German stemming: "Hund" finds "Hunde".
    (dogs,) = await knowledge.search(agent(tenant), "Hund")
    assert dogs["document_id"] == short["id"]
    refused = await knowledge.request(
        "PUT", admin(tenant), preferences, json={"default_language": "german"}
    )
    assert refused.status_code == 422
