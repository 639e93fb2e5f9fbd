// Knowledge: what the AI answers from. Documents (files and texts, with their processing
// state and failure reasons), FAQ entries (add, edit, delete, import a CSV), website imports
// (start URL, page limit, crawl again, their pages), and a search that shows exactly what the
// AI would receive. Agents read and search; owners and admins change. Documents and FAQ
// entries follow their processing state on the live stream (GET /api/v1/events); while the
// stream is down, lists with something in progress are loaded again every 30 seconds.
import type { ComponentChildren } from "preact";
import { createContext } from "preact";
import { useContext, useEffect, useMemo, useRef, useState } from "preact/hooks";
import { ApiError, api, detailWords, errorWords, must, sessionFetch } from "../api/client";
import type { Schemas } from "../api/client";
import type { DocumentChange, Listen } from "../api/live";
import { followLive, useListeners } from "../api/live";
import { Badge, Button, Empty, ErrorText, Field, PageHeader, Tabs, useAction, useLoad } from "../components/ui";
import type { Applied, Document, FaqEntry, Website } from "../knowledge/model";
import {
  DOCUMENT_STATES,
  KINDS,
  WEBSITE_STATES,
  applyDocumentChange,
  crawlWords,
  failureWords,
  settling,
  stateTone,
} from "../knowledge/model";
import { count } from "../format";
import { useSession } from "../session";

const TABS = [
  { path: "/app/knowledge", label: "Documents" },
  { path: "/app/knowledge/faq", label: "FAQ" },
  { path: "/app/knowledge/websites", label: "Websites" },
];
// Website crawls are not on the live stream: their list is loaded again this often while a
// crawl runs. Lists of documents are, and fall back to this slower poll while it is down.
const WATCH_MS = 2000;
const FALLBACK_MS = 30_000;
// Changes that need the list loaded again (a new document, say) are gathered this long.
const RELOAD_AFTER_MS = 1000;

interface KnowledgeFeed {
  /** Whether the live stream is up (else lists poll). */
  live: boolean;
  /** Hear each document change, and "resync" when changes were missed; returns the stop. */
  listen: Listen<DocumentChange | "resync">;
}

const Feed = createContext<KnowledgeFeed>({ live: false, listen: () => () => undefined });

/** The page's one live stream, shared by its lists. */
function useKnowledgeFeed(): KnowledgeFeed {
  const { tell, listen } = useListeners<DocumentChange | "resync">();
  const [live, setLive] = useState(false);
  useEffect(
    () =>
      followLive({
        onStatus: (status) => setLive(status === "live"),
        onResync: () => tell("resync"),
        onChange: (event) => {
          if (event.kind === "document_changed") tell(event.document);
        },
      }),
    [],
  );
  return useMemo(() => ({ live, listen }), [live]);
}

/** Load a list, and load it again every two seconds while something in it is on its way. */
function useWatched<T>(load: () => Promise<T>, deps: unknown[], busy: (data: T) => boolean) {
  const loaded = useLoad(load, deps);
  const watching = loaded.data !== undefined && busy(loaded.data);
  useEffect(() => {
    if (!watching) return;
    const timer = setTimeout(loaded.reload, WATCH_MS);
    return () => clearTimeout(timer);
  }, [loaded.data, watching]);
  return loaded;
}

/** Load a list of documents (or FAQ entries) and keep it current from the live stream: each
 * change applied as it comes (`apply`), the list loaded again when a change needs it or
 * changes were missed, and every 30 seconds while the stream is down and something in the
 * list is on its way. */
function useFollowed<T>(
  load: () => Promise<T>,
  deps: unknown[],
  busy: (data: T) => boolean,
  apply: (data: T, change: DocumentChange) => { data: T; reload: boolean },
) {
  const feed = useContext(Feed);
  const loaded = useLoad(load, deps);
  const [data, setData] = useState<T | undefined>(undefined);
  const shown = useRef<T | undefined>(undefined);
  useEffect(() => {
    shown.current = loaded.data;
    setData(loaded.data);
  }, [loaded.data]);
  const pending = useRef<ReturnType<typeof setTimeout> | null>(null);
  const reloadSoon = () => {
    if (pending.current) return;
    pending.current = setTimeout(() => {
      pending.current = null;
      loaded.reload();
    }, RELOAD_AFTER_MS);
  };
  useEffect(() => () => void (pending.current && clearTimeout(pending.current)), []);
  useEffect(
    () =>
      feed.listen((change) => {
        if (change === "resync") return loaded.reload();
        if (shown.current === undefined) return;
        const applied = apply(shown.current, change);
        shown.current = applied.data;
        setData(applied.data);
        if (applied.reload) reloadSoon();
      }),
    [feed.listen, ...deps],
  );
  const watching = !feed.live && data !== undefined && busy(data);
  useEffect(() => {
    if (!watching) return;
    const timer = setTimeout(loaded.reload, FALLBACK_MS);
    return () => clearTimeout(timer);
  }, [data, watching]);
  return { ...loaded, data };
}

