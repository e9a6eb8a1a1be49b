import type { ReasonDay, SpendDay, SpendTotal } from '../../../runtime/faces.js';
import type { Cap, CapScope } from '../caps.js';
import { barChart, lastDays } from '../charts.js';
import { html, type Html } from '../html.js';

export interface BudgetsParts {
  scope: CapScope;
  key: string;
  now: Date;
  /** Live totals of the key (used + reserved per window), when a running gavel meters. */
  totals: Record<string, { tokens: number; cost: number }> | undefined;
  caps: Cap[];
  top: SpendTotal[];
  byDay: SpendDay[];
  reasons: ReasonDay[];
  /** Reason codes counted in `reasons`: tier-downs and budget denials. */
  codes: readonly string[];
}

const SCOPE_LABEL: Record<CapScope, string> = { subject: 'Subject', team: 'Team', cost_center: 'Cost center' };

/** Usage against caps for one key, spend per day, the top spenders of the week, tier-downs and budget denials per day. */
export function budgetsBody(p: BudgetsParts): Html {
  const days = lastDays(p.now, 30);
  const spend = new Map(p.byDay.map((d) => [d.day, d]));
  const caps = p.caps.filter((c) => c.scope === p.scope);
  return html`<form class="filters" method="get" action="/budgets" aria-label="Whose budget">
<label>Scope <select name="scope">${(['team', 'cost_center', 'subject'] as const).map((s) => html`<option value="${s}"${p.scope === s ? html` selected` : ''}>${SCOPE_LABEL[s]}</option>`)}</select></label>
<label>Name <input name="key" value="${p.key}" autocomplete="off"></label>
<button type="submit">Show</button>
</form>
${
  p.key === ''
    ? html`<p>Name a ${SCOPE_LABEL[p.scope].toLowerCase()} to see its usage against its caps; the charts below add up all of them.</p>`
    : html`<h2>${SCOPE_LABEL[p.scope]} ${p.key}: usage against caps</h2>
${
  p.totals === undefined
    ? html`<p>Live totals are read from a running gavel; this console reads ledger files, so the charts below are from settled reports only.</p>`
    : html`<table class="caps"><thead><tr><th scope="col">Window</th><th scope="col">Tokens (used + reserved)</th><th scope="col">Cost</th><th scope="col">Cap</th><th scope="col">Share of cap</th></tr></thead><tbody>${(
        ['day', 'week', 'month'] as const
      ).map((w) => {
        const t = p.totals![w] ?? { tokens: 0, cost: 0 };
        const cap = caps.find((c) => c.window === w);
        const limit = cap?.limitFor(p.key);
        const used = cap?.unit === 'cost' ? t.cost : t.tokens;
        const share = limit && limit > 0 ? Math.round((used / limit) * 100) : undefined;
        return html`<tr><td>${w}</td><td>${t.tokens.toLocaleString('en')}</td><td>${t.cost.toLocaleString('en')}</td><td>${cap && limit !== undefined ? `${limit.toLocaleString('en')} ${cap.unit} (${cap.name})` : 'none declared'}</td><td>${share === undefined ? '' : html`<meter min="0" max="100" low="80" high="95" optimum="0" value="${Math.min(share, 100)}" aria-label="${share}% of the cap">${share}%</meter> ${share}%`}</td></tr>`;
      })}</tbody></table>`
}`
}
${barChart(
  `Tokens settled per day${p.key ? ` (${p.key})` : ''}, last 30 days`,
  days,
  [{ label: 'tokens', values: days.map((d) => spend.get(d)?.tokens ?? 0), tone: 'tone-a' }],
  'tokens',
)}
${barChart(
  'Tier-downs and budget denials per day, last 30 days',
  days,
  p.codes.map((code, i) => ({
    label: code,
    values: days.map((d) => p.reasons.filter((r) => r.day === d && r.code === code).reduce((n, r) => n + r.count, 0)),
    tone: `tone-${'bcdef'[i % 5]}`,
  })),
  'decisions',
)}
<h2>Top spenders this week (${SCOPE_LABEL[p.scope].toLowerCase()})</h2>
${
  p.top.length === 0
    ? html`<p>No usage reported this week.</p>`
    : html`<table><thead><tr><th scope="col">${SCOPE_LABEL[p.scope]}</th><th scope="col">Tokens</th><th scope="col">Cost (micros)</th><th scope="col">Reports</th></tr></thead><tbody>${p.top.map(
        (t) =>
          html`<tr><td><a href="/budgets?scope=${p.scope}&amp;key=${encodeURIComponent(t.key)}">${t.key}</a></td><td>${t.tokens.toLocaleString('en')}</td><td>${t.costMicros.toLocaleString('en')}</td><td>${t.reports}</td></tr>`,
      )}</tbody></table>`
}`;
}
