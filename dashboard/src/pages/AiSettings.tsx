// Settings › AI (owners and admins): who answers customers and how (GET/PUT
// /api/v1/ai/settings, presets from GET /api/v1/ai/presets), and what the AI did and spent
// against the month's budget (GET /api/v1/ai/usage), with charts. The provider's API key is
// write-only: the page says whether one is stored, never what it is.
import { useState } from "preact/hooks";
import { api, must } from "../api/client";
import type { AiForm, AiSettings, Preset } from "../ai/model";
import {
  AI_HANDOFF_REASONS,
  bodyOf,
  budgetState,
  dailyUsage,
  formOf,
  lastDays,
  series,
  withPreset,
} from "../ai/model";
import { DailyBars, Figure } from "../components/charts";
import { Badge, Button, ErrorText, Field, useAction, useLoad } from "../components/ui";
import { shortTime, usd } from "../format";

export function AiSettingsTab() {
  const settings = useLoad(async () => must(await api.GET("/api/v1/ai/settings")), []);
  const presets = useLoad(async () => must(await api.GET("/api/v1/ai/presets")), []);
  const [saves, setSaves] = useState(0);
  return (
    <div class="panel-grid ai-settings">
      <section class="panel" aria-labelledby="ai-settings-title">
        <h2 id="ai-settings-title">How the AI answers</h2>
        <ErrorText error={settings.error} />
        {settings.loading && !settings.data && <p class="muted">Loading…</p>}
        {settings.data && (
          <SettingsForm
            stored={settings.data}
            presets={presets.data ?? []}
            onSaved={() => setSaves((n) => n + 1)}
          />
        )}
      </section>
      <Usage refresh={saves} />
    </div>
  );
}

