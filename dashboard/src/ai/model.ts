// The AI settings page's pure logic (unit-tested): the form a person edits and the document
// `PUT /api/v1/ai/settings` takes, a preset's values, usage per day over a whole range, and
// how far the month's budget has gone.
import type { Schemas } from "../api/client";

export type AiSettings = Schemas["SettingsOut"];
export type AiSettingsBody = Schemas["SettingsIn"];
export type Preset = Schemas["PresetOut"];
export type Usage = Schemas["UsageOut"];
export type UsageDay = Schemas["UsageDayOut"];
export type Provider = AiSettingsBody["provider"];
export type WhenExhausted = AiSettingsBody["when_budget_exhausted"];

/** What happens to the stored API key on save (the key itself is never shown). */
export type KeyChange = "keep" | "replace" | "remove";

export interface PriceRow {
  model: string;
  input: string;
  output: string;
}

/** The settings as the form holds them: numbers as typed, prices as rows. */
export interface AiForm {
  provider: Provider;
  preset: string;
  base_url: string;
  model: string;
  fallback_model: string;
  keyChange: KeyChange;
  apiKey: string;
  temperature: string;
  max_answer_tokens: string;
  request_timeout_s: string;
  business_name: string;
  persona: string;
  tone: string;
  instructions: string;
  handoff_threshold: string;
  monthly_budget_usd: string;
  when_budget_exhausted: WhenExhausted;
  prices: PriceRow[];
}

function provider(value: string): Provider {
  return value === "openai-compatible" ? "openai-compatible" : "extractive";
}

/** The form for the stored settings. */
export function formOf(s: AiSettings): AiForm {
  return {
    provider: provider(s.provider),
    preset: s.preset ?? "",
    base_url: s.base_url,
    model: s.model,
    fallback_model: s.fallback_model,
    keyChange: "keep",
    apiKey: "",
    temperature: String(s.temperature),
    max_answer_tokens: String(s.max_answer_tokens),
    request_timeout_s: String(s.request_timeout_s),
    business_name: s.business_name,
    persona: s.persona,
    tone: s.tone,
    instructions: s.instructions,
    handoff_threshold: String(s.handoff_threshold),
    monthly_budget_usd: s.monthly_budget_usd === null ? "" : String(s.monthly_budget_usd),
    when_budget_exhausted: s.when_budget_exhausted === "handoff" ? "handoff" : "extractive",
    prices: Object.entries(s.model_prices).map(([model, p]) => ({
      model,
      input: String(p.input_per_million),
      output: String(p.output_per_million),
    })),
  };
}

/** The form with a preset chosen: a model provider at the preset's address and models. */
export function withPreset(form: AiForm, preset: Preset | undefined): AiForm {
  if (!preset) return { ...form, preset: "" };
  return {
    ...form,
    provider: "openai-compatible",
    preset: preset.name,
    base_url: preset.base_url,
    model: preset.model,
    fallback_model: preset.fallback_model,
  };
}

/** A number typed in the form, checked against its range; a problem in words otherwise. */
function number(
  typed: string,
  label: string,
  min: number,
  max: number,
  problems: string[],
  integer = false,
): number {
  const value = Number(typed.trim());
  if (!typed.trim() || !Number.isFinite(value) || (integer && !Number.isInteger(value))) {
    problems.push(`${label} must be ${integer ? "a whole number" : "a number"}.`);
  } else if (value < min || value > max) {
    problems.push(`${label} must be between ${min} and ${max}.`);
  }
  return value;
}

export type Checked = { body: AiSettingsBody; problems: [] } | { body: null; problems: string[] };

