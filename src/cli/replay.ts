import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { bundleNameFromPath, readBundle } from '../bundles/bundle.js';
import { bundleLimitOption, bundleLimitsFrom, type BundleLimitFlags } from './bundle-limit-options.js';
import { ENGINE_DEFAULTS } from '../engine/config.js';
import { replay, type ReplayRun } from '../engine/replay/replayer.js';
import type { RecordedFilter } from '../engine/replay/recorded.js';
import { errorMessage, GavelError } from '../lib/errors.js';
import { LedgerRecordedDecisions, recordedFilter } from '../ledger/recorded-decisions.js';
import { openReadOnly } from './audit.js';
import { EXIT } from './exit.js';
import { intOption, timeRangeOptions, workersOption } from './options.js';
import { progressReporter } from './progress.js';
import { DEFAULTS } from './settings.js';
import { printable } from './table.js';
import { transitionText } from './transition-report.js';

export interface ReplayCommandOptions extends RecordedFilter, BundleLimitFlags {
  ledger: string;
  bundle: string;
  policy?: string;
  workers?: number;
  json?: boolean;
  failOnChange?: boolean;
  strict?: boolean;
}

export function registerReplay(program: Command): void {
  timeRangeOptions(program.command('replay'))
    .description('re-evaluate recorded decisions with a candidate bundle, each on its stored input and context, and report what would change (read-only)')
    .requiredOption('--bundle <file>', 'the candidate bundle (.tar.gz, as opa build -t wasm writes it)')
    .option('--ledger <file>', 'ledger file (env GAVEL_LEDGER); a live one is fine: replay only reads', DEFAULTS.ledger)
    .option('--policy <entrypoint>', 'evaluate every decision at this entrypoint (default: the one each decision recorded)')
    .option('--subject <id>')
    .option('--team <team>')
    .option('--limit <n>', 'at most the n oldest matching decisions', intOption)
    .option('--workers <n>', 'worker threads evaluating (default 0: this thread, one core)', workersOption, 0)
    .option('--json', 'print the report as one JSON object')
    .option(
      '--fail-on-change',
      "exit 1 when an exactly replayed decision changed, or the candidate lacks a recorded decision's entrypoint (for a policy pull request in CI)",
    )
    .option('--strict', 'with --fail-on-change: approximate decisions (stored with redacted or hashed content) that changed count too')
    .addOption(bundleLimitOption('maxBytes'))
    .addOption(bundleLimitOption('maxEntryBytes'))
    .addOption(bundleLimitOption('maxDataBytes'))
    .addOption(bundleLimitOption('maxManifestBytes'))
    .addOption(bundleLimitOption('maxParseHeapBytes'))
    .addHelpText(
      'after',
      '\nExamples:\n  gavel replay --ledger ./data/ledger.db --bundle candidate.tar.gz --since 7d\n  gavel replay --bundle candidate.tar.gz --json --fail-on-change',
    )
    .action(async (o: ReplayCommandOptions) => {
      const progress = progressReporter(10_000, 'replaying', 'decisions');
      let result: { code: number; stdout: string };
      try {
        result = await replayCommand(o, progress.update);
      } finally {
        progress.stop();
      }
      process.stdout.write(result.stdout);
      process.exitCode = result.code;
    });
}

/** `gavel replay` as a function: the exit code and what it prints (the action only writes them out). */
export async function replayCommand(o: ReplayCommandOptions, onProgress?: (done: number, total: number) => void): Promise<{ code: number; stdout: string }> {
  // The candidate is read as a server reads bundles: bounded while it inflates, its JSON parsed in a capped process.
  const candidate = await readBundle(bundleNameFromPath(o.bundle), readCandidate(o.bundle), undefined, bundleLimitsFrom(o));
  const db = openReadOnly(o.ledger);
  let run: ReplayRun;
  try {
    const filter = recordedFilter(o, new Date());
    run = await replay(new LedgerRecordedDecisions(db), {
      candidate,
      ...(o.policy ? { entrypoint: o.policy } : {}),
      filter,
      workers: o.workers ?? 0,
      limits: { memoryInitialPages: ENGINE_DEFAULTS.memoryInitialPages, memoryMaxPages: ENGINE_DEFAULTS.memoryMaxPages },
      ...(onProgress ? { onProgress } : {}),
    });
  } finally {
    db.close();
  }
  const changed = run.changed + (run.skipped_detail.entrypoint_missing ?? 0) + (o.strict ? run.approximate_detail.changed : 0);
  const code = o.failOnChange && changed > 0 ? EXIT.failed : EXIT.ok;
  return { code, stdout: o.json ? `${JSON.stringify(run)}\n` : replayText(run, o.ledger) };
}

function replayText(run: ReplayRun, ledger: string): string {
  const p = printable;
  const c = run.candidate;
  const heading = [`replay of ${p(ledger)} with candidate ${p(c.bundle)} revision ${p(c.revision)} (${p(c.digest)})`];
  for (const r of run.recorded_by) heading.push(`  recorded by ${p(r.bundle)} revision ${p(r.revision)} (${p(r.digest)}): ${r.count.toLocaleString('en-US')}`);
  return transitionText(run, heading);
}

function readCandidate(path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new GavelError('config_invalid', `candidate bundle ${path} cannot be read: ${errorMessage(err)}`);
  }
}