function SettingsForm(props: { stored: AiSettings; presets: Preset[]; onSaved: () => void }) {
  const [stored, setStored] = useState(props.stored);
  const [form, setForm] = useState<AiForm>(() => formOf(props.stored));
  const [problems, setProblems] = useState<string[]>([]);
  const [saved, setSaved] = useState(false);
  const edit = (change: Partial<AiForm>) => {
    setSaved(false);
    setForm((f) => ({ ...f, ...change }));
  };
  const save = useAction(async () => {
    const checked = bodyOf(form);
    setProblems(checked.problems);
    if (!checked.body) return;
    const now = must(await api.PUT("/api/v1/ai/settings", { body: checked.body }));
    setStored(now);
    setForm(formOf(now));
    setSaved(true);
    props.onSaved();
  });
  const text = (key: keyof AiForm, extra: Record<string, unknown> = {}) => (id: string) => (
    <input id={id} value={form[key] as string}
      onInput={(e) => edit({ [key]: e.currentTarget.value })} {...extra} />
  );
  const model = form.provider === "openai-compatible";
  const preset = props.presets.find((p) => p.name === form.preset);
  return (
    <form
      class="ai-form"
      onSubmit={(e) => {
        e.preventDefault();
        void save.run();
      }}
    >
      <fieldset>
        <legend>Who answers</legend>
        <label class="choice">
          <input type="radio" name="provider" value="extractive" checked={!model}
            onChange={() => edit({ provider: "extractive" })} />
          <span>
            <strong>Quotes from your knowledge</strong>
            <span class="muted">The passage that answers the question, word for word. No model, no cost.</span>
          </span>
        </label>
        <label class="choice">
          <input type="radio" name="provider" value="openai-compatible" checked={model}
            onChange={() => edit({ provider: "openai-compatible" })} />
          <span>
            <strong>A language model</strong>
            <span class="muted">Any OpenAI-compatible API (OpenRouter, OpenAI, Ollama, vLLM…), answering only from your knowledge and citing it.</span>
          </span>
        </label>
      </fieldset>

      {model && (
        <fieldset>
          <legend>Model</legend>
          <Field label="Preset" hint={preset?.description ?? "Fill in the address and models yourself, or start from a preset."}>
            {(id) => (
              <select id={id} value={form.preset}
                onChange={(e) => {
                  setSaved(false);
                  setForm(withPreset(form, props.presets.find((p) => p.name === e.currentTarget.value)));
                }}>
                <option value="">Custom</option>
                {props.presets.map((p) => <option key={p.name} value={p.name}>{p.name}</option>)}
              </select>
            )}
          </Field>
          <Field label="Base URL" hint="The API's address, usually ending in /v1.">
            {text("base_url", { required: true, inputMode: "url", placeholder: "https://openrouter.ai/api/v1" })}
          </Field>
          <div class="field-pair">
            <Field label="Model">{text("model", { required: true, placeholder: "anthropic/claude-3-haiku" })}</Field>
            <Field label="Fallback model" hint="Tried when the model fails. Optional.">
              {text("fallback_model")}
            </Field>
          </div>
          <div class="key-state">
            <span>API key</span>
            {stored.api_key_configured ? <Badge tone="ok">A key is stored</Badge> : <Badge>No key stored</Badge>}
            <span class="muted">A stored key is never shown again.</span>
          </div>
          <Field label={stored.api_key_configured ? "New API key" : "API key"}
            hint={stored.api_key_configured ? "Leave empty to keep the stored key." : "Not needed by servers without keys (Ollama)."}>
            {(id) => (
              <input id={id} type="password" autocomplete="off" spellcheck={false} value={form.apiKey}
                disabled={form.keyChange === "remove"}
                onInput={(e) => {
                  const value = e.currentTarget.value;
                  edit({ apiKey: value, keyChange: value ? "replace" : "keep" });
                }} />
            )}
          </Field>
          {stored.api_key_configured && (
            <label class="check">
              <input type="checkbox" checked={form.keyChange === "remove"}
                onChange={(e) => edit({ keyChange: e.currentTarget.checked ? "remove" : "keep", apiKey: "" })} />
              Remove the stored key
            </label>
          )}
          <div class="field-trio">
            <Field label="Temperature" hint="0 to 2; low is steady.">
              {text("temperature", { type: "number", min: 0, max: 2, step: 0.1, required: true })}
            </Field>
            <Field label="Max answer tokens">
              {text("max_answer_tokens", { type: "number", min: 16, max: 4000, step: 1, required: true })}
            </Field>
            <Field label="Timeout (s)" hint="Per attempt.">
              {text("request_timeout_s", { type: "number", min: 1, max: 120, step: 1, required: true })}
            </Field>
          </div>
        </fieldset>
      )}

      <fieldset>
        <legend>How it sounds</legend>
        <Field label="Business name">{text("business_name", { maxLength: 200 })}</Field>
        <Field label="Persona" hint="Who the assistant is, e.g. “the shop's friendly assistant”.">
          {(id) => <textarea id={id} rows={2} maxLength={2000} value={form.persona}
            onInput={(e) => edit({ persona: e.currentTarget.value })} />}
        </Field>
        <Field label="Tone" hint="e.g. warm and brief">{text("tone", { maxLength: 200 })}</Field>
        <Field label="Instructions"
          hint="Style and scope for the model. They never override Parley's rules: answer only from your knowledge, cite it, hand off otherwise.">
          {(id) => <textarea id={id} rows={3} maxLength={4000} value={form.instructions}
            onInput={(e) => edit({ instructions: e.currentTarget.value })} />}
        </Field>
        {!model && <p class="hint">Quotes are your own words; the voice applies to a language model.</p>}
      </fieldset>

      <fieldset>
        <legend>Handoff</legend>
        <Field label="Confidence needed to answer"
          hint="0 to 1: the share of the question's words a passage must cover for a quoted answer (also when the budget has run out). Below it, the conversation goes to your team. Default 0.6.">
          {text("handoff_threshold", { type: "number", min: 0, max: 1, step: 0.05, required: true })}
        </Field>
      </fieldset>

      <fieldset>
        <legend>Budget</legend>
        <Field label="Monthly budget (US$)" hint="Empty: no limit. Checked before each model call; months are UTC calendar months.">
          {text("monthly_budget_usd", { type: "number", min: 0, step: 0.01, placeholder: "No limit" })}
        </Field>
        <Field label="When the budget runs out">
          {(id) => (
            <select id={id} value={form.when_budget_exhausted}
              onChange={(e) => edit({ when_budget_exhausted: e.currentTarget.value === "handoff" ? "handoff" : "extractive" })}>
              <option value="extractive">Answer with quotes from the knowledge (no model)</option>
              <option value="handoff">Hand the conversation to your team</option>
            </select>
          )}
        </Field>
      </fieldset>

      <Prices form={form} edit={edit} />

      {problems.length > 0 && (
        <ul class="error problems" role="alert">
          {problems.map((p) => <li key={p}>{p}</li>)}
        </ul>
      )}
      <ErrorText error={save.error} />
      {saved && <p class="ok" role="status">Saved. The next answer uses these settings.</p>}
      <div class="form-actions">
        <Button type="submit" kind="primary" busy={save.busy}>
          {save.busy && model ? "Checking the model…" : "Save"}
        </Button>
        <span class="muted">
          {model ? "Saving makes a short test call to each model with the key; nothing is saved unless they answer." : ""}
          {stored.updated_at ? ` Last saved ${shortTime(stored.updated_at)}.` : ""}
        </span>
      </div>
    </form>
  );
}