/** `apply` for a list of documents or FAQ entries (with its other fields kept). */
function inList<I extends Parameters<typeof applyDocumentChange>[0][number], L extends { items: I[] }>(
  belongs: (change: DocumentChange) => boolean = () => true,
) {
  return (data: L, change: DocumentChange) => {
    const applied: Applied<I> = applyDocumentChange(data.items, change, belongs);
    return { data: { ...data, items: applied.items }, reload: applied.reload };
  };
}

/** Every page of a cursor-paged list up to `pages` pages; `more` says whether there are more. */
async function pagesOf<T>(
  pages: number,
  fetchPage: (cursor: string | undefined) => Promise<{ items: T[]; next_cursor: string | null }>,
): Promise<{ items: T[]; more: boolean }> {
  const items: T[] = [];
  let cursor: string | undefined;
  for (let n = 0; n < pages; n++) {
    const page = await fetchPage(cursor);
    items.push(...page.items);
    if (!page.next_cursor) return { items, more: false };
    cursor = page.next_cursor;
  }
  return { items, more: true };
}

/** A web address to link to: only http(s), never a script URL from data. */
function safeHref(uri: string | null | undefined): string | null {
  return uri && /^https?:\/\//i.test(uri) ? uri : null;
}

function StateBadge(props: { state: string; words: string }) {
  return <Badge tone={stateTone(props.state)}>{props.words}</Badge>;
}

export function KnowledgePage(props: { path: string }) {
  const current = [...TABS].reverse().find((t) => props.path.startsWith(t.path)) ?? TABS[0]!;
  const feed = useKnowledgeFeed();
  return (
    <Feed.Provider value={feed}>
      <section class="page knowledge">
        <PageHeader title="Knowledge" />
        <Tabs label="Knowledge" tabs={TABS} current={current} />
        <div class="panel-grid knowledge-grid">
          <div>
            {current.path === "/app/knowledge" && <Documents />}
            {current.path.endsWith("/faq") && <Faq />}
            {current.path.endsWith("/websites") && <Websites />}
          </div>
          <TrySearch />
        </div>
      </section>
    </Feed.Provider>
  );
}

