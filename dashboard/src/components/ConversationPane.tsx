// One conversation: who it is with, its state and assignee (always in view), the team's
// actions, the timeline (kept live), and the composer.
import { useEffect, useRef, useState } from "preact/hooks";
import { api, must } from "../api/client";
import type { ConversationFeed } from "../api/live";
import type { Conversation, Message } from "../format";
import { STATE_LABELS, contactName } from "../format";
import { latest, placeMessage } from "../inbox/model";
import { useSession } from "../session";
import { Composer } from "./Composer";
import { MessageBubble } from "./MessageBubble";
import { Badge, Button, ErrorText, useAction } from "./ui";

const PAGE = 50;
type Action = "takeover" | "release" | "close" | "reopen";

function Actions(props: { conversation: Conversation; onChanged: (c: Conversation) => void }) {
  const { directory } = useSession();
  const c = props.conversation;
  const [newLabel, setNewLabel] = useState("");
  const path = { conversation_id: c.id };
  const act = useAction(async (action: Action) => {
    const url = `/api/v1/conversations/{conversation_id}/${action}` as const;
    props.onChanged(must(await api.POST(url, { params: { path } })));
  });
  const assign = useAction(async (user_id: string | null, team_id: string | null) => {
    props.onChanged(
      must(
        await api.POST("/api/v1/conversations/{conversation_id}/assign", {
          params: { path },
          body: { user_id, team_id },
        }),
      ),
    );
  });
  const labels = useAction(async (add: string | null, remove: string | null) => {
    const result = add
      ? await api.POST("/api/v1/conversations/{conversation_id}/labels", {
          params: { path },
          body: { labels: [add] },
        })
      : await api.DELETE("/api/v1/conversations/{conversation_id}/labels/{label}", {
          params: { path: { ...path, label: remove ?? "" } },
        });
    props.onChanged(must(result));
    setNewLabel("");
  });
  return (
    <div class="actions" role="group" aria-label="Actions">
      <div class="row">
        {(c.state === "ai" || c.state === "waiting_human") && (
          <Button kind="primary" busy={act.busy} onClick={() => void act.run("takeover")}>
            Take over
          </Button>
        )}
        {(c.state === "human" || c.state === "waiting_human") && (
          <Button busy={act.busy} onClick={() => void act.run("release")}>
            Hand back to AI
          </Button>
        )}
        {c.state !== "closed" ? (
          <Button busy={act.busy} onClick={() => void act.run("close")}>
            Close
          </Button>
        ) : (
          <Button kind="primary" busy={act.busy} onClick={() => void act.run("reopen")}>
            Reopen
          </Button>
        )}
        <label class="inline-select">
          <span>Assignee</span>
          <select value={c.assignee_user_id ?? ""} disabled={assign.busy}
            onChange={(e) => void assign.run(e.currentTarget.value || null, c.assignee_team_id)}>
            <option value="">Nobody</option>
            {directory.users.filter((u) => u.status === "active").map((u) => (
              <option key={u.id} value={u.id}>
                {directory.userName(u.id)}
              </option>
            ))}
          </select>
        </label>
        <label class="inline-select">
          <span>Team</span>
          <select value={c.assignee_team_id ?? ""} disabled={assign.busy}
            onChange={(e) => void assign.run(c.assignee_user_id, e.currentTarget.value || null)}>
            <option value="">No team</option>
            {directory.teams.map((t) => (
              <option key={t.id} value={t.id}>
                {t.name}
              </option>
            ))}
          </select>
        </label>
      </div>
      <div class="row labels">
        {c.labels.map((label) => (
          <span key={label} class="chip">
            {label}
            <button type="button" aria-label={`Remove label ${label}`}
              onClick={() => void labels.run(null, label)}>
              ×
            </button>
          </span>
        ))}
        <form
          class="add-label"
          onSubmit={(e) => {
            e.preventDefault();
            if (newLabel.trim()) void labels.run(newLabel.trim(), null);
          }}
        >
          <label class="visually-hidden" for="new-label">
            New label
          </label>
          <input id="new-label" placeholder="Add label" maxLength={50} value={newLabel}
            onInput={(e) => setNewLabel(e.currentTarget.value)} />
        </form>
      </div>
      <ErrorText error={act.error || assign.error || labels.error} />
    </div>
  );
}