function Prices(props: { form: AiForm; edit: (change: Partial<AiForm>) => void }) {
  const rows = props.form.prices;
  const change = (i: number, key: "model" | "input" | "output", value: string) =>
    props.edit({ prices: rows.map((r, j) => (i === j ? { ...r, [key]: value } : r)) });
  return (
    <fieldset>
      <legend>Prices per million tokens (US$)</legend>
      <p class="hint">
        Your own prices come first, then the operator's (well-known models have one). A model
        without a price costs 0, so the budget cannot limit it.
      </p>
      {rows.length > 0 && (
        <table class="table prices">
          <thead>
            <tr>
              <th scope="col">Model</th>
              <th scope="col">Input</th>
              <th scope="col">Output</th>
              <th scope="col"><span class="visually-hidden">Remove</span></th>
            </tr>
          </thead>
          <tbody>
            {rows.map((r, i) => (
              <tr key={i}>
                <td><input aria-label={`Model of price ${i + 1}`} value={r.model}
                  onInput={(e) => change(i, "model", e.currentTarget.value)} /></td>
                <td><input aria-label={`Input price of ${r.model || `price ${i + 1}`}`} type="number" min={0} step="any"
                  value={r.input} onInput={(e) => change(i, "input", e.currentTarget.value)} /></td>
                <td><input aria-label={`Output price of ${r.model || `price ${i + 1}`}`} type="number" min={0} step="any"
                  value={r.output} onInput={(e) => change(i, "output", e.currentTarget.value)} /></td>
                <td>
                  <button type="button" class="btn btn-ghost" aria-label={`Remove the price of ${r.model || `row ${i + 1}`}`}
                    onClick={() => props.edit({ prices: rows.filter((_, j) => j !== i) })}>×</button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <Button onClick={() => props.edit({ prices: [...rows, { model: "", input: "", output: "" }] })}>
        Add a price
      </Button>
    </fieldset>
  );
}

const PERIODS = [7, 30, 90];

function Usage(props: { refresh: number }) {
  const [days, setDays] = useState(30);
  const usage = useLoad(
    async () => must(await api.GET("/api/v1/ai/usage", { params: { query: lastDays(days) } })),
    [days, props.refresh],
  );
  const u = usage.data;
  const perDay = u ? dailyUsage(u) : [];
  const dayNames = perDay.map((d) => d.day);
  const budget = u ? budgetState(u.budget, usd) : null;
  const reasons = u ? Object.entries(u.totals.handoffs_by_reason).sort((a, b) => b[1] - a[1]) : [];
  return (
    <section class="panel usage" aria-labelledby="ai-usage-title">
      <div class="card-head">
        <h2 id="ai-usage-title">Usage</h2>
        <label class="inline-select">
          <span>Period</span>
          <select value={days} onChange={(e) => setDays(Number(e.currentTarget.value))}>
            {PERIODS.map((n) => <option key={n} value={n}>Last {n} days</option>)}
          </select>
        </label>
      </div>
      <ErrorText error={usage.error} />
      {u && budget && (
        <>
          <div class={`budget budget-${budget.tone}`}>
            <h3>This month</h3>
            {budget.share !== null && (
              <meter min={0} max={1} low={0.8} high={0.99} optimum={0} value={budget.share}
                aria-label="Share of the monthly budget spent" />
            )}
            <p role="status">{budget.words}</p>
          </div>
          <div class="figures compact">
            <Figure label="Requests" value={String(u.totals.requests)} />
            <Figure label="Answers" value={String(u.totals.answers)}
              note={u.totals.clarifications ? `+ ${u.totals.clarifications} questions back` : undefined} />
            <Figure label="Handoffs" value={String(u.totals.handoffs)} />
            <Figure label="Cost" value={usd(u.totals.cost_usd)}
              note={`${(u.totals.prompt_tokens + u.totals.completion_tokens).toLocaleString()} tokens`} />
          </div>
          <DailyBars title="Answers and handoffs per day" days={dayNames} series={[
            { label: "Answers", values: series(perDay, (d) => d.answers), tone: "out" },
            { label: "Handoffs", values: series(perDay, (d) => d.handoffs), tone: "handoff" },
          ]} />
          <DailyBars title="Cost per day (US$)" days={dayNames} format={usd}
            series={[{ label: "Cost", values: series(perDay, (d) => d.cost_usd), tone: "cost" }]} />
          <DailyBars title="Tokens per day" days={dayNames} series={[
            { label: "Prompt", values: series(perDay, (d) => d.prompt_tokens), tone: "in" },
            { label: "Completion", values: series(perDay, (d) => d.completion_tokens), tone: "out" },
          ]} />
          <h3>Handoffs by reason</h3>
          {reasons.length ? (
            <ul class="reasons">
              {reasons.map(([reason, count]) => (
                <li key={reason}>
                  <span>{AI_HANDOFF_REASONS[reason] ?? reason}</span>
                  <meter min={0} max={u.totals.handoffs} value={count} aria-label={AI_HANDOFF_REASONS[reason] ?? reason} />
                  <strong>{count}</strong>
                </li>
              ))}
            </ul>
          ) : (
            <p class="muted">No handoffs by the AI in this period.</p>
          )}
          <p class="muted">
            Time to decide: {latency(u.totals.average_latency_ms)} on average, {latency(u.totals.max_latency_ms || null)} at most.
            {u.totals.superseded ? ` ${u.totals.superseded} answers were dropped for a newer message.` : ""}
          </p>
          <h3>Models</h3>
          {u.totals.models.length ? (
            <table class="table">
              <thead>
                <tr>
                  <th scope="col">Model</th>
                  <th scope="col">Calls</th>
                  <th scope="col">Tokens in / out</th>
                  <th scope="col">Cost</th>
                </tr>
              </thead>
              <tbody>
                {u.totals.models.map((m) => (
                  <tr key={m.model}>
                    <th scope="row">{m.model}</th>
                    <td>{m.calls}{m.failed_calls ? ` (${m.failed_calls} failed)` : ""}</td>
                    <td>{m.prompt_tokens.toLocaleString()} / {m.completion_tokens.toLocaleString()}</td>
                    <td>{usd(m.cost_usd)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          ) : (
            <p class="muted">No model calls in this period.</p>
          )}
        </>
      )}
    </section>
  );
}

function latency(ms: number | null): string {
  if (ms === null) return "—";
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`;
}