// ------------------------------------------------------------------------------ documents

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
  const [fileKey, setFileKey] = useState(0);
  const add = useAction(async () => {
    if (file) await upload(file, title);
    else must(await api.POST("/api/v1/knowledge/documents", { body: { title, text } }));
    setTitle("");
    setText("");
    setFile(null);
    setFileKey((k) => k + 1); // a fresh, empty file input
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
        <Field label="A file (PDF, Word, HTML, Markdown or text)" hint="Up to 20 MB.">
          {(id) => <input key={fileKey} id={id} type="file" accept=".pdf,.docx,.html,.htm,.md,.txt,text/*,application/pdf"
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

function DocumentCard(props: { document: Document; canDelete: boolean; onDelete: (d: Document) => void }) {
  const d = props.document;
  const href = safeHref(d.source_uri);
  const failure = failureWords(d);
  return (
    <li class="card">
      <div class="card-head">
        <strong>{d.title}</strong>
        <StateBadge state={d.state} words={DOCUMENT_STATES[d.state]} />
      </div>
      {failure && <p class="error">{failure}</p>}
      <p class="muted">
        {KINDS[d.kind]} · {count(d.chunk_count, "passage")}{d.page_count ? ` · ${count(d.page_count, "page")}` : ""}
        {d.revision > 1 ? ` · version ${d.revision}` : ""}
        {d.language ? ` · ${d.language}` : ""}
      </p>
      {href && (
        <p class="source">
          <a href={href} target="_blank" rel="noopener noreferrer">{d.source_uri}</a>
        </p>
      )}
      {props.canDelete && <Button kind="danger" onClick={() => props.onDelete(d)}>Delete</Button>}
    </li>
  );
}

type KindFilter = "" | Document["kind"];
type StateFilter = "" | Document["state"];

function Documents() {
  const { isAdmin } = useSession();
  const [kind, setKind] = useState<KindFilter>("");
  const [state, setState] = useState<StateFilter>("");
  const [pages, setPages] = useState(1);
  const documents = useFollowed(
    () =>
      pagesOf(pages, async (cursor) =>
        must(await api.GET("/api/v1/knowledge/documents", {
          params: {
            query: {
              limit: 50,
              ...(cursor ? { cursor } : {}),
              ...(kind ? { kind: [kind] } : {}),
              ...(state ? { state: [state] } : {}),
            },
          },
        })),
      ),
    [kind, state, pages],
    (data) => settling(data.items),
    inList((c) => (!kind || c.kind === kind) && (!state || c.state === state)),
  );
  const remove = useAction(async (d: Document) => {
    if (!confirm(`Delete "${d.title}"? The AI stops using it at once.`)) return;
    must(await api.DELETE("/api/v1/knowledge/documents/{document_id}", { params: { path: { document_id: d.id } } }));
    documents.reload();
  });
  return (
    <>
      <section class="panel">
        <div class="card-head">
          <h2>Documents</h2>
          <div class="page-actions">
            <label class="inline-select">
              <span>Kind</span>
              <select value={kind} onChange={(e) => setKind(e.currentTarget.value as KindFilter)}>
                <option value="">All</option>
                {Object.entries(KINDS).map(([value, label]) => <option key={value} value={value}>{label}</option>)}
              </select>
            </label>
            <label class="inline-select">
              <span>State</span>
              <select value={state} onChange={(e) => setState(e.currentTarget.value as StateFilter)}>
                <option value="">Any</option>
                {Object.entries(DOCUMENT_STATES).map(([value, label]) => <option key={value} value={value}>{label}</option>)}
              </select>
            </label>
          </div>
        </div>
        <ErrorText error={documents.error || remove.error} />
        {documents.data && !documents.data.items.length && (
          <Empty>
            {kind || state ? "Nothing matches these filters." : "Nothing yet. Add what your customers ask about, and the AI answers from it."}
          </Empty>
        )}
        <ul class="cards">
          {documents.data?.items.map((d) => (
            <DocumentCard key={d.id} document={d} canDelete={isAdmin} onDelete={(doc) => void remove.run(doc)} />
          ))}
        </ul>
        {documents.data?.more && <Button class="more" onClick={() => setPages((n) => n + 1)}>Show more</Button>}
      </section>
      {isAdmin && <AddDocument onAdded={documents.reload} />}
      {isAdmin && <DefaultLanguage />}
    </>
  );
}

function DefaultLanguage() {
  const preferences = useLoad(async () => must(await api.GET("/api/v1/knowledge/preferences")), []);
  const [language, setLanguage] = useState<string | null>(null);
  const [saved, setSaved] = useState(false);
  const save = useAction(async () => {
    const chosen = (language ?? preferences.data?.default_language ?? "").trim().toLowerCase();
    must(await api.PUT("/api/v1/knowledge/preferences", { body: { default_language: chosen } }));
    setSaved(true);
    preferences.reload();
  });
  return (
    <section class="panel">
      <h2>Language</h2>
      <form class="row" onSubmit={(e) => {
        e.preventDefault();
        setSaved(false);
        void save.run();
      }}>
        <Field label="Language of your documents when it cannot be detected"
          hint="A two-letter code (en, pt, es, fr, de…): it decides how words are matched in search.">
          {(id) => <input id={id} required minLength={2} maxLength={2} pattern="[a-zA-Z]{2}" class="short"
            value={language ?? preferences.data?.default_language ?? ""}
            onInput={(e) => setLanguage(e.currentTarget.value)} />}
        </Field>
        <Button type="submit" busy={save.busy}>Save</Button>
      </form>
      <ErrorText error={preferences.error || save.error} />
      {saved && <p class="ok" role="status">Saved. Documents indexed from now on use it.</p>}
    </section>
  );
}

// ------------------------------------------------------------------------------------ FAQ

function FaqForm(props: {
  entry?: FaqEntry;
  submitLabel: string;
  onDone: () => void;
  onCancel?: () => void;
  children?: ComponentChildren;
}) {
  const [question, setQuestion] = useState(props.entry?.question ?? "");
  const [answer, setAnswer] = useState(props.entry?.answer ?? "");
  const save = useAction(async () => {
    const body = { question, answer };
    if (props.entry) {
      must(await api.PUT("/api/v1/knowledge/faq/{entry_id}", { params: { path: { entry_id: props.entry.id } }, body }));
    } else {
      must(await api.POST("/api/v1/knowledge/faq", { body }));
      setQuestion("");
      setAnswer("");
    }
    props.onDone();
  });
  return (
    <form class="faq-form" onSubmit={(e) => {
      e.preventDefault();
      void save.run();
    }}>
      <Field label="Question">
        {(id) => <input id={id} required maxLength={1000} value={question} onInput={(e) => setQuestion(e.currentTarget.value)} />}
      </Field>
      <Field label="Answer">
        {(id) => <textarea id={id} required rows={4} value={answer} onInput={(e) => setAnswer(e.currentTarget.value)} />}
      </Field>
      <ErrorText error={save.error} />
      <div class="row">
        <Button type="submit" kind="primary" busy={save.busy}>{props.submitLabel}</Button>
        {props.onCancel && <Button onClick={props.onCancel}>Cancel</Button>}
      </div>
    </form>
  );
}

function FaqItem(props: { entry: FaqEntry; canChange: boolean; onChanged: () => void }) {
  const e = props.entry;
  const [editing, setEditing] = useState(false);
  const remove = useAction(async () => {
    if (!confirm(`Delete the question "${e.question}"? The AI stops using it at once.`)) return;
    must(await api.DELETE("/api/v1/knowledge/faq/{entry_id}", { params: { path: { entry_id: e.id } } }));
    props.onChanged();
  });
  if (editing) {
    return (
      <li class="card">
        <FaqForm entry={e} submitLabel="Save" onCancel={() => setEditing(false)}
          onDone={() => {
            setEditing(false);
            props.onChanged();
          }} />
      </li>
    );
  }
  return (
    <li class="card faq-entry">
      <div class="card-head">
        <strong>{e.question}</strong>
        <StateBadge state={e.state} words={DOCUMENT_STATES[e.state]} />
      </div>
      <p class="text">{e.answer}</p>
      {e.failure_reason && <p class="error">{e.failure_reason}</p>}
      <ErrorText error={remove.error} />
      {props.canChange && (
        <div class="row">
          <Button onClick={() => setEditing(true)} aria-label={`Edit "${e.question}"`}>Edit</Button>
          <Button kind="danger" onClick={() => void remove.run()} aria-label={`Delete "${e.question}"`}>Delete</Button>
        </div>
      )}
    </li>
  );
}

async function importCsv(file: File): Promise<Schemas["ImportOut"]> {
  const form = new FormData();
  form.append("file", file);
  const response = await sessionFetch(
    new Request("/api/v1/knowledge/faq/import", { method: "POST", body: form, credentials: "same-origin" }),
  );
  const body = await response.json().catch(() => null);
  if (!response.ok) throw errorWords(response.status, body);
  return body as Schemas["ImportOut"];
}

function ImportFaq(props: { onImported: () => void }) {
  const [file, setFile] = useState<File | null>(null);
  const [result, setResult] = useState<Schemas["ImportOut"] | null>(null);
  const run = useAction(async () => {
    setResult(null);
    if (!file) return;
    setResult(await importCsv(file));
    props.onImported();
  });
  const rows = run.error instanceof ApiError ? detailWords(run.error.details) : [];
  return (
    <section class="panel">
      <h2>Import from a CSV file</h2>
      <p class="muted">
        The first row names the columns: <code>question</code> and <code>answer</code> (and
        optionally <code>external_id</code>, <code>language</code>). Comma, semicolon or tab.
        Importing the same file again updates the entries instead of adding them twice.
      </p>
      <form class="row" onSubmit={(e) => {
        e.preventDefault();
        void run.run();
      }}>
        <Field label="CSV file">
          {(id) => <input id={id} type="file" required accept=".csv,text/csv,text/plain"
            onChange={(e) => setFile(e.currentTarget.files?.[0] ?? null)} />}
        </Field>
        <Button type="submit" kind="primary" busy={run.busy}>Import</Button>
      </form>
      {rows.length ? (
        <div role="alert" class="error">
          <p>Nothing was imported. Fix these rows and import the file again:</p>
          <ul>{rows.map((r) => <li key={r}>{r}</li>)}</ul>
        </div>
      ) : (
        <ErrorText error={run.error} />
      )}
      {result && (
        <p class="ok" role="status">
          Imported: {result.created} new, {result.updated} updated, {result.unchanged} unchanged.
        </p>
      )}
    </section>
  );
}

function Faq() {
  const { isAdmin } = useSession();
  const [pages, setPages] = useState(1);
  const entries = useFollowed(
    () =>
      pagesOf(pages, async (cursor) =>
        must(await api.GET("/api/v1/knowledge/faq", { params: { query: { limit: 50, ...(cursor ? { cursor } : {}) } } })),
      ),
    [pages],
    (data) => settling(data.items),
    inList((c) => c.kind === "faq"),
  );
  return (
    <>
      {isAdmin && (
        <section class="panel">
          <h2>Add a question</h2>
          <FaqForm submitLabel="Add question" onDone={entries.reload} />
        </section>
      )}
      <section class="panel">
        <h2>Questions and answers</h2>
        <ErrorText error={entries.error} />
        {entries.data && !entries.data.items.length && (
          <Empty>No questions yet. Add the ones customers ask most, or import them from a spreadsheet.</Empty>
        )}
        <ul class="cards">
          {entries.data?.items.map((e) => (
            <FaqItem key={`${e.id}-${e.revision}`} entry={e} canChange={isAdmin} onChanged={entries.reload} />
          ))}
        </ul>
        {entries.data?.more && <Button class="more" onClick={() => setPages((n) => n + 1)}>Show more</Button>}
      </section>
      {isAdmin && <ImportFaq onImported={entries.reload} />}
    </>
  );
}

// ------------------------------------------------------------------------------- websites

function WebsitePages(props: { website: Website }) {
  const pages = useFollowed(
    async () =>
      must(await api.GET("/api/v1/knowledge/documents", {
        params: { query: { website_id: props.website.id, limit: 100 } },
      })),
    [props.website.id, props.website.crawl, props.website.state],
    (data) => settling(data.items),
    inList((c) => c.website_id === props.website.id),
  );
  return (
    <div class="website-pages">
      <ErrorText error={pages.error} />
      {pages.data && !pages.data.items.length && <p class="muted">No pages imported.</p>}
      <ul>
        {pages.data?.items.map((d) => {
          const href = safeHref(d.source_uri);
          const failure = failureWords(d);
          return (
            <li key={d.id}>
              <StateBadge state={d.state} words={DOCUMENT_STATES[d.state]} />{" "}
              {href ? <a href={href} target="_blank" rel="noopener noreferrer">{d.title}</a> : d.title}
              {failure && <span class="error"> {failure}</span>}
            </li>
          );
        })}
      </ul>
      {pages.data?.next_cursor && <p class="muted">Showing the newest 100 pages.</p>}
    </div>
  );
}

function WebsiteCard(props: { website: Website; canChange: boolean; onChanged: () => void }) {
  const w = props.website;
  const [showPages, setShowPages] = useState(false);
  const crawl = useAction(async () => {
    must(await api.POST("/api/v1/knowledge/websites/{website_id}/crawl", { params: { path: { website_id: w.id } } }));
    props.onChanged();
  });
  const remove = useAction(async () => {
    if (!confirm(`Delete the import of ${w.start_url} and its pages? The AI stops using them at once.`)) return;
    must(await api.DELETE("/api/v1/knowledge/websites/{website_id}", { params: { path: { website_id: w.id } } }));
    props.onChanged();
  });
  const href = safeHref(w.start_url);
  const running = w.state === "queued" || w.state === "crawling";
  return (
    <li class="card website">
      <div class="card-head">
        <strong>{href ? <a href={href} target="_blank" rel="noopener noreferrer">{w.start_url}</a> : w.start_url}</strong>
        <StateBadge state={w.state} words={WEBSITE_STATES[w.state]} />
      </div>
      <p class={w.state === "failed" ? "error" : "muted"}>{crawlWords(w)}</p>
      <p class="muted">Up to {w.page_limit} pages · crawl {w.crawl}</p>
      <ErrorText error={crawl.error || remove.error} />
      <div class="row">
        <Button aria-expanded={showPages} onClick={() => setShowPages(!showPages)}>
          {showPages ? "Hide pages" : "Show pages"}
        </Button>
        {props.canChange && (
          <>
            <Button onClick={() => void crawl.run()} busy={crawl.busy} disabled={running}>Crawl again</Button>
            <Button kind="danger" onClick={() => void remove.run()}>Delete</Button>
          </>
        )}
      </div>
      {showPages && <WebsitePages website={w} />}
    </li>
  );
}

function Websites() {
  const { isAdmin } = useSession();
  const websites = useWatched(
    async () => must(await api.GET("/api/v1/knowledge/websites")),
    [],
    (data) => settling(data),
  );
  const [startUrl, setStartUrl] = useState("");
  const [pageLimit, setPageLimit] = useState("");
  const add = useAction(async () => {
    must(await api.POST("/api/v1/knowledge/websites", {
      body: { start_url: startUrl.trim(), page_limit: pageLimit ? Number(pageLimit) : null },
    }));
    setStartUrl("");
    setPageLimit("");
    websites.reload();
  });
  return (
    <>
      {isAdmin && (
        <section class="panel">
          <h2>Import a website</h2>
          <p class="muted">
            Your help centre or FAQ pages: Parley reads the site from this address, following
            its links and sitemap within the same site, and honouring its robots.txt. Crawl it
            again whenever the site changes: only changed pages are replaced.
          </p>
          <form onSubmit={(e) => {
            e.preventDefault();
            void add.run();
          }}>
            <Field label="Start URL">
              {(id) => <input id={id} type="url" required placeholder="https://help.example.com/" value={startUrl}
                onInput={(e) => setStartUrl(e.currentTarget.value)} />}
            </Field>
            <Field label="Page limit" hint="Empty: 100 pages.">
              {(id) => <input id={id} type="number" min={1} max={1000} class="short" value={pageLimit}
                onInput={(e) => setPageLimit(e.currentTarget.value)} />}
            </Field>
            <ErrorText error={add.error} />
            <Button type="submit" kind="primary" busy={add.busy}>Import website</Button>
          </form>
        </section>
      )}
      <section class="panel">
        <h2>Websites</h2>
        <ErrorText error={websites.error} />
        {websites.data && !websites.data.length && <Empty>No website imported.</Empty>}
        <ul class="cards">
          {websites.data?.map((w) => (
            <WebsiteCard key={w.id} website={w} canChange={isAdmin} onChanged={websites.reload} />
          ))}
        </ul>
      </section>
    </>
  );
}

// --------------------------------------------------------------------------------- search

/** Where in its document a passage is: its headings (beyond the title) and page. */
function where(r: Schemas["ChunkOut"]): string {
  const headings = r.heading_path.filter((h) => h !== r.document_title).join(" › ");
  const page = r.page ? `page ${r.page}` : "";
  return [headings, page].filter(Boolean).join(" · ");
}

function TrySearch() {
  const [query, setQuery] = useState("");
  const [results, setResults] = useState<Schemas["ChunkOut"][] | null>(null);
  const search = useAction(async () => {
    setResults(null); // never show the previous question's passages as this one's
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
      <div class="search-answer" aria-live="polite">
        {results && !results.length && <Empty>Nothing matches: the AI would hand this to a person.</Empty>}
        <ol class="cards results">
          {results?.map((r) => (
            <li key={r.chunk_id} class="card">
              <div class="card-head">
                <strong>{r.document_title}</strong>
                <span class="muted">score {r.score.toFixed(3)}</span>
              </div>
              {where(r) && <p class="muted">{where(r)}</p>}
              <p class="text">{r.text}</p>
              {safeHref(r.source_uri) && (
                <p class="source">
                  <a href={safeHref(r.source_uri)!} target="_blank" rel="noopener noreferrer">{r.source_uri}</a>
                </p>
              )}
            </li>
          ))}
        </ol>
      </div>
    </section>
  );
}
