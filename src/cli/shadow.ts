import type { Command } from 'commander';
import type { PolicyRef } from '../engine/policy-ref.js';
import { Tally, type ReplayReport } from '../engine/replay/tally.js';
import { shadowRecords, type ShadowFilter } from '../ledger/shadow-table.js';
import { openReadOnly } from './audit.js';
import { timeRangeOptions } from './options.js';
import { DEFAULTS } from './settings.js';
import { printable } from './table.js';
import { transitionText } from './transition-report.js';

interface Named {
  bundle: string;
  revision: string;
  digest: string;
  count: number;
}

/** The shadow report: the replay report's shape, live decisions on the left, the shadow bundle's on the right. */
export interface ShadowReport extends ReplayReport {
  live: Named[];
  shadow: Named[];
}

export function registerShadow(program: Command): void {
  const shadow = program.command('shadow').description('what shadow bundles (serve --shadow-bundles) answered on live traffic');
  timeRangeOptions(shadow.command('report'))
    .description('transitions from live to shadow decisions, with reason codes and example decision ids')
    .option('--ledger <file>', 'ledger file (env GAVEL_LEDGER)', DEFAULTS.ledger)
    .option('--json', 'print the report as one JSON object')
    .addHelpText('after', '\nExample:\n  gavel shadow report --ledger ./data/ledger.db --since 24h')
    .action((o: ShadowFilter & { ledger: string; json?: boolean }) => {
      const report = shadowReport(o.ledger, o);
      process.stdout.write(o.json ? `${JSON.stringify(report)}\n` : shadowText(report, o.ledger));
    });
}

export function shadowReport(ledger: string, filter: ShadowFilter): ShadowReport {
  const db = openReadOnly(ledger);
  const tally = new Tally();
  const live = new Map<string, Named>();
  const shadow = new Map<string, Named>();
  const count = (into: Map<string, Named>, s: PolicyRef) => {
    const key = `${s.bundle}\u0000${s.revision}\u0000${s.digest}`;
    const seen = into.get(key) ?? { bundle: s.bundle, revision: s.revision, digest: s.digest, count: 0 };
    seen.count++;
    into.set(key, seen);
  };
  try {
    for (const r of shadowRecords(db, filter)) {
      tally.add({ decisionId: r.decisionId, from: r.live, to: r.shadow, approximate: false });
      count(live, r.live);
      count(shadow, r.shadow);
    }
  } finally {
    db.close();
  }
  const byCount = (m: Map<string, Named>) => [...m.values()].sort((a, b) => b.count - a.count);
  return { ...tally.report(), live: byCount(live), shadow: byCount(shadow) };
}

function shadowText(report: ShadowReport, ledger: string): string {
  const p = printable;
  const n = (x: Named) => `${p(x.bundle)} revision ${p(x.revision)} (${p(x.digest)}): ${x.count.toLocaleString('en-US')}`;
  const heading = [`shadow report of ${p(ledger)}`, ...report.shadow.map((s) => `  shadow ${n(s)}`), ...report.live.map((l) => `  live   ${n(l)}`)];
  return transitionText(report, heading, { done: 'shadowed', left: 'live', right: 'shadow' });
}
