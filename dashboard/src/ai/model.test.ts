import { describe, expect, it } from "vitest";
import { usd } from "../format";
import type { AiSettings, Usage, UsageDay } from "./model";
import { bodyOf, budgetState, dailyUsage, daysBetween, formOf, lastDays, series, withPreset } from "./model";

const stored: AiSettings = {
  provider: "openai-compatible",
  preset: null,
  base_url: "https://models.example.com/v1",
  model: "m-large",
  fallback_model: "",
  api_key_configured: true,
  temperature: 0.2,
  max_answer_tokens: 400,
  request_timeout_s: 20,
  business_name: "Harbour Bikes",
  persona: "",
  tone: "friendly",
  instructions: "",
  handoff_threshold: 0.6,
  monthly_budget_usd: 25,
  when_budget_exhausted: "handoff",
  model_prices: { "m-large": { input_per_million: 1, output_per_million: 2 } },
  updated_at: null,
};

describe("the settings form", () => {
  it("saves what was stored unchanged, keeping the key (left out of the document)", () => {
    const checked = bodyOf(formOf(stored));
    expect(checked.problems).toEqual([]);
    expect(checked.body).toMatchObject({
      provider: "openai-compatible",
      preset: null,
      model: "m-large",
      monthly_budget_usd: 25,
      when_budget_exhausted: "handoff",
      model_prices: { "m-large": { input_per_million: 1, output_per_million: 2 } },
    });
    expect(checked.body && "api_key" in checked.body).toBe(false);
  });

  it("sends a new key, or null to remove the stored one", () => {
    const form = formOf(stored);
    expect(bodyOf({ ...form, keyChange: "replace", apiKey: " sk-new " }).body?.api_key).toBe("sk-new");
    expect(bodyOf({ ...form, keyChange: "remove" }).body?.api_key).toBeNull();
    expect(bodyOf({ ...form, keyChange: "replace", apiKey: "" }).problems).toEqual([
      "Type the new API key, or keep the stored one.",
    ]);
  });

  it("says in words what is out of range, and saves nothing", () => {
    const checked = bodyOf({
      ...formOf(stored),
      temperature: "3",
      max_answer_tokens: "12.5",
      monthly_budget_usd: "lots",
      prices: [{ model: "m-large", input: "1", output: "" }],
    });
    expect(checked.body).toBeNull();
    expect(checked.problems).toEqual([
      "The monthly budget must be a number.",
      "The output price of m-large must be a number.",
      "Temperature must be between 0 and 2.",
      "The answer length must be a whole number.",
    ]);
  });

  it("treats an empty budget as no budget and skips empty price rows", () => {
    const checked = bodyOf({
      ...formOf(stored),
      monthly_budget_usd: " ",
      prices: [{ model: "", input: "", output: "" }],
    });
    expect(checked.body?.monthly_budget_usd).toBeNull();
    expect(checked.body?.model_prices).toEqual({});
  });

  it("refuses a model twice in the prices, and a model provider without a model", () => {
    const twice = bodyOf({
      ...formOf(stored),
      prices: [
        { model: "a", input: "1", output: "1" },
        { model: "a", input: "2", output: "2" },
      ],
    });
    expect(twice.problems).toEqual(["The model a has two prices."]);
    expect(bodyOf({ ...formOf(stored), model: " " }).problems).toEqual([
      "A language model needs a base URL and a model (or choose a preset).",
    ]);
    // The extractive provider needs neither.
    expect(bodyOf({ ...formOf(stored), provider: "extractive", model: "" }).problems).toEqual([]);
  });

  it("fills the preset's address and models, and switches to a model provider", () => {
    const form = withPreset(
      { ...formOf(stored), provider: "extractive" },
      {
        name: "openai",
        description: "OpenAI",
        base_url: "https://api.openai.com/v1",
        model: "gpt-4o-mini",
        fallback_model: "gpt-3.5-turbo",
      },
    );
    expect(form).toMatchObject({
      provider: "openai-compatible",
      preset: "openai",
      base_url: "https://api.openai.com/v1",
      model: "gpt-4o-mini",
      fallback_model: "gpt-3.5-turbo",
    });
    expect(withPreset(form, undefined).preset).toBe("");
  });
});

const day = (d: string, over: Partial<UsageDay>): UsageDay => ({
  day: d,
  requests: 0,
  answers: 0,
  clarifications: 0,
  handoffs: 0,
  handoffs_by_reason: {},
  superseded: 0,
  average_latency_ms: null,
  max_latency_ms: 0,
  llm_calls: 0,
  failed_llm_calls: 0,
  prompt_tokens: 0,
  completion_tokens: 0,
  cost_usd: 0,
  models: [],
  ...over,
});

describe("usage", () => {
  it("covers every day of the range, across a month's end", () => {
    expect(daysBetween("2026-01-30", "2026-02-02")).toEqual([
      "2026-01-30",
      "2026-01-31",
      "2026-02-01",
      "2026-02-02",
    ]);
  });

  it("asks for the last N UTC days", () => {
    expect(lastDays(7, new Date("2026-03-02T23:30:00-05:00"))).toEqual({ from: "2026-02-25", to: "2026-03-03" });
    expect(lastDays(1, new Date("2026-03-02T10:00:00Z"))).toEqual({ from: "2026-03-02", to: "2026-03-02" });
  });

  it("puts zero on the days ai did not list", () => {
    const usage = {
      from: "2026-03-01",
      to: "2026-03-03",
      days: [day("2026-03-02", { answers: 4, handoffs: 1, cost_usd: 0.002 })],
      totals: day("", {}),
      budget: { monthly_budget_usd: null, spent_this_month_usd: 0, remaining_usd: null, when_exhausted: "extractive" },
    } as Usage;
    const days = dailyUsage(usage);
    expect(days.map((d) => d.day)).toEqual(["2026-03-01", "2026-03-02", "2026-03-03"]);
    expect(series(days, (d) => d.answers)).toEqual([0, 4, 0]);
    expect(series(days, (d) => d.cost_usd)).toEqual([0, 0.002, 0]);
  });
});

describe("the budget", () => {
  const budget = (spent: number, limit: number | null, when = "extractive") => ({
    monthly_budget_usd: limit,
    spent_this_month_usd: spent,
    remaining_usd: limit === null ? null : Math.max(0, limit - spent),
    when_exhausted: when,
  });

  it("says what is spent and left, and what happens when it runs out", () => {
    expect(budgetState(budget(2.5, 10), usd)).toEqual({
      share: 0.25,
      tone: "ok",
      words:
        "$2.50 of $10.00 spent this month; $7.50 left. When it runs out, answers come from the knowledge base without a model.",
    });
    expect(budgetState(budget(9, 10, "handoff"), usd).tone).toBe("warn");
  });

  it("says when it is used up, and when there is none", () => {
    const out = budgetState(budget(10.2, 10, "handoff"), usd);
    expect(out.tone).toBe("exhausted");
    expect(out.words).toContain("customers are handed to your team");
    expect(budgetState(budget(0.0017, null), usd)).toEqual({
      share: null,
      tone: "none",
      words: "$0.0017 spent this month; no monthly budget.",
    });
  });
});

describe("dollars", () => {
  it("shows fractions of a cent and thousands", () => {
    expect(usd(0)).toBe("$0.00");
    expect(usd(0.00003)).toBe("< $0.0001");
    expect(usd(0.0017)).toBe("$0.0017");
    expect(usd(0.5)).toBe("$0.50");
    expect(usd(0.012)).toBe("$0.012");
    expect(usd(1234.5)).toBe("$1,234.50");
  });
});
