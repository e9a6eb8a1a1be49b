import { fmt, int, type Measurement, type PartResult, type TableName } from './result.js';

const TITLES: Record<TableName, string> = {
  path: 'Decide path: floor → engine → service (and the OPA peer)',
  toggles: 'Engine in-process: ledger on/off × usage on/off',
  ledger: 'Ledger alone: SqliteLedger appends (batch = entries per commit)',
  verify: 'Ledger verification',
};

const ORDER: TableName[] = ['path', 'toggles', 'ledger', 'verify'];

/** Pipes would end a markdown cell; scenario names never need them. */
function cell(text: string): string {
  return text.replace(/\|/g, '\\|');
}

function row(m: Measurement): string {
  const lat = m.latencyMs;
  const perCore = m.serverCores && m.serverCores > 0.05 ? int(m.throughput / m.serverCores) : '–';
  return `| ${cell(m.scenario)} | ${m.concurrency ?? '–'} | **${int(m.throughput)}** ${m.unit} | ${perCore} | ${lat ? fmt(lat.p50) : '–'} | ${lat ? fmt(lat.p90) : '–'} | ${lat ? fmt(lat.p99) : '–'} | ${m.cpu ?? '–'} | ${cell(m.note ?? '')} |`;
}

/** The markdown that goes between the results markers of bench/README.md. */
export function renderResults(header: string[], parts: PartResult[]): string {
  const all = parts.flatMap((p) => p.measurements);
  const out: string[] = [...header, ''];
  for (const table of ORDER) {
    const rows = all.filter((m) => m.table === table);
    if (rows.length === 0) continue;
    out.push(`#### ${TITLES[table]}`, '');
    out.push('| Scenario | In flight | Throughput | Per core | p50 ms | p90 ms | p99 ms | Cores used | Notes |');
    out.push('|---|--:|--:|--:|--:|--:|--:|---|---|');
    out.push(...rows.map(row), '');
  }
  for (const p of parts) if (p.markdown) out.push(...p.markdown, '');
  const notes = parts.flatMap((p) => p.notes.map((n) => `- ${p.part}: ${n}`));
  if (notes.length > 0) out.push('Notes from this run:', '', ...notes, '');
  return out.join('\n');
}

export const START = '<!-- results:start -->';
export const END = '<!-- results:end -->';

/** Replaces what is between the markers (appending a Results section with markers if they are missing). */
export function spliceResults(readme: string, results: string): string {
  const start = readme.indexOf(START);
  const end = readme.indexOf(END);
  if (start < 0 || end < start) return `${readme.trimEnd()}\n\n## Results\n\n${START}\n${results}\n${END}\n`;
  return `${readme.slice(0, start + START.length)}\n${results}\n${readme.slice(end)}`;
}
