// The live stream of changes (GET /api/v1/events, server-sent events), read with fetch so
// that it carries the session like every other call, survives a refreshed session, and
// resumes where it left off (Last-Event-ID) after a dropped connection.
import { createParser } from "eventsource-parser";
import { useMemo, useRef } from "preact/hooks";
import { sessionFetch } from "./client";
import type { paths } from "./schema";

/** One change: of a conversation, or of a knowledge document's processing state. */
export type LiveEvent =
  paths["/api/v1/events"]["get"]["responses"][200]["content"]["text/event-stream"];
/** A change of a conversation the caller may see. */
export type ConversationChange = Exclude<LiveEvent, { kind: "document_changed" }>;
/** A knowledge document as of a change of its processing state. */
export type DocumentChange = Extract<LiveEvent, { kind: "document_changed" }>["document"];
export type LiveStatus = "connecting" | "live" | "reconnecting";
/** Subscribe to a stream's events; the returned function unsubscribes. */
export type Listen<T> = (listener: (event: T) => void) => () => void;
/** What a view following conversations is told: each change, or that some were missed. */
export type ConversationFeed = Listen<ConversationChange | "missed">;

/**
 * Hand each event of a stream to every part of a page that listens. Passing events through
 * state instead would keep only the last of several that arrive in one chunk of the stream.
 */
export function useListeners<T>(): { tell: (event: T) => void; listen: Listen<T> } {
  const listeners = useRef(new Set<(event: T) => void>());
  return useMemo(
    () => ({
      tell: (event: T) => listeners.current.forEach((listener) => listener(event)),
      listen: (listener: (event: T) => void) => {
        listeners.current.add(listener);
        return () => void listeners.current.delete(listener);
      },
    }),
    [],
  );
}

export interface LiveHandlers {
  onChange: (event: LiveEvent) => void;
  /** Changes were missed (the server could not replay them): reload what is shown. */
  onResync: () => void;
  onStatus: (status: LiveStatus) => void;
}

const MAX_BACKOFF_MS = 30_000;

/** Follow the stream until the returned function is called. */
export function followLive(handlers: LiveHandlers): () => void {
  const stop = new AbortController();
  let lastEventId: string | null = null;
  let retryMs = 3000;

  const run = async () => {
    let failures = 0;
    while (!stop.signal.aborted) {
      handlers.onStatus(failures ? "reconnecting" : "connecting");
      try {
        const headers: Record<string, string> = { Accept: "text/event-stream" };
        if (lastEventId) headers["Last-Event-ID"] = lastEventId;
        const response = await sessionFetch(
          new Request("/api/v1/events", {
            headers,
            credentials: "same-origin",
            signal: stop.signal,
          }),
        );
        if (!response.ok || !response.body) throw new Error(`HTTP ${response.status}`);
        handlers.onStatus("live");
        failures = 0;
        const parser = createParser({
          onEvent(message) {
            if (message.id) lastEventId = message.id;
            if (!message.data) return; // an id-only event moves the position on
            if (message.event === "resync") {
              handlers.onResync();
              return;
            }
            try {
              handlers.onChange(JSON.parse(message.data) as LiveEvent);
            } catch {
              // A malformed event is skipped; the next one still applies.
            }
          },
          onRetry(ms) {
            retryMs = ms;
          },
        });
        const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          parser.feed(value);
        }
      } catch {
        if (stop.signal.aborted) return;
      }
      failures += 1;
      handlers.onStatus("reconnecting");
      const wait = Math.min(retryMs * 2 ** Math.max(0, failures - 1), MAX_BACKOFF_MS);
      await new Promise((resolve) => setTimeout(resolve, wait));
    }
  };
  void run();
  return () => stop.abort();
}
