import { describe, expect, it } from "vitest";
import type { Website } from "./model";
import { crawlWords, failureWords, settling, stateTone } from "./model";

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
