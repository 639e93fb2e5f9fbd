// Settings: WhatsApp channels, the AI and its usage, users and invitations, teams, API keys,
// your account.
import { useState } from "preact/hooks";
import { api, must } from "../api/client";
import type { Schemas } from "../api/client";
import { Badge, Button, Empty, ErrorText, Field, PageHeader, ShownOnce, Tabs, useAction, useLoad } from "../components/ui";
import { changePassword, useSession } from "../session";
import { AiSettingsTab } from "./AiSettings";

const TABS = [
  { path: "/app/settings/channels", label: "WhatsApp channels", adminOnly: true },
  { path: "/app/settings/ai", label: "AI", adminOnly: true },
  { path: "/app/settings/users", label: "Users", adminOnly: true },
  { path: "/app/settings/teams", label: "Teams", adminOnly: false },
  { path: "/app/settings/api-keys", label: "API keys", adminOnly: true },
  { path: "/app/settings/account", label: "Your account", adminOnly: false },
];

export function SettingsPage(props: { path: string }) {
  const { isAdmin } = useSession();
  const tabs = TABS.filter((t) => isAdmin || !t.adminOnly);
  const current = tabs.find((t) => props.path.startsWith(t.path)) ?? tabs[tabs.length - 1]!;
  return (
    <section class="page settings">
      <PageHeader title="Settings" />
      <Tabs label="Settings" tabs={tabs} current={current} />
      {current.path.endsWith("channels") && <Channels />}
      {current.path.endsWith("/ai") && <AiSettingsTab />}
      {current.path.endsWith("users") && <Users />}
      {current.path.endsWith("teams") && <Teams />}
      {current.path.endsWith("api-keys") && <ApiKeys />}
      {current.path.endsWith("account") && <Account />}
    </section>
  );
}

function Webhook(props: { channel: Schemas["ChannelOut"] }) {
  const w = props.channel.webhook;
  return (
    <dl class="webhook">
      <dt>Callback URL (paste into Meta: WhatsApp › Configuration)</dt>
      <dd>
        <code>{w.url}</code>
      </dd>
      <dt>Verify token</dt>
      <dd>
        {w.verify_token ? (
          <code>{w.verify_token}</code>
        ) : (
          <span class="muted">Not needed: this number is on Parley's own Meta app.</span>
        )}
      </dd>
    </dl>
  );
}

const EMPTY_CHANNEL = {
  phone_number_id: "",
  waba_id: "",
  display_phone_number: "",
  access_token: "",
  app_secret: "",
};

function Channels() {
  const channels = useLoad(async () => must(await api.GET("/api/v1/channels/whatsapp")), []);
  const [form, setForm] = useState(EMPTY_CHANNEL);
  const [created, setCreated] = useState<Schemas["ChannelOut"] | null>(null);
  const connect = useAction(async () => {
    const { app_secret, ...rest } = form;
    setCreated(
      must(
        await api.POST("/api/v1/channels/whatsapp", {
          body: {
            ...rest,
            messages_per_second: 80,
            ...(app_secret.trim() ? { app_secret: app_secret.trim() } : {}),
          },
        }),
      ),
    );
    setForm(EMPTY_CHANNEL);
    channels.reload();
  });
  const remove = useAction(async (id: string) => {
    if (!confirm("Remove this number? Its customers' messages stop arriving.")) return;
    must(await api.DELETE("/api/v1/channels/whatsapp/{channel_id}", { params: { path: { channel_id: id } } }));
    channels.reload();
  });
  const input = (key: keyof typeof EMPTY_CHANNEL, props: Record<string, unknown> = {}) => (id: string) => (
    <input id={id} value={form[key]} onInput={(e) => setForm({ ...form, [key]: e.currentTarget.value })} {...props} />
  );
  return (
    <div class="panel-grid">
      <section class="panel">
        <h2>Your numbers</h2>
        <ErrorText error={channels.error || remove.error} />
        {channels.data && !channels.data.length && (
          <Empty>No number yet: connect your WhatsApp Business number to start.</Empty>
        )}
        <ul class="cards">
          {channels.data?.map((c) => (
            <li key={c.id} class="card">
              <div class="card-head">
                <strong>{c.display_phone_number}</strong>
                <Badge tone={c.status === "connected" ? "ok" : "failed"}>
                  {c.status === "connected" ? "Connected" : "Disconnected"}
                </Badge>
              </div>
              {c.disconnect_reason && <p class="error">{c.disconnect_reason}</p>}
              <p class="muted">
                Phone number ID {c.phone_number_id} · WABA {c.waba_id} · up to {c.messages_per_second} messages/s
              </p>
              <Webhook channel={c} />
              <Button kind="danger" onClick={() => void remove.run(c.id)}>
                Remove
              </Button>
            </li>
          ))}
        </ul>
      </section>
      <section class="panel">
        <h2>Connect a number</h2>
        <p class="muted">
          From Meta's App Dashboard (WhatsApp › API Setup): the phone number ID, the WhatsApp
          Business Account ID and a permanent access token.
        </p>
        <form
          onSubmit={(e) => {
            e.preventDefault();
            void connect.run();
          }}
        >
          <Field label="Display number">{input("display_phone_number", { required: true, placeholder: "+1 555 010 0001" })}</Field>
          <Field label="Phone number ID">{input("phone_number_id", { required: true, inputMode: "numeric" })}</Field>
          <Field label="WhatsApp Business Account ID">{input("waba_id", { required: true, inputMode: "numeric" })}</Field>
          <Field label="Access token">{input("access_token", { required: true, type: "password", autocomplete: "off" })}</Field>
          <Field label="App secret (only if you use your own Meta app)">
            {input("app_secret", { type: "password", autocomplete: "off" })}
          </Field>
          <ErrorText error={connect.error} />
          <Button type="submit" kind="primary" busy={connect.busy}>
            Connect number
          </Button>
        </form>
        {created && (
          <div class="shown-once" role="status">
            <p>
              <strong>{created.display_phone_number} is connected.</strong> Paste these into
              Meta so that its messages reach Parley:
            </p>
            <Webhook channel={created} />
          </div>
        )}
      </section>
    </div>
  );
}

