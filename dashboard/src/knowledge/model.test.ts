import { describe, expect, it } from "vitest";
import type { DocumentChange } from "../api/live";
import type { Document, Website } from "./model";
import { applyDocumentChange, crawlWords, failureWords, settling, stateTone } from "./model";

const website = (over: Partial<Website>): Website =>
  ({
    id: "w1",
    start_url: "https://help.example.com/",
    page_limit: 100,
    state: "done",
    failure_reason: null,
    crawl: 1,
    pages_found: 12,
    pages_changed: 12,
    pages_removed: 0,
    pages_skipped: 0,
    crawl_started_at: null,
    crawl_finished_at: null,
    created_at: "2026-01-01T10:00:00Z",
    ...over,
  }) as Website;

describe("processing", () => {
  it("keeps watching while anything is queued, processing or crawling", () => {
    expect(settling([{ state: "ready" }, { state: "processing" }])).toBe(true);
    expect(settling([{ state: "crawling" }])).toBe(true);
    expect(settling([{ state: "ready" }, { state: "failed" }, { state: "done" }])).toBe(false);
    expect(settling(undefined)).toBe(false);
    expect(stateTone("done")).toBe("ok");
    expect(stateTone("failed")).toBe("failed");
    expect(stateTone("queued")).toBe("neutral");
  });

  it("says when a failed new version leaves the previous one in use", () => {
    const failed = { state: "failed" as const, failure_reason: "The PDF is password-protected.", searchable: true };
    expect(failureWords(failed)).toBe("The PDF is password-protected. The previous version is still used.");
    expect(failureWords({ ...failed, searchable: false })).toBe("The PDF is password-protected.");
    expect(failureWords({ ...failed, state: "ready" })).toBeNull();
  });
});

describe("website imports", () => {
  it("say what the latest crawl did", () => {
    expect(crawlWords(website({ pages_changed: 3, pages_removed: 1, pages_skipped: 2 }))).toBe(
      "12 pages (3 new or changed, 1 removed, 2 skipped)",
    );
    expect(crawlWords(website({ pages_found: 1, pages_changed: 0 }))).toBe("1 page (0 new or changed)");
    expect(crawlWords(website({ state: "queued", page_limit: 20 }))).toBe("Waiting to start (up to 20 pages).");
    expect(crawlWords(website({ state: "crawling", pages_found: 4 }))).toBe(
      "Crawling: 4 of at most 100 pages so far.",
    );
    expect(
      crawlWords(website({ state: "failed", failure_reason: "robots.txt answered 503; try again later", pages_found: 0, pages_changed: 0 })),
    ).toBe("Stopped: robots.txt answered 503; try again later. 0 pages (0 new or changed)");
  });
});

const listed = (over: Partial<Document>): Document =>
  ({
    id: "d1",
    kind: "file",
    title: "Prices",
    external_id: null,
    source_uri: "prices.pdf",
    media_type: "application/pdf",
    language: null,
    state: "queued",
    failure_reason: null,
    searchable: false,
    revision: 1,
    page_count: 0,
    chunk_count: 0,
    byte_size: 1000,
    website_id: null,
    embedding_model: null,
    created_at: "2026-01-01T10:00:00Z",
    updated_at: "2026-01-01T10:00:00Z",
    indexed_at: null,
    ...over,
  }) as Document;

const change = (over: Partial<DocumentChange>): DocumentChange => ({
  id: "d1",
  state: "processing",
  title: "Prices",
  kind: "file",
  external_id: null,
  failure_reason: null,
  revision: 1,
  page_count: 0,
  chunk_count: 0,
  website_id: null,
  changed_at: "2026-01-01T10:00:05Z",
  ...over,
});

describe("live document changes", () => {
  const other = listed({ id: "d2", title: "Hours", state: "ready", searchable: true });

  it("show a listed document's new state at once", () => {
    const { items, reload } = applyDocumentChange([listed({}), other], change({ state: "processing" }));
    expect(items.map((d) => d.state)).toEqual(["processing", "ready"]);
    expect(items[0]!.searchable).toBe(false);
    expect(reload).toBe(false);

    const ready = applyDocumentChange(items, change({ state: "ready", page_count: 3, chunk_count: 7, changed_at: "2026-01-01T10:00:09Z" }));
    expect(ready.items[0]).toMatchObject({ state: "ready", page_count: 3, chunk_count: 7, searchable: true });
    expect(ready.reload).toBe(true); // the detected language and the like come with the document
  });

  it("keep the previous version searchable when a new one fails", () => {
    const shown = listed({ state: "ready", searchable: true, revision: 1 });
    const { items } = applyDocumentChange([shown], change({ state: "failed", revision: 2, failure_reason: "The PDF is encrypted." }));
    expect(items[0]).toMatchObject({ state: "failed", revision: 2, searchable: true, failure_reason: "The PDF is encrypted." });
  });

  it("drop a deleted document, or one the filter no longer lets through", () => {
    expect(applyDocumentChange([listed({}), other], change({ state: "deleted" })).items).toEqual([other]);
    const onlyQueued = (c: DocumentChange) => c.state === "queued";
    expect(applyDocumentChange([listed({}), other], change({ state: "processing" }), onlyQueued).items).toEqual([other]);
    expect(applyDocumentChange([other], change({ state: "deleted" }))).toEqual({ items: [other], reload: false });
  });

  it("load the list again for a document it does not show yet", () => {
    expect(applyDocumentChange([other], change({ id: "new", state: "queued" }))).toEqual({ items: [other], reload: true });
    expect(applyDocumentChange([other], change({ id: "new" }), () => false).reload).toBe(false);
  });

  it("ignore a change older than the list", () => {
    const fresh = listed({ state: "ready", updated_at: "2026-01-01T10:01:00Z" });
    expect(applyDocumentChange([fresh], change({ state: "processing" })).items).toEqual([fresh]);
  });
});
