// Writing to the customer (a reply, or a template once the 24-hour window has closed) or a
// private note to the team. Drafts survive switching conversations and an ended session.
import { useState } from "preact/hooks";
import { api, must } from "../api/client";
import type { Conversation, Message } from "../format";
import { Button, ErrorText, Field, useAction } from "./ui";

type Mode = "reply" | "note";
const drafts = new Map<string, string>();
const RECENT_TEMPLATES_KEY = "parley.recentTemplates"; // names only; nothing secret

function recentTemplates(): { name: string; language: string }[] {
  try {
    return JSON.parse(localStorage.getItem(RECENT_TEMPLATES_KEY) ?? "[]");
  } catch {
    return [];
  }
}

function rememberTemplate(name: string, language: string) {
  const list = [{ name, language }, ...recentTemplates().filter((t) => t.name !== name)];
  localStorage.setItem(RECENT_TEMPLATES_KEY, JSON.stringify(list.slice(0, 10)));
}

function TemplatePicker(props: { conversation: Conversation; onSent: (m: Message) => void }) {
  const recent = recentTemplates();
  const [name, setName] = useState(recent[0]?.name ?? "");
  const [language, setLanguage] = useState(recent[0]?.language ?? "en_US");
  const [parameters, setParameters] = useState<string[]>([]);
  const action = useAction(async () => {
    const sent = must(
      await api.POST("/api/v1/conversations/{conversation_id}/templates", {
        params: {
          path: { conversation_id: props.conversation.id },
          header: { "Idempotency-Key": crypto.randomUUID() },
        },
        body: { name: name.trim(), language: language.trim(), parameters: parameters.filter(Boolean) },
      }),
    );
    rememberTemplate(name.trim(), language.trim());
    setParameters([]);
    props.onSent(sent);
  });
  return (
    <form
      class="template-picker"
      onSubmit={(e) => {
        e.preventDefault();
        void action.run();
      }}
    >
      <p class="window-closed" role="status">
        More than 24 hours have passed since the customer's last message: WhatsApp allows only
        an approved template until they write again.
      </p>
      <div class="row">
        <Field label="Template">
          {(id) => (
            <>
              <input id={id} required list={`${id}-recent`} pattern="[a-z0-9_]+" value={name}
                onInput={(e) => setName(e.currentTarget.value)} />
              <datalist id={`${id}-recent`}>
                {recent.map((t) => (
                  <option key={t.name} value={t.name} />
                ))}
              </datalist>
            </>
          )}
        </Field>
        <Field label="Language">
          {(id) => (
            <input id={id} required value={language} size={6}
              onInput={(e) => setLanguage(e.currentTarget.value)} />
          )}
        </Field>
      </div>
      {parameters.map((value, i) => (
        <Field key={i} label={`Parameter {{${i + 1}}}`}>
          {(id) => (
            <input id={id} value={value} onInput={(e) => {
              const next = [...parameters];
              next[i] = e.currentTarget.value;
              setParameters(next);
            }} />
          )}
        </Field>
      ))}
      <div class="row">
        <Button onClick={() => setParameters([...parameters, ""])}>Add parameter</Button>
        <Button type="submit" kind="primary" busy={action.busy}>
          Send template
        </Button>
      </div>
      <ErrorText error={action.error} />
    </form>
  );
}

export function Composer(props: { conversation: Conversation; onSent: (m: Message) => void }) {
  const { conversation } = props;
  const [mode, setMode] = useState<Mode>("reply");
  const key = `${conversation.id}:${mode}`;
  const [text, setTextState] = useState(drafts.get(key) ?? "");
  const setText = (value: string) => {
    drafts.set(key, value);
    setTextState(value);
  };
  const switchMode = (next: Mode) => {
    setMode(next);
    setTextState(drafts.get(`${conversation.id}:${next}`) ?? "");
  };
  const action = useAction(async () => {
    const body = { text };
    const path = { conversation_id: conversation.id };
    const sent =
      mode === "note"
        ? must(await api.POST("/api/v1/conversations/{conversation_id}/notes", { params: { path }, body }))
        : must(
            await api.POST("/api/v1/conversations/{conversation_id}/messages", {
              // The same key on a repeat (double click, retry) never sends twice.
              params: { path, header: { "Idempotency-Key": crypto.randomUUID() } },
              body,
            }),
          );
    setText("");
    props.onSent(sent);
  });
  const closedWindow = mode === "reply" && !conversation.window.open && conversation.window.closes_at;
  const willTakeOver = mode === "reply" && conversation.state !== "human";
  return (
    <div class="composer">
      <div class="composer-tabs" role="tablist" aria-label="Write">
        {(["reply", "note"] as const).map((m) => (
          <button key={m} type="button" role="tab" aria-selected={mode === m} class="tab"
            onClick={() => switchMode(m)}>
            {m === "reply" ? "Reply" : "Private note"}
          </button>
        ))}
      </div>
      {closedWindow ? (
        <TemplatePicker conversation={conversation} onSent={props.onSent} />
      ) : (
        <form
          class={`composer-form composer-${mode}`}
          onSubmit={(e) => {
            e.preventDefault();
            if (text.trim()) void action.run();
          }}
        >
          <label class="visually-hidden" for="composer-text">
            {mode === "reply" ? "Reply to the customer" : "Private note for your team"}
          </label>
          <textarea
            id="composer-text"
            rows={3}
            maxLength={4096}
            placeholder={
              mode === "reply"
                ? "Write to the customer… (Ctrl+Enter sends)"
                : "Only your team sees notes… (Ctrl+Enter saves)"
            }
            value={text}
            onInput={(e) => setText(e.currentTarget.value)}
            onKeyDown={(e) => {
              if (e.key === "Enter" && (e.ctrlKey || e.metaKey) && text.trim()) {
                e.preventDefault();
                void action.run();
              }
            }}
          />
          <div class="composer-actions">
            {willTakeOver && <span class="hint">Sending takes the conversation over from the AI.</span>}
            <Button type="submit" kind="primary" busy={action.busy} disabled={!text.trim()}>
              {mode === "reply" ? "Send" : "Add note"}
            </Button>
          </div>
          <ErrorText error={action.error} />
        </form>
      )}
    </div>
  );
}
