// The knowledge pages' pure logic (unit-tested): states in words, whether something is still
// being processed (so the page keeps watching), and a crawl's outcome in words.
import type { Schemas } from "../api/client";
import { count, shortTime } from "../format";

export type Document = Schemas["DocumentOut"];
export type FaqEntry = Schemas["FaqOut"];
export type Website = Schemas["WebsiteOut"];

export const DOCUMENT_STATES: Record<Document["state"], string> = {
  queued: "Queued",
  processing: "Processing",
  ready: "Ready",
  failed: "Failed",
};

export const WEBSITE_STATES: Record<Website["state"], string> = {
  queued: "Queued",
  crawling: "Crawling",
  done: "Imported",
  failed: "Failed",
};

export const KINDS: Record<Document["kind"], string> = {
  text: "Text",
  file: "File",
  faq: "FAQ entry",
  web_page: "Web page",
};

/** The badge tone of a document, FAQ entry or website state. */
export function stateTone(state: string): "ok" | "failed" | "neutral" {
  if (state === "ready" || state === "done") return "ok";
  if (state === "failed") return "failed";
  return "neutral";
}

/** Whether any of these is still on its way (queued, processing, crawling). */
export function settling(items: readonly { state: string }[] | undefined): boolean {
  return (items ?? []).some((i) => i.state === "queued" || i.state === "processing" || i.state === "crawling");
}

/** What a document's failure means for the AI, in words. */
export function failureWords(d: Pick<Document, "state" | "failure_reason" | "searchable">): string | null {
  if (d.state !== "failed") return null;
  const reason = d.failure_reason ?? "Processing failed.";
  return d.searchable ? `${reason} The previous version is still used.` : reason;
}

/** The latest crawl of a website, in words. */
export function crawlWords(w: Website, now: Date = new Date()): string {
  if (w.state === "queued") return `Waiting to start (up to ${w.page_limit} pages).`;
  if (w.state === "crawling") {
    return `Crawling: ${w.pages_found} of at most ${w.page_limit} pages so far.`;
  }
  const pages = count(w.pages_found, "page");
  const parts = [`${w.pages_changed} new or changed`];
  if (w.pages_removed) parts.push(`${w.pages_removed} removed`);
  if (w.pages_skipped) parts.push(`${w.pages_skipped} skipped`);
  const when = w.crawl_finished_at ? ` · ${shortTime(w.crawl_finished_at, now)}` : "";
  const done = `${pages} (${parts.join(", ")})${when}`;
  return w.state === "failed" ? `Stopped: ${w.failure_reason ?? "the crawl failed"}. ${done}` : done;
}