export function ConversationPane(props: {
  conversationId: string;
  /** Every change of the conversations the person may see, as it happens. */
  follow: ConversationFeed;
  onBack: () => void;
  onChanged: (c: Conversation) => void;
}) {
  const { directory } = useSession();
  const [conversation, setConversation] = useState<Conversation | null>(null);
  const [timeline, setTimeline] = useState<Message[]>([]);
  const [earlier, setEarlier] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const bottom = useRef<HTMLDivElement>(null);
  // The pane's reads run one after another: a read started before a change could otherwise
  // answer after the read started by that change, and show the older state for good.
  // A live refresh that fails is left to the next change (or the stream's resync).
  const reads = useRef<Promise<void>>(Promise.resolve());
  const inOrder = (read: () => Promise<void>, failed: (e: unknown) => void = () => {}) => {
    reads.current = reads.current.then(read).catch(failed);
  };
  const path = { conversation_id: props.conversationId };

  const changed = (fresh: Conversation) => {
    setConversation((shown) => latest(shown, fresh));
    props.onChanged(fresh);
  };

  /** Merge a page of messages (newest first from `cursor`) in; its next page's cursor. */
  const loadPage = async (cursor: string | null) => {
    const page = must(
      await api.GET("/api/v1/conversations/{conversation_id}/messages", {
        params: { path, query: { order: "desc", limit: PAGE, ...(cursor ? { cursor } : {}) } },
      }),
    );
    setTimeline((old) => page.items.reduce(placeMessage, old));
    return page.next_cursor;
  };

  const loadConversation = async () => {
    const found = must(await api.GET("/api/v1/conversations/{conversation_id}", { params: { path } }));
    setConversation((shown) => latest(shown, found));
    return found;
  };

  useEffect(() => {
    inOrder(async () => {
      const found = await loadConversation();
      setEarlier(await loadPage(null));
      if (found.unread_count > 0) {
        const read = await api.POST("/api/v1/conversations/{conversation_id}/read", { params: { path } });
        if (read.data) changed(read.data);
      }
      document.title = `${contactName(found.contact)} · Parley`;
    }, setError);
    // Live: every change of this conversation (several can arrive at once), in order.
    return props.follow((change) => {
      if (change === "missed") {
        inOrder(async () => {
          await loadConversation();
          await loadPage(null); // the newest messages; earlier pages stay as they are
        });
        return;
      }
      if (change.conversation_id !== props.conversationId) return;
      inOrder(async () => {
        if (change.message_id) {
          const message = await api.GET("/api/v1/conversations/{conversation_id}/messages/{message_id}", {
            params: { path: { ...path, message_id: change.message_id } },
          });
          if (message.data) setTimeline((old) => placeMessage(old, message.data));
        }
        await loadConversation();
      });
    });
  }, [props.conversationId]);

  useEffect(() => {
    bottom.current?.scrollIntoView({ block: "end" });
  }, [timeline.length]);

  if (error) return <ErrorText error={error} />;
  if (!conversation) return <p class="loading">Loading…</p>;
  const c = conversation;
  const contact = c.contact;
  return (
    <article class="conversation">
      <header class="conversation-header">
        <button type="button" class="btn btn-ghost back" onClick={props.onBack}>
          ← Conversations
        </button>
        <div class="who">
          <h2>{contactName(contact)}</h2>
          <p class="muted">
            {contact.wa_id ? `+${contact.wa_id}` : contact.bsuid}
            {contact.username ? ` · @${contact.username}` : ""}
          </p>
        </div>
        <div class="status" aria-live="polite">
          <Badge tone={c.state}>{STATE_LABELS[c.state]}</Badge>
          <span class="assignee">
            {c.assignee_user_id ? directory.userName(c.assignee_user_id) : "Unassigned"}
            {c.assignee_team_id ? ` · ${directory.teamName(c.assignee_team_id)}` : ""}
          </span>
          {c.ai_request_in_flight && <span class="typing">AI is writing…</span>}
        </div>
      </header>
      <Actions conversation={c} onChanged={changed} />
      <div class="timeline-scroll">
        {earlier && (
          <Button kind="ghost" onClick={() => inOrder(async () => setEarlier(await loadPage(earlier)))}>
            Show earlier messages
          </Button>
        )}
        <ol class="timeline" aria-label="Messages">
          {timeline.map((m) => (
            <MessageBubble key={m.id} message={m} userName={directory.userName} />
          ))}
        </ol>
        <div ref={bottom} />
      </div>
      <Composer
        conversation={c}
        onSent={(m) => {
          setTimeline((old) => placeMessage(old, m));
          void api.GET("/api/v1/conversations/{conversation_id}", { params: { path } }).then(
            (r) => r.data && changed(r.data),
          );
        }}
      />
    </article>
  );
}
