// Charts drawn in plain SVG (no chart library, no inline styles: the CSP allows neither), each
// with the same numbers in a table for screen readers and for anyone who wants the figures.

/** Bars per day (one or two series), drawn in SVG; the table below carries the numbers. */
export function DailyBars(props: {
  title: string;
  days: string[];
  series: { label: string; values: number[]; tone: string }[];
  format?: (n: number) => string;
}) {
  const format = props.format ?? ((n: number) => String(n));
  // The tallest bar fills the chart, also for fractions of a dollar; all zero stays flat.
  const max = Math.max(0, ...props.series.flatMap((s) => s.values)) || 1;
  const width = Math.max(props.days.length * 28, 280);
  const barWidth = 22 / props.series.length;
  return (
    <figure class="chart">
      <figcaption>{props.title}</figcaption>
      <svg viewBox={`0 0 ${width} 130`} role="img" aria-label={props.title} preserveAspectRatio="none">
        {props.days.map((day, i) =>
          props.series.map((s, j) => {
            const h = ((s.values[i] ?? 0) / max) * 110;
            return (
              <rect key={`${day}-${s.label}`} class={`bar bar-${s.tone}`} x={i * 28 + 3 + j * barWidth}
                y={115 - h} width={barWidth - 1} height={h}>
                <title>{`${day} · ${s.label}: ${format(s.values[i] ?? 0)}`}</title>
              </rect>
            );
          }),
        )}
        <line x1="0" x2={width} y1="115.5" y2="115.5" class="axis" />
      </svg>
      <div class="legend">
        {props.series.map((s) => (
          <span key={s.label}>
            <i class={`swatch bar-${s.tone}`} /> {s.label}
          </span>
        ))}
      </div>
      <details>
        <summary>Numbers</summary>
        <table class="table">
          <thead>
            <tr>
              <th scope="col">Day</th>
              {props.series.map((s) => <th key={s.label} scope="col">{s.label}</th>)}
            </tr>
          </thead>
          <tbody>
            {props.days.map((day, i) => (
              <tr key={day}>
                <th scope="row">{day}</th>
                {props.series.map((s) => <td key={s.label}>{format(s.values[i] ?? 0)}</td>)}
              </tr>
            ))}
          </tbody>
        </table>
      </details>
    </figure>
  );
}

/** One headline number with its label (and a note under it). */
export function Figure(props: { label: string; value: string; note?: string | undefined }) {
  return (
    <div class="figure">
      <span class="figure-value">{props.value}</span>
      <span class="figure-label">{props.label}</span>
      {props.note && <span class="muted">{props.note}</span>}
    </div>
  );
}