function Users() {
  const { reloadDirectory, me } = useSession();
  const users = useLoad(async () => must(await api.GET("/api/v1/users")), []);
  const [form, setForm] = useState({ email: "", name: "", role: "agent" as "agent" | "admin" | "owner" });
  const [invitation, setInvitation] = useState<Schemas["InvitationOut"] | null>(null);
  const invite = useAction(async () => {
    setInvitation(must(await api.POST("/api/v1/users", { body: form })));
    setForm({ email: "", name: "", role: "agent" });
    users.reload();
    reloadDirectory();
  });
  const update = useAction(async (id: string, body: Schemas["UpdateUserIn"]) => {
    must(await api.PATCH("/api/v1/users/{user_id}", { params: { path: { user_id: id } }, body }));
    users.reload();
    reloadDirectory();
  });
  const reissue = useAction(async (id: string) => {
    setInvitation(
      must(await api.POST("/api/v1/users/{user_id}/invitation", { params: { path: { user_id: id } } })),
    );
  });
  return (
    <div class="panel-grid">
      <section class="panel">
        <h2>Users</h2>
        <ErrorText error={users.error || update.error || reissue.error} />
        <table class="table">
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Role</th>
              <th scope="col">Status</th>
              <th scope="col">
                <span class="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {users.data?.map((u) => (
              <tr key={u.id}>
                <td>
                  {u.name}
                  <br />
                  <span class="muted">{u.email}</span>
                </td>
                <td>
                  <select aria-label={`Role of ${u.name}`} value={u.role} disabled={u.id === me.user?.id}
                    onChange={(e) => void update.run(u.id, { role: e.currentTarget.value as "agent" })}>
                    <option value="agent">Agent</option>
                    <option value="admin">Admin</option>
                    <option value="owner">Owner</option>
                  </select>
                </td>
                <td>{u.status}</td>
                <td class="row-actions">
                  {u.status === "invited" && (
                    <Button onClick={() => void reissue.run(u.id)}>Send the invitation again</Button>
                  )}
                  {u.id !== me.user?.id && u.status !== "invited" && (
                    <Button onClick={() => void update.run(u.id, { active: u.status !== "active" })}>
                      {u.status === "active" ? "Deactivate" : "Reactivate"}
                    </Button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </section>
      <section class="panel">
        <h2>Invite someone</h2>
        <form
          onSubmit={(e) => {
            e.preventDefault();
            void invite.run();
          }}
        >
          <Field label="Email">
            {(id) => <input id={id} type="email" required value={form.email}
              onInput={(e) => setForm({ ...form, email: e.currentTarget.value })} />}
          </Field>
          <Field label="Name">
            {(id) => <input id={id} required value={form.name}
              onInput={(e) => setForm({ ...form, name: e.currentTarget.value })} />}
          </Field>
          <Field label="Role">
            {(id) => (
              <select id={id} value={form.role}
                onChange={(e) => setForm({ ...form, role: e.currentTarget.value as "agent" })}>
                <option value="agent">Agent: answers conversations</option>
                <option value="admin">Admin: also manages numbers, users and keys</option>
                <option value="owner">Owner</option>
              </select>
            )}
          </Field>
          <ErrorText error={invite.error} />
          <Button type="submit" kind="primary" busy={invite.busy}>
            Invite
          </Button>
        </form>
        {invitation && (
          <p class="muted" role="status">
            Invitation emailed to {invitation.sent_to} (valid until{" "}
            {new Date(invitation.expires_at).toLocaleString()}).
          </p>
        )}
      </section>
    </div>
  );
}

function Teams() {
  const { directory, reloadDirectory, isAdmin } = useSession();
  const teams = useLoad(async () => must(await api.GET("/api/v1/teams")), []);
  const [name, setName] = useState("");
  const done = () => {
    teams.reload();
    reloadDirectory();
  };
  const create = useAction(async () => {
    must(await api.POST("/api/v1/teams", { body: { name } }));
    setName("");
    done();
  });
  const member = useAction(async (teamId: string, userId: string, add: boolean) => {
    const params = { params: { path: { team_id: teamId, user_id: userId } } };
    must(add
      ? await api.PUT("/api/v1/teams/{team_id}/members/{user_id}", params)
      : await api.DELETE("/api/v1/teams/{team_id}/members/{user_id}", params));
    done();
  });
  const remove = useAction(async (teamId: string) => {
    if (!confirm("Delete this team? Its conversations stay, without a team.")) return;
    must(await api.DELETE("/api/v1/teams/{team_id}", { params: { path: { team_id: teamId } } }));
    done();
  });
  return (
    <section class="panel">
      <h2>Teams</h2>
      <ErrorText error={teams.error || member.error || remove.error} />
      {teams.data && !teams.data.length && <Empty>No teams yet.</Empty>}
      <ul class="cards">
        {teams.data?.map((t) => (
          <li key={t.id} class="card">
            <div class="card-head">
              <strong>{t.name}</strong>
              {isAdmin && <Button kind="danger" onClick={() => void remove.run(t.id)}>Delete</Button>}
            </div>
            <ul class="members">
              {t.member_ids.map((id) => (
                <li key={id} class="chip">
                  {directory.userName(id)}
                  {isAdmin && (
                    <button type="button" aria-label={`Remove ${directory.userName(id)} from ${t.name}`}
                      onClick={() => void member.run(t.id, id, false)}>×</button>
                  )}
                </li>
              ))}
            </ul>
            {isAdmin && (
              <label class="inline-select">
                <span>Add member</span>
                <select value="" onChange={(e) => e.currentTarget.value && void member.run(t.id, e.currentTarget.value, true)}>
                  <option value="">Choose…</option>
                  {directory.users.filter((u) => !t.member_ids.includes(u.id)).map((u) => (
                    <option key={u.id} value={u.id}>{u.name}</option>
                  ))}
                </select>
              </label>
            )}
          </li>
        ))}
      </ul>
      {isAdmin && (
        <form class="row" onSubmit={(e) => {
          e.preventDefault();
          void create.run();
        }}>
          <Field label="New team">
            {(id) => <input id={id} required maxLength={100} value={name}
              onInput={(e) => setName(e.currentTarget.value)} />}
          </Field>
          <Button type="submit" kind="primary" busy={create.busy}>Create team</Button>
          <ErrorText error={create.error} />
        </form>
      )}
    </section>
  );
}

// What an API key may be given (auth refuses anything else, and anything beyond its role).
const SCOPES = [
  "conversations:read", "conversations:write", "contacts:read", "contacts:write", "media:read",
  "documents:read", "documents:write", "users:read", "users:write", "teams:read", "teams:write",
  "channels:read", "channels:write", "settings:write",
];

function ApiKeys() {
  const keys = useLoad(async () => must(await api.GET("/api/v1/api-keys")), []);
  const [form, setForm] = useState({ name: "", role: "agent" as "agent" | "admin", scopes: ["conversations:read"], days: "" });
  const [secret, setSecret] = useState<string | null>(null);
  const create = useAction(async () => {
    const created = must(await api.POST("/api/v1/api-keys", {
      body: { name: form.name, role: form.role, scopes: form.scopes, expires_in_days: form.days ? Number(form.days) : null },
    }));
    setSecret(created.key);
    setForm({ ...form, name: "" });
    keys.reload();
  });
  const revoke = useAction(async (id: string) => {
    if (!confirm("Revoke this key? Programs using it stop working at once.")) return;
    must(await api.DELETE("/api/v1/api-keys/{key_id}", { params: { path: { key_id: id } } }));
    keys.reload();
  });
  return (
    <div class="panel-grid">
      <section class="panel">
        <h2>API keys</h2>
        <ErrorText error={keys.error || revoke.error} />
        {keys.data && !keys.data.length && <Empty>No API keys.</Empty>}
        <ul class="cards">
          {keys.data?.map((k) => (
            <li key={k.id} class="card">
              <div class="card-head">
                <strong>{k.name}</strong>
                {k.revoked_at ? <Badge tone="failed">Revoked</Badge> : <Badge tone="ok">Active</Badge>}
              </div>
              <p class="muted">
                {k.role} · {k.scopes.join(", ") || "no scopes"} ·{" "}
                {k.expires_at ? `expires ${new Date(k.expires_at).toLocaleDateString()}` : "no expiry"}
              </p>
              {!k.revoked_at && <Button kind="danger" onClick={() => void revoke.run(k.id)}>Revoke</Button>}
            </li>
          ))}
        </ul>
      </section>
      <section class="panel">
        <h2>New API key</h2>
        <form onSubmit={(e) => {
          e.preventDefault();
          void create.run();
        }}>
          <Field label="Name">
            {(id) => <input id={id} required maxLength={100} value={form.name}
              onInput={(e) => setForm({ ...form, name: e.currentTarget.value })} />}
          </Field>
          <Field label="Role">
            {(id) => (
              <select id={id} value={form.role} onChange={(e) => setForm({ ...form, role: e.currentTarget.value as "agent" })}>
                <option value="agent">Agent</option>
                <option value="admin">Admin</option>
              </select>
            )}
          </Field>
          <fieldset>
            <legend>Scopes</legend>
            {SCOPES.map((scope) => (
              <label key={scope} class="check">
                <input type="checkbox" checked={form.scopes.includes(scope)} onChange={(e) =>
                  setForm({ ...form, scopes: e.currentTarget.checked ? [...form.scopes, scope] : form.scopes.filter((s) => s !== scope) })} />
                {scope}
              </label>
            ))}
          </fieldset>
          <Field label="Expires after (days, empty: never)">
            {(id) => <input id={id} type="number" min={1} max={3650} value={form.days}
              onInput={(e) => setForm({ ...form, days: e.currentTarget.value })} />}
          </Field>
          <ErrorText error={create.error} />
          <Button type="submit" kind="primary" busy={create.busy}>Create key</Button>
        </form>
        {secret && <ShownOnce label="Your new API key." value={secret} />}
      </section>
    </div>
  );
}

function Account() {
  const { me } = useSession();
  const [form, setForm] = useState({ current_password: "", new_password: "" });
  const [done, setDone] = useState(false);
  const change = useAction(async () => {
    await changePassword(form);
    setForm({ current_password: "", new_password: "" });
    setDone(true);
  });
  return (
    <section class="panel narrow">
      <h2>Your account</h2>
      <p>
        {me.user?.name} · {me.user?.email} · {me.role} at {me.tenant.name}
      </p>
      <h3>Change password</h3>
      <form onSubmit={(e) => {
        e.preventDefault();
        setDone(false);
        void change.run();
      }}>
        <Field label="Current password">
          {(id) => <input id={id} type="password" required autocomplete="current-password" value={form.current_password}
            onInput={(e) => setForm({ ...form, current_password: e.currentTarget.value })} />}
        </Field>
        <Field label="New password" hint="At least 10 characters. Your other sessions are signed out.">
          {(id) => <input id={id} type="password" required autocomplete="new-password" value={form.new_password}
            onInput={(e) => setForm({ ...form, new_password: e.currentTarget.value })} />}
        </Field>
        <ErrorText error={change.error} />
        {done && <p role="status" class="ok">Your password is changed.</p>}
        <Button type="submit" kind="primary" busy={change.busy}>Change password</Button>
      </form>
    </section>
  );
}
