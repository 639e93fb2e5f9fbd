// The inbox: views with unread counts, team and label filters, search by contact, the
// conversation list kept live by the event stream, and the open conversation.
import { useCallback, useEffect, useRef, useState } from "preact/hooks";
import { useLocation } from "preact-iso";
import { api, must } from "../api/client";
import type { ConversationChange, LiveStatus } from "../api/live";
import { followLive, useListeners } from "../api/live";
import { ConversationPane } from "../components/ConversationPane";
import { Badge, Empty, ErrorText } from "../components/ui";
import type { Conversation } from "../format";
import { STATE_LABELS, contactName, shortTime } from "../format";
import type { Filter, ViewId } from "../inbox/model";
import { VIEWS, listQuery, placeConversation } from "../inbox/model";
import { useSession } from "../session";

const PAGE_SIZE = 30;
const COUNT_LIMIT = 100;

/** Conversations with unread messages, per view (at most COUNT_LIMIT, then "99+"). */
function useUnreadCounts(refreshKey: number): Partial<Record<ViewId, string>> {
  const [counts, setCounts] = useState<Partial<Record<ViewId, string>>>({});
  useEffect(() => {
    const timer = setTimeout(async () => {
      const entries = await Promise.all(
        VIEWS.filter((v) => v.id !== "closed").map(async (view) => {
          const result = await api.GET("/api/v1/conversations", {
            params: { query: { ...listQuery({ view: view.id }), unread: true, limit: COUNT_LIMIT } },
          });
          if (!result.data) return [view.id, ""] as const;
          const n = result.data.items.length;
          return [view.id, result.data.next_cursor ? `${COUNT_LIMIT - 1}+` : n ? String(n) : ""] as const;
        }),
      );
      setCounts(Object.fromEntries(entries));
    }, 300); // live changes come in bursts: count once they settle
    return () => clearTimeout(timer);
  }, [refreshKey]);
  return counts;
}

