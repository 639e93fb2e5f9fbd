// Knowledge: what the AI answers from. Upload files or write a text, watch each document's
// processing state, delete, and try a search that shows exactly what the AI would receive.
import { useEffect, useState } from "preact/hooks";
import { api, errorWords, must, sessionFetch } from "../api/client";
import type { Schemas } from "../api/client";
import { Badge, Button, Empty, ErrorText, Field, PageHeader, useAction, useLoad } from "../components/ui";
import { useSession } from "../session";

type Document = Schemas["DocumentOut"];
const STATE_WORDS: Record<Document["state"], string> = {
  queued: "Queued",
  processing: "Processing",
  ready: "Ready",
  failed: "Failed",
};

async function upload(file: File, title: string): Promise<void> {
  const form = new FormData();
  form.append("file", file);
  if (title.trim()) form.append("title", title.trim());
  const response = await sessionFetch(
    new Request("/api/v1/knowledge/documents", { method: "POST", body: form, credentials: "same-origin" }),
  );
  if (!response.ok) throw errorWords(response.status, await response.json().catch(() => null));
}

function AddDocument(props: { onAdded: () => void }) {
  const [title, setTitle] = useState("");
  const [text, setText] = useState("");
  const [file, setFile] = useState<File | null>(null);
  const add = useAction(async () => {
    if (file) await upload(file, title);
    else must(await api.POST("/api/v1/knowledge/documents", { body: { title, text } }));
    setTitle("");
    setText("");
    setFile(null);
    props.onAdded();
  });
  return (
    <section class="panel">
      <h2>Add knowledge</h2>
      <form onSubmit={(e) => {
        e.preventDefault();
        void add.run();
      }}>
        <Field label="Title">
          {(id) => <input id={id} required={!file} value={title} onInput={(e) => setTitle(e.currentTarget.value)} />}
        </Field>
        <Field label="A file (PDF, Word, HTML, Markdown or text)">
          {(id) => <input id={id} type="file" accept=".pdf,.docx,.html,.htm,.md,.txt,text/*,application/pdf"
            onChange={(e) => setFile(e.currentTarget.files?.[0] ?? null)} />}
        </Field>
        {!file && (
          <Field label="…or write the text" hint="Opening hours, policies, prices: what customers ask about.">
            {(id) => <textarea id={id} rows={6} required value={text} onInput={(e) => setText(e.currentTarget.value)} />}
          </Field>
        )}
        <ErrorText error={add.error} />
        <Button type="submit" kind="primary" busy={add.busy}>{file ? "Upload" : "Add"}</Button>
      </form>
    </section>
  );
}

function TrySearch() {
  const [query, setQuery] = useState("");
  const [results, setResults] = useState<Schemas["ChunkOut"][] | null>(null);
  const search = useAction(async () => {
    setResults(must(await api.POST("/api/v1/knowledge/search", { body: { query, top_k: 5, min_score: 0 } })).results);
  });
  return (
    <section class="panel">
      <h2>Try a question</h2>
      <p class="muted">The passages the AI would get for it, best first.</p>
      <form class="row" onSubmit={(e) => {
        e.preventDefault();
        void search.run();
      }}>
        <label class="visually-hidden" for="knowledge-query">Question</label>
        <input id="knowledge-query" required placeholder="When are you open on Saturday?" value={query}
          onInput={(e) => setQuery(e.currentTarget.value)} />
        <Button type="submit" kind="primary" busy={search.busy}>Search</Button>
      </form>
      <ErrorText error={search.error} />
      {results && !results.length && <Empty>Nothing matches: the AI would hand this to a person.</Empty>}
      <ol class="cards results">
        {results?.map((r) => (
          <li key={r.chunk_id} class="card">
            <div class="card-head">
              <strong>{r.document_title}</strong>
              <span class="muted">score {r.score.toFixed(3)}</span>
            </div>
            {r.heading_path.length > 0 && <p class="muted">{r.heading_path.join(" › ")}</p>}
            <p class="text">{r.text}</p>
          </li>
        ))}
      </ol>
    </section>
  );
}

export function KnowledgePage() {
  const { isAdmin } = useSession();
  const documents = useLoad(async () => must(await api.GET("/api/v1/knowledge/documents", { params: { query: { limit: 100 } } })), []);
  const busy = documents.data?.items.some((d) => d.state === "queued" || d.state === "processing");
  useEffect(() => {
    if (!busy) return;
    const timer = setTimeout(documents.reload, 2000); // watch processing until it settles
    return () => clearTimeout(timer);
  }, [documents.data]);
  const remove = useAction(async (d: Document) => {
    if (!confirm(`Delete "${d.title}"? The AI stops using it at once.`)) return;
    must(await api.DELETE("/api/v1/knowledge/documents/{document_id}", { params: { path: { document_id: d.id } } }));
    documents.reload();
  });
  return (
    <section class="page knowledge">
      <PageHeader title="Knowledge" />
      <div class="panel-grid">
        <section class="panel">
          <h2>Documents</h2>
          <ErrorText error={documents.error || remove.error} />
          {documents.data && !documents.data.items.length && (
            <Empty>Nothing yet. Add what your customers ask about, and the AI answers from it.</Empty>
          )}
          <ul class="cards">
            {documents.data?.items.map((d) => (
              <li key={d.id} class="card">
                <div class="card-head">
                  <strong>{d.title}</strong>
                  <Badge tone={d.state === "ready" ? "ok" : d.state === "failed" ? "failed" : "neutral"}>
                    {STATE_WORDS[d.state]}
                  </Badge>
                </div>
                {d.failure_reason && <p class="error">{d.failure_reason}</p>}
                <p class="muted">
                  {d.kind} · {d.chunk_count} passages{d.page_count ? ` · ${d.page_count} pages` : ""}
                </p>
                {isAdmin && <Button kind="danger" onClick={() => void remove.run(d)}>Delete</Button>}
              </li>
            ))}
          </ul>
        </section>
        <div>
          {isAdmin && <AddDocument onAdded={documents.reload} />}
          <TrySearch />
        </div>
      </div>
    </section>
  );
}
