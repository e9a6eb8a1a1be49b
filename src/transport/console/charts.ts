import { html, type Html } from './html.js';

export interface Series {
  label: string;
  /** One value per category, in the categories' order. */
  values: number[];
  /** A CSS class of console.css (the colour). */
  tone: string;
}

/**
 * A bar chart drawn on the server as SVG: no script, nothing a Content-Security-Policy has to allow.
 * Its figures are also in a table beside it (in a `<details>`), so a screen reader gets the numbers.
 */
export function barChart(title: string, categories: string[], series: Series[], unit: string): Html {
  const width = 640;
  const height = 200;
  const left = 56;
  const bottom = 28;
  const max = Math.max(1, ...series.flatMap((s) => s.values));
  const band = (width - left) / Math.max(1, categories.length);
  const bar = Math.max(2, (band - 4) / Math.max(1, series.length));
  const y = (v: number) => height - bottom - (v / max) * (height - bottom - 8);
  const id = `chart-${title.toLowerCase().replace(/[^a-z0-9]+/g, '-')}`;
  return html`<figure class="chart" aria-labelledby="${id}">
<figcaption id="${id}">${title}</figcaption>
<svg viewBox="0 0 ${width} ${height}" width="100%" role="img" aria-labelledby="${id}">
<line class="axis" x1="${left}" y1="${height - bottom}" x2="${width}" y2="${height - bottom}"></line>
<text class="tick" x="${left - 6}" y="${y(max) + 4}" text-anchor="end">${compact(max)}</text>
<text class="tick" x="${left - 6}" y="${height - bottom}" text-anchor="end">0</text>
${categories.map((c, i) =>
  series.map((s, j) => {
    const v = s.values[i] ?? 0;
    return html`<rect class="${s.tone}" x="${left + i * band + 2 + j * bar}" y="${y(v)}" width="${bar}" height="${height - bottom - y(v)}"><title>${c} ${s.label}: ${v.toLocaleString('en')} ${unit}</title></rect>`;
  }),
)}
${categories.map((c, i) => (i % Math.ceil(categories.length / 8) === 0 ? html`<text class="tick" x="${left + i * band + band / 2}" y="${height - 8}" text-anchor="middle">${c.slice(5)}</text>` : ''))}
</svg>
<p class="legend">${series.map((s) => html`<span class="key ${s.tone}">${s.label}</span> `)}</p>
<details><summary>Figures</summary><table><thead><tr><th scope="col">Day</th>${series.map((s) => html`<th scope="col">${s.label} (${unit})</th>`)}</tr></thead><tbody>${categories.map(
    (c, i) => html`<tr><td>${c}</td>${series.map((s) => html`<td>${(s.values[i] ?? 0).toLocaleString('en')}</td>`)}</tr>`,
  )}</tbody></table></details>
</figure>`;
}

function compact(n: number): string {
  return n >= 1e9 ? `${(n / 1e9).toFixed(1)}G` : n >= 1e6 ? `${(n / 1e6).toFixed(1)}M` : n >= 1e3 ? `${(n / 1e3).toFixed(1)}k` : String(Math.round(n));
}

/** The last `days` UTC days up to `now`, oldest first, as YYYY-MM-DD. */
export function lastDays(now: Date, days: number): string[] {
  const out: string[] = [];
  for (let i = days - 1; i >= 0; i--) out.push(new Date(now.getTime() - i * 86_400_000).toISOString().slice(0, 10));
  return out;
}
