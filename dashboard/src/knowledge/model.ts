// The knowledge pages' pure logic (unit-tested): states in words, whether something is still
// being processed, a crawl's outcome in words, and a live document change applied to a list.
import type { Schemas } from "../api/client";
import type { DocumentChange } from "../api/live";
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

/** What a listed document or FAQ entry shares with a live document change. */
interface Tracked {
  id: string;
  state: Document["state"];
  failure_reason: string | null;
  revision: number;
  updated_at: string;
}

export interface Applied<T> {
  items: T[];
  /** The list should be loaded again: the change adds an item it does not show yet, or
   * changes what the event does not carry (an FAQ answer, a detected language). */
  reload: boolean;
}

/** A list after a live document change: a deleted document (or one the list's filter no
 * longer lets through) leaves it at once, a listed one takes its new state, and a change
 * older than what the list shows is ignored (the list was loaded after it). */
export function applyDocumentChange<T extends Tracked>(
  items: readonly T[],
  change: DocumentChange,
  belongs: (change: DocumentChange) => boolean = () => true,
): Applied<T> {
  const index = items.findIndex((i) => i.id === change.id);
  const shown = index < 0 ? undefined : items[index];
  if (change.state === "deleted" || !belongs(change)) {
    return { items: shown ? items.filter((i) => i.id !== change.id) : [...items], reload: false };
  }
  if (!shown) return { items: [...items], reload: true };
  if (Date.parse(change.changed_at) < Date.parse(shown.updated_at)) {
    return { items: [...items], reload: false };
  }
  const merged: T = {
    ...shown,
    state: change.state,
    failure_reason: change.failure_reason,
    revision: change.revision,
    updated_at: change.changed_at,
    ...("chunk_count" in shown
      ? {
          title: change.title,
          page_count: change.page_count,
          chunk_count: change.chunk_count,
          searchable: change.state === "ready" || Boolean((shown as Tracked & { searchable?: boolean }).searchable),
        }
      : {}),
  };
  const next = [...items];
  next[index] = merged;
  return { items: next, reload: change.revision !== shown.revision || change.state === "ready" };
}