/** The document to save, or what is wrong with the form, in words. */
export function bodyOf(form: AiForm): Checked {
  const problems: string[] = [];
  const modelProvider = form.provider === "openai-compatible";
  if (modelProvider && (!form.base_url.trim() || !form.model.trim())) {
    problems.push("A language model needs a base URL and a model (or choose a preset).");
  }
  if (modelProvider && form.keyChange === "replace" && !form.apiKey.trim()) {
    problems.push("Type the new API key, or keep the stored one.");
  }
  const budget = form.monthly_budget_usd.trim()
    ? number(form.monthly_budget_usd, "The monthly budget", 0, 1_000_000, problems)
    : null;
  const prices: AiSettingsBody["model_prices"] = {};
  for (const row of form.prices) {
    const model = row.model.trim();
    if (!model && !row.input.trim() && !row.output.trim()) continue; // an empty row
    if (!model || /\s/.test(model)) {
      problems.push("Each price needs a model name without spaces.");
      continue;
    }
    if (model in prices) problems.push(`The model ${model} has two prices.`);
    prices[model] = {
      input_per_million: number(row.input, `The input price of ${model}`, 0, 10_000, problems),
      output_per_million: number(row.output, `The output price of ${model}`, 0, 10_000, problems),
    };
  }
  const body: AiSettingsBody = {
    provider: form.provider,
    preset: form.preset || null,
    base_url: form.base_url.trim(),
    model: form.model.trim(),
    fallback_model: form.fallback_model.trim(),
    temperature: number(form.temperature, "Temperature", 0, 2, problems),
    max_answer_tokens: number(form.max_answer_tokens, "The answer length", 16, 4000, problems, true),
    request_timeout_s: number(form.request_timeout_s, "The timeout", 1, 120, problems),
    business_name: form.business_name.trim(),
    persona: form.persona.trim(),
    tone: form.tone.trim(),
    instructions: form.instructions.trim(),
    handoff_threshold: number(form.handoff_threshold, "The handoff threshold", 0, 1, problems),
    monthly_budget_usd: budget,
    when_budget_exhausted: form.when_budget_exhausted,
    model_prices: prices,
  };
  // Left out, the stored key stays; null removes it.
  if (form.keyChange === "replace") body.api_key = form.apiKey.trim();
  if (form.keyChange === "remove") body.api_key = null;
  return problems.length ? { body: null, problems } : { body, problems: [] };
}

/** Every day from `from` to `to` (ISO dates, UTC), in order. */
export function daysBetween(from: string, to: string): string[] {
  const days: string[] = [];
  const last = Date.parse(`${to}T00:00:00Z`);
  for (let at = Date.parse(`${from}T00:00:00Z`); at <= last; at += 86_400_000) {
    days.push(new Date(at).toISOString().slice(0, 10));
  }
  return days;
}

/** The usage of every day of the range (ai lists only days with usage; the rest are 0). */
export function dailyUsage(usage: Usage): { day: string; usage: UsageDay | null }[] {
  const byDay = new Map(usage.days.map((d) => [d.day, d]));
  return daysBetween(usage.from, usage.to).map((day) => ({ day, usage: byDay.get(day) ?? null }));
}

/** One figure of each day of the range. */
export function series(
  days: { usage: UsageDay | null }[],
  pick: (d: UsageDay) => number,
): number[] {
  return days.map((d) => (d.usage ? pick(d.usage) : 0));
}

export interface BudgetState {
  share: number | null;
  tone: "ok" | "warn" | "exhausted" | "none";
  words: string;
}

/** How far this month's spending has gone against the budget, in words. */
export function budgetState(b: Usage["budget"], usd: (n: number) => string): BudgetState {
  const spent = usd(b.spent_this_month_usd);
  if (b.monthly_budget_usd === null) {
    return { share: null, tone: "none", words: `${spent} spent this month; no monthly budget.` };
  }
  const share = b.monthly_budget_usd > 0 ? b.spent_this_month_usd / b.monthly_budget_usd : 1;
  const left = usd(b.remaining_usd ?? 0);
  const then =
    b.when_exhausted === "handoff"
      ? "customers are handed to your team"
      : "answers come from the knowledge base without a model";
  if (share >= 1) {
    return {
      share: 1,
      tone: "exhausted",
      words: `The budget of ${usd(b.monthly_budget_usd)} is used up: ${then} until next month.`,
    };
  }
  return {
    share,
    tone: share >= 0.8 ? "warn" : "ok",
    words: `${spent} of ${usd(b.monthly_budget_usd)} spent this month; ${left} left. When it runs out, ${then}.`,
  };
}

/** ai's handoff reasons in words. */
export const AI_HANDOFF_REASONS: Record<string, string> = {
  no_grounded_answer: "No answer in the knowledge",
  customer_asked_for_human: "The customer asked for a person",
  model_failed: "The AI model failed",
  budget_exhausted: "The AI budget ran out",
  policy: "Not for the AI (policy)",
};

/** The usage API's range for the last `days` UTC days up to `now`. */
export function lastDays(days: number, now: Date = new Date()): { from: string; to: string } {
  const to = now.toISOString().slice(0, 10);
  const from = new Date(Date.parse(`${to}T00:00:00Z`) - (days - 1) * 86_400_000);
  return { from: from.toISOString().slice(0, 10), to };
}