export function InboxPage(props: { conversationId?: string | undefined }) {
  const { me, directory } = useSession();
  const { route } = useLocation();
  const [filter, setFilter] = useState<Filter>({ view: "open" });
  const [search, setSearch] = useState("");
  const [items, setItems] = useState<Conversation[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [loading, setLoading] = useState(true);
  const [status, setStatus] = useState<LiveStatus>("connecting");
  const [changes, setChanges] = useState(0);
  // The open conversation follows the stream through this: it is told every change.
  const pane = useListeners<ConversationChange | "missed">();
  const [labels, setLabels] = useState<string[]>([]);
  const filterRef = useRef(filter);
  filterRef.current = filter;
  const counts = useUnreadCounts(changes);

  const load = useCallback(async (wanted: Filter, after: string | null) => {
    setLoading(true);
    try {
      const page = must(
        await api.GET("/api/v1/conversations", {
          params: { query: { ...listQuery(wanted), limit: PAGE_SIZE, ...(after ? { cursor: after } : {}) } },
        }),
      );
      if (filterRef.current !== wanted) return;
      setItems((old) => (after ? [...old, ...page.items] : page.items));
      setCursor(page.next_cursor);
      setLabels((old) => [...new Set([...old, ...page.items.flatMap((c) => c.labels)])].sort());
      setError(null);
    } catch (e) {
      setError(e);
    } finally {
      setLoading(false);
    }
  }, []);

  useEffect(() => {
    void load(filter, null);
  }, [filter, load]);

  // Search as the person types, once they pause.
  useEffect(() => {
    const timer = setTimeout(() => {
      if ((filter.search ?? "") !== search) setFilter({ ...filterRef.current, search });
    }, 250);
    return () => clearTimeout(timer);
  }, [search]);

  useEffect(
    () =>
      followLive({
        onStatus: setStatus,
        onResync: () => {
          void load(filterRef.current, null);
          setChanges((n) => n + 1);
          pane.tell("missed");
        },
        onChange: async (event) => {
          if (event.kind === "document_changed") return; // the knowledge page's
          pane.tell(event);
          setChanges((n) => n + 1);
          const result = await api.GET("/api/v1/conversations/{conversation_id}", {
            params: { path: { conversation_id: event.conversation_id } },
          });
          if (result.response.status === 404) {
            // No longer visible to me (assigned elsewhere): drop it.
            setItems((old) => old.filter((c) => c.id !== event.conversation_id));
            return;
          }
          const fresh = result.data;
          if (!fresh) return;
          setItems((old) => placeConversation(old, fresh, filterRef.current, me.user?.id ?? null));
          setLabels((old) => [...new Set([...old, ...fresh.labels])].sort());
        },
      }),
    [load, me],
  );

  return (
    <div class={`inbox ${props.conversationId ? "has-open" : ""}`}>
      <aside class="inbox-filters" aria-label="Conversation views">
        <h2 class="visually-hidden">Views</h2>
        <ul class="views">
          {VIEWS.map((view) => (
            <li key={view.id}>
              <button
                type="button"
                class="view"
                aria-pressed={filter.view === view.id}
                onClick={() => setFilter({ ...filter, view: view.id })}
              >
                <span>{view.label}</span>
                {counts[view.id] && (
                  <span class="count" aria-label={`${counts[view.id]} unread`}>
                    {counts[view.id]}
                  </span>
                )}
              </button>
            </li>
          ))}
        </ul>
        <label class="filter-select">
          Team
          <select
            value={filter.teamId ?? ""}
            onChange={(e) => setFilter({ ...filter, teamId: e.currentTarget.value || undefined })}
          >
            <option value="">Any team</option>
            {directory.teams.map((t) => (
              <option key={t.id} value={t.id}>
                {t.name}
              </option>
            ))}
          </select>
        </label>
        <label class="filter-select">
          Label
          <select
            value={filter.label ?? ""}
            onChange={(e) => setFilter({ ...filter, label: e.currentTarget.value || undefined })}
          >
            <option value="">Any label</option>
            {labels.map((l) => (
              <option key={l} value={l}>
                {l}
              </option>
            ))}
          </select>
        </label>
        <p class={`live-status live-${status}`} role="status">
          {status === "live" ? "● Live" : status === "connecting" ? "Connecting…" : "Reconnecting…"}
        </p>
      </aside>
      <section class="inbox-list" aria-label="Conversations">
        <div class="search">
          <label class="visually-hidden" for="inbox-search">
            Search by contact
          </label>
          <input
            id="inbox-search"
            type="search"
            placeholder="Search by name or number"
            value={search}
            onInput={(e) => setSearch(e.currentTarget.value)}
          />
        </div>
        <ErrorText error={error} />
        {!loading && !items.length && !error && (
          <Empty>
            {filter.search
              ? "No conversation with such a contact."
              : "No conversations here yet. Customers who write to your WhatsApp number appear here."}
          </Empty>
        )}
        <ul class="conversation-list">
          {items.map((c) => (
            <li key={c.id}>
              <a
                href={`/app/conversations/${c.id}`}
                class={`conversation-row ${c.id === props.conversationId ? "selected" : ""} ${c.unread_count ? "unread" : ""}`}
                aria-current={c.id === props.conversationId ? "true" : undefined}
              >
                <span class="row-top">
                  <span class="row-name">{contactName(c.contact)}</span>
                  <time dateTime={c.last_activity_at}>{shortTime(c.last_activity_at)}</time>
                </span>
                <span class="row-preview">{c.last_message_preview ?? ""}</span>
                <span class="row-meta">
                  <Badge tone={c.state}>{STATE_LABELS[c.state]}</Badge>
                  {c.assignee_user_id && (
                    <span class="row-assignee">{directory.userName(c.assignee_user_id)}</span>
                  )}
                  {c.unread_count > 0 && (
                    <span class="count" aria-label={`${c.unread_count} unread`}>
                      {c.unread_count}
                    </span>
                  )}
                </span>
              </a>
            </li>
          ))}
        </ul>
        {cursor && (
          <button type="button" class="btn btn-ghost more" disabled={loading}
            onClick={() => void load(filter, cursor)}>
            Show more
          </button>
        )}
      </section>
      <section class="inbox-conversation" aria-label="Conversation">
        {props.conversationId ? (
          <ConversationPane
            key={props.conversationId}
            conversationId={props.conversationId}
            follow={pane.listen}
            onBack={() => route("/app")}
            onChanged={(fresh) =>
              setItems((old) => placeConversation(old, fresh, filterRef.current, me.user?.id ?? null))
            }
          />
        ) : (
          <Empty>Choose a conversation.</Empty>
        )}
      </section>
    </div>
  );
}
