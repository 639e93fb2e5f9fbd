// Signing in, signing up (ask, then open the emailed link) and accepting an invitation (pages
// without a session), and the sign-in form the dashboard reuses when a session ends mid-work.
import { useEffect, useState } from "preact/hooks";
import { Button, ErrorText, Field, useAction } from "../components/ui";
import { acceptInvitation, confirmSignUp, signIn, signUp } from "../session";

/** Where to go after signing in: a path of the dashboard only (never another site). */
export function nextPath(search: string): string {
  const next = new URLSearchParams(search).get("next");
  return next && /^\/app(\/|$)/.test(next) ? next : "/app";
}

function EntryFrame(props: { title: string; children: preact.ComponentChildren }) {
  return (
    <main class="entry">
      <a class="brand" href="/">
        <img src="/favicon.svg" alt="" width="28" height="28" /> Parley
      </a>
      <section class="entry-card">
        <h1>{props.title}</h1>
        {props.children}
      </section>
    </main>
  );
}

export function SignInForm(props: { onSignedIn: () => void; email?: string }) {
  const [email, setEmail] = useState(props.email ?? "");
  const [password, setPassword] = useState("");
  const action = useAction(async () => {
    await signIn(email, password);
    props.onSignedIn();
  });
  return (
    <form
      onSubmit={(e) => {
        e.preventDefault();
        void action.run();
      }}
    >
      <Field label="Email">
        {(id) => (
          <input
            id={id}
            type="email"
            autocomplete="username"
            required
            value={email}
            onInput={(e) => setEmail(e.currentTarget.value)}
          />
        )}
      </Field>
      <Field label="Password">
        {(id) => (
          <input
            id={id}
            type="password"
            autocomplete="current-password"
            required
            value={password}
            onInput={(e) => setPassword(e.currentTarget.value)}
          />
        )}
      </Field>
      <ErrorText error={action.error} />
      <Button type="submit" kind="primary" busy={action.busy}>
        Sign in
      </Button>
    </form>
  );
}

export function SignInPage() {
  useEffect(() => {
    document.title = "Sign in · Parley";
  }, []);
  return (
    <EntryFrame title="Sign in">
      <SignInForm onSignedIn={() => window.location.assign(nextPath(location.search))} />
      <p class="entry-alt">
        New to Parley? <a href="/signup">Create an account</a>
      </p>
    </EntryFrame>
  );
}

export function SignUpPage() {
  const [form, setForm] = useState({ company_name: "", name: "", email: "", password: "" });
  const [sentTo, setSentTo] = useState<string | null>(null);
  const action = useAction(async () => {
    setSentTo((await signUp(form)).email);
  });
  useEffect(() => {
    document.title = "Create your account · Parley";
  }, []);
  const set = (key: keyof typeof form) => (e: { currentTarget: HTMLInputElement }) =>
    setForm({ ...form, [key]: e.currentTarget.value });
  if (sentTo) {
    return (
      <EntryFrame title="Check your inbox">
        <p role="status">
          We sent a link to <strong>{sentTo}</strong>. Open it to create your account; it works
          once.
        </p>
        <p class="entry-alt">
          Wrong address? <a href="/signup">Start again</a>
        </p>
      </EntryFrame>
    );
  }
  return (
    <EntryFrame title="Create your account">
      <form
        onSubmit={(e) => {
          e.preventDefault();
          void action.run();
        }}
      >
        <Field label="Company name">
          {(id) => (
            <input id={id} required autocomplete="organization" value={form.company_name}
              onInput={set("company_name")} />
          )}
        </Field>
        <Field label="Your name">
          {(id) => (
            <input id={id} required autocomplete="name" value={form.name} onInput={set("name")} />
          )}
        </Field>
        <Field label="Work email">
          {(id) => (
            <input id={id} type="email" required autocomplete="email" value={form.email}
              onInput={set("email")} />
          )}
        </Field>
        <Field label="Password" hint="At least 10 characters; a passphrase is best.">
          {(id) => (
            <input id={id} type="password" required autocomplete="new-password"
              value={form.password} onInput={set("password")} />
          )}
        </Field>
        <ErrorText error={action.error} />
        <Button type="submit" kind="primary" busy={action.busy}>
          Create account
        </Button>
      </form>
      <p class="entry-alt">
        Already have an account? <a href="/signin">Sign in</a>
      </p>
    </EntryFrame>
  );
}

/** `/verify-email#<token>`: the emailed link that confirms a sign-up (the token travels in
 * the fragment, which no server or log sees). */
export function VerifyEmailPage() {
  const [token] = useState(() => decodeURIComponent(location.hash.slice(1)));
  const action = useAction(async () => {
    await confirmSignUp(token);
    window.location.assign("/app/settings/channels");
  });
  useEffect(() => {
    document.title = "Confirm your email · Parley";
    if (location.hash) history.replaceState(null, "", location.pathname); // out of history
  }, []);
  return (
    <EntryFrame title="Confirm your email">
      {token ? (
        <>
          <p>Your address is confirmed once you continue: your account is then created.</p>
          <ErrorText error={action.error} />
          <Button kind="primary" busy={action.busy} onClick={() => void action.run()}>
            Create my account
          </Button>
        </>
      ) : (
        <p class="error" role="alert">
          This link is incomplete. Open the link from the email again, or sign up again.
        </p>
      )}
    </EntryFrame>
  );
}

/** `/invitation#<token>`: the token travels in the fragment, which no server or log sees. */
export function InvitationPage() {
  const [token] = useState(() => decodeURIComponent(location.hash.slice(1)));
  const [name, setName] = useState("");
  const [password, setPassword] = useState("");
  useEffect(() => {
    document.title = "Join your team · Parley";
    if (location.hash) history.replaceState(null, "", location.pathname); // out of history
  }, []);
  const action = useAction(async () => {
    await acceptInvitation({ invitation: token, password, name: name.trim() || null });
    window.location.assign("/app");
  });
  if (!token) {
    return (
      <EntryFrame title="Join your team">
        <p class="error" role="alert">
          This invitation link is incomplete. Ask whoever invited you for a new link.
        </p>
      </EntryFrame>
    );
  }
  return (
    <EntryFrame title="Join your team">
      <form
        onSubmit={(e) => {
          e.preventDefault();
          void action.run();
        }}
      >
        <Field label="Your name (optional)">
          {(id) => (
            <input id={id} autocomplete="name" value={name}
              onInput={(e) => setName(e.currentTarget.value)} />
          )}
        </Field>
        <Field label="Choose a password" hint="At least 10 characters.">
          {(id) => (
            <input id={id} type="password" required autocomplete="new-password" value={password}
              onInput={(e) => setPassword(e.currentTarget.value)} />
          )}
        </Field>
        <ErrorText error={action.error} />
        <Button type="submit" kind="primary" busy={action.busy}>
          Join
        </Button>
      </form>
    </EntryFrame>
  );
}
