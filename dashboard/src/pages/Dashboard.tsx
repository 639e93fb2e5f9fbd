// The signed-in area: who is signed in, the navigation, the page for the current path, and
// the sign-in dialog that appears over the page when the session has ended.
import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import { useLocation } from "preact-iso";
import { onSessionEnded } from "../api/client";
import { Dialog } from "../components/ui";
import type { Directory, Me } from "../session";
import { Session, loadDirectory, signOut, whoAmI } from "../session";
import { AnalyticsPage } from "./Analytics";
import { SignInForm } from "./Entry";
import { InboxPage } from "./Inbox";
import { KnowledgePage } from "./Knowledge";
import { SettingsPage } from "./Settings";

interface Section {
  path: string;
  label: string;
  adminOnly?: boolean;
}

const SECTIONS: Section[] = [
  { path: "/app", label: "Inbox" },
  { path: "/app/knowledge", label: "Knowledge" },
  { path: "/app/analytics", label: "Analytics", adminOnly: true },
  { path: "/app/settings", label: "Settings" },
];

function Page(props: { path: string; isAdmin: boolean }) {
  const { path } = props;
  const conversation = /^\/app\/conversations\/([0-9a-f-]{36})$/.exec(path);
  if (path === "/app" || conversation) return <InboxPage conversationId={conversation?.[1]} />;
  if (path === "/app/analytics") return <AnalyticsPage />;
  if (path.startsWith("/app/knowledge")) return <KnowledgePage path={path} />;
  if (path.startsWith("/app/settings")) return <SettingsPage path={path} />;
  return (
    <section class="page">
      <h1>Page not found</h1>
      <a href="/app">Go to the inbox</a>
    </section>
  );
}

export function Dashboard() {
  const { path } = useLocation();
  const [me, setMe] = useState<Me | null>(null);
  const [directory, setDirectory] = useState<Directory | null>(null);
  const [failure, setFailure] = useState<string | null>(null);
  const [expired, setExpired] = useState(false);
  const [menuOpen, setMenuOpen] = useState(false);
  const resume = useRef<(() => void) | null>(null);

  useEffect(() => {
    whoAmI()
      .then(async (found) => {
        setMe(found);
        setDirectory(await loadDirectory(found));
        // From now on an ended session is renewed in a dialog over the page, which stays
        // as it is (drafts included); before, the sign-in page is the place to go.
        onSessionEnded(
          () =>
            new Promise<void>((resolve) => {
              resume.current = resolve;
              setExpired(true);
            }),
        );
      })
      .catch(() => setFailure("Parley cannot be reached right now. Reload to try again."));
  }, []);

  useEffect(() => setMenuOpen(false), [path]);

  const context = useMemo(
    () =>
      me && directory
        ? {
            me,
            directory,
            isAdmin: me.role === "owner" || me.role === "admin",
            reloadDirectory: () => void loadDirectory(me).then(setDirectory),
          }
        : null,
    [me, directory],
  );

  if (failure) {
    return (
      <main class="entry">
        <p class="error" role="alert">
          {failure}
        </p>
      </main>
    );
  }
  if (!context || !me) {
    return (
      <main class="loading" aria-busy="true">
        Loading…
      </main>
    );
  }
  const current = (section: Section) =>
    section.path === "/app"
      ? path === "/app" || path.startsWith("/app/conversations")
      : path.startsWith(section.path);

  return (
    <Session.Provider value={context}>
      <a class="skip-link" href="#main">
        Skip to content
      </a>
      <div class="shell">
        <header class="topbar">
          <a class="brand" href="/app">
            <img src="/favicon.svg" alt="" width="24" height="24" /> Parley
          </a>
          <button
            type="button"
            class="btn btn-ghost menu-toggle"
            aria-expanded={menuOpen}
            aria-controls="main-nav"
            onClick={() => setMenuOpen(!menuOpen)}
          >
            Menu
          </button>
          <nav id="main-nav" class={`main-nav ${menuOpen ? "open" : ""}`} aria-label="Main">
            {SECTIONS.filter((s) => !s.adminOnly || context.isAdmin).map((s) => (
              <a key={s.path} href={s.path} aria-current={current(s) ? "page" : undefined}>
                {s.label}
              </a>
            ))}
            <span class="who" title={me.user?.email}>
              {me.user?.name} · {me.tenant.name}
            </span>
            <button type="button" class="btn btn-ghost" onClick={() => void signOut()}>
              Sign out
            </button>
          </nav>
        </header>
        <main id="main" class="content" tabIndex={-1}>
          <Page path={path} isAdmin={context.isAdmin} />
        </main>
      </div>
      <Dialog title="Your session has ended" open={expired}>
        <p>Sign in again to carry on; what you were writing is kept.</p>
        <SignInForm
          email={me.user?.email}
          onSignedIn={async () => {
            const now = await whoAmI();
            if (now.user?.id !== me.user?.id || now.tenant.id !== me.tenant.id) {
              window.location.assign("/app"); // someone else signed in: start afresh
              return;
            }
            setExpired(false);
            resume.current?.();
            resume.current = null;
          }}
        />
      </Dialog>
    </Session.Provider>
  );
}
