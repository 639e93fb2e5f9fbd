// Analytics: how the AI and the team are doing over a period (GET /api/v1/analytics/summary),
// as figures and charts (plain SVG, each with the same numbers in a table for screen readers).
import { useState } from "preact/hooks";
import { api, must } from "../api/client";
import type { Schemas } from "../api/client";
import { DailyBars, Figure } from "../components/charts";
import { ErrorText, PageHeader, useLoad } from "../components/ui";
import { duration, percent, usd } from "../format";
import { useSession } from "../session";

type Summary = Schemas["AnalyticsSummary"];
const PERIODS = [
  { days: 1, label: "Last 24 hours" },
  { days: 7, label: "Last 7 days" },
  { days: 30, label: "Last 30 days" },
  { days: 90, label: "Last 90 days" },
];

function Body(props: { summary: Summary }) {
  const s = props.summary;
  const c = s.conversations;
  const handoffTotal = c.handoffs.reduce((n, h) => n + h.count, 0);
  const days = c.daily.map((d) => d.day);
  return (
    <>
      <div class="figures">
        <Figure label="Conversations" value={String(c.conversations)} note={`${c.new_conversations} new`} />
        <Figure label="Messages in" value={String(c.messages_in)} />
        <Figure label="Messages out" value={String(c.messages_out)} note={`${c.messages_out_ai} by the AI`} />
        <Figure label="Resolved by the AI alone" value={percent(c.deflection_rate)}
          note={`${c.resolved_by_ai} of ${c.conversations}`} />
        <Figure label="Handoffs to people" value={String(handoffTotal)} />
        {s.llm && (
          <Figure label="LLM cost" value={usd(s.llm.cost_usd)}
            note={`${(s.llm.prompt_tokens + s.llm.completion_tokens).toLocaleString()} tokens`} />
        )}
      </div>
      <div class="panel-grid">
        <section class="panel">
          <h2>First response time</h2>
          <table class="table">
            <thead>
              <tr>
                <th scope="col">By</th>
                <th scope="col">Responses</th>
                <th scope="col">Median (p50)</th>
                <th scope="col">p90</th>
              </tr>
            </thead>
            <tbody>
              {(["ai", "people"] as const).map((who) => {
                const r = c.first_response[who];
                return (
                  <tr key={who}>
                    <th scope="row">{who === "ai" ? "AI" : "People"}</th>
                    <td>{r.count}</td>
                    <td>{duration(r.p50_s)}</td>
                    <td>{duration(r.p90_s)}</td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </section>
        <section class="panel">
          <h2>Handoffs by reason</h2>
          {c.handoffs.length ? (
            <ul class="reasons">
              {c.handoffs.map((h) => (
                <li key={h.reason}>
                  <span>{h.label}</span>
                  <meter min={0} max={handoffTotal} value={h.count} aria-label={h.label} />
                  <strong>{h.count}</strong>
                </li>
              ))}
            </ul>
          ) : (
            <p class="muted">No handoffs in this period.</p>
          )}
        </section>
      </div>
      <DailyBars title="Messages per day" days={days} series={[
        { label: "In", values: c.daily.map((d) => d.messages_in), tone: "in" },
        { label: "Out", values: c.daily.map((d) => d.messages_out), tone: "out" },
      ]} />
      {s.llm ? (
        <>
          <DailyBars title="LLM tokens per day" days={s.llm.daily.map((d) => d.day)} series={[
            { label: "Prompt", values: s.llm.daily.map((d) => d.prompt_tokens), tone: "in" },
            { label: "Completion", values: s.llm.daily.map((d) => d.completion_tokens), tone: "out" },
          ]} />
          <DailyBars title="LLM cost per day (USD)" days={s.llm.daily.map((d) => d.day)}
            format={usd}
            series={[{ label: "Cost", values: s.llm.daily.map((d) => d.cost_usd), tone: "cost" }]} />
        </>
      ) : (
        <p class="muted" role="status">
          LLM tokens and cost are not available right now{s.unavailable.length ? ` (${s.unavailable.join(", ")} did not answer)` : ""}.
        </p>
      )}
    </>
  );
}

export function AnalyticsPage() {
  const { directory } = useSession();
  const [days, setDays] = useState(7);
  const [teamId, setTeamId] = useState("");
  const summary = useLoad(
    async () =>
      must(await api.GET("/api/v1/analytics/summary", {
        params: { query: { days, ...(teamId ? { team_id: teamId } : {}) } },
      })),
    [days, teamId],
  );
  return (
    <section class="page analytics">
      <PageHeader title="Analytics">
        <label class="inline-select">
          <span>Period</span>
          <select value={days} onChange={(e) => setDays(Number(e.currentTarget.value))}>
            {PERIODS.map((p) => <option key={p.days} value={p.days}>{p.label}</option>)}
          </select>
        </label>
        <label class="inline-select">
          <span>Team</span>
          <select value={teamId} onChange={(e) => setTeamId(e.currentTarget.value)}>
            <option value="">All teams</option>
            {directory.teams.map((t) => <option key={t.id} value={t.id}>{t.name}</option>)}
          </select>
        </label>
      </PageHeader>
      <ErrorText error={summary.error} />
      {summary.data && <Body summary={summary.data} />}
    </section>
  );
}
