import { existsSync, readFileSync } from 'node:fs';
import type { Command } from 'commander';
import Database from 'better-sqlite3';
import { GavelError } from '../lib/errors.js';
import { defaultKeyPath, ledgerConfig } from '../ledger/config.js';
import { formatVerifierKey, keyFromPem, parseVerifierKey, verifierOf, type VerifierKey } from '../ledger/keys.js';
import { latestCheckpointNote, readOrigin } from '../ledger/meta.js';
import { MAX_QUERY_LIMIT, parseDecision, parseKind, queryEntries, type QueryFilter } from '../ledger/query.js';
import { timeline } from '../ledger/timeline.js';
import { type VerifyReport, verifyLedger } from '../ledger/verify.js';
import { wireVerifyReport } from '../ledger/wire.js';
import { EXIT } from './exit.js';
import { checkedOption, limitOption, timeRangeOptions } from './options.js';
import { progressReporter } from './progress.js';
import { DEFAULTS } from './settings.js';
import { printable, printEntries, printTimeline } from './table.js';

interface LedgerOption {
  ledger: string;
}

export function registerAudit(program: Command): void {
  const audit = program.command('audit').description('query and verify the decision ledger (every command takes --ledger)');
  const withLedger = (c: Command) => c.option('--ledger <file>', 'ledger file (env GAVEL_LEDGER)', DEFAULTS.ledger);

  withLedger(audit.command('verify'))
    .description('recompute every hash, check checkpoint signatures; exit 1 naming the first bad seq')
    .option('--checkpoint <file>', 'an exported checkpoint the ledger must still extend')
    .option('--pubkey <key|file>', 'verifier key (default: derived from <ledger>.key)')
    .option('--key <file>', 'the signing key file, when not <ledger>.key')
    .option('--json', 'print the report as JSON')
    .addHelpText('after', '\nExample:\n  gavel audit checkpoint > cp.txt   # later:\n  gavel audit verify --checkpoint cp.txt')
    .action(verify);

  withLedger(audit.command('checkpoint')).description('print the latest signed checkpoint').action(checkpoint);

  withLedger(audit.command('pubkey'))
    .description('print the verifier key that checks checkpoint signatures')
    .option('--key <file>', 'the signing key file, when not <ledger>.key')
    .action(pubkey);

  timeRangeOptions(withLedger(audit.command('query')))
    .description('list ledger entries, newest first')
    .option('--subject <id>')
    .option('--team <team>')
    .option('--action <type>', 'model.invoke, tool.call, data.export')
    .option('--decision <d>', 'allow, deny, require_approval, redact (policy entries: activated, deactivated, refused)', checkedOption(parseDecision))
    .option('--kind <kind>', 'decision or policy (bundle activations, deactivations, refusals)', checkedOption(parseKind))
    .option('--revision <rev>')
    .option('--decision-id <id>')
    .option('--limit <n>', 'at most n entries (default 100)', limitOption(MAX_QUERY_LIMIT))
    .option('--json', 'JSON lines instead of a table')
    .addHelpText('after', '\nExample:\n  gavel audit query --team payments --decision deny --since 7d --json')
    .action(query);

  timeRangeOptions(withLedger(audit.command('timeline')))
    .description('incident timeline of one subject or team, oldest first')
    .option('--subject <id>')
    .option('--team <team>')
    .option('--limit <n>', 'at most n events (default 10000)', limitOption(MAX_QUERY_LIMIT))
    .option('--json', 'JSON lines instead of text')
    .action(showTimeline);
}

export function openReadOnly(path: string): Database.Database {
  if (path !== ':memory:' && !existsSync(path)) throw new GavelError('config_invalid', `ledger ${path} does not exist`);
  return new Database(path, { readonly: true, fileMustExist: true });
}

function verifierKey(db: Database.Database, o: LedgerOption & { pubkey?: string; key?: string }): VerifierKey {
  if (o.pubkey) return parseVerifierKey(existsSync(o.pubkey) ? readFileSync(o.pubkey, 'utf8') : o.pubkey);
  const origin = readOrigin(db);
  const keyPath = defaultKeyPath(ledgerConfig(o.ledger, o.key ? { keyPath: o.key } : {}));
  if (keyPath && existsSync(keyPath)) return verifierOf(keyFromPem(readFileSync(keyPath, 'utf8'), origin));
  throw new GavelError('config_invalid', `no verifier key: pass --pubkey (from "gavel audit pubkey") or --key; ${keyPath ?? 'the key file'} is absent`);
}

export interface VerifyOptions extends LedgerOption {
  checkpoint?: string;
  pubkey?: string;
  key?: string;
  json?: boolean;
}

/** `gavel audit verify` as a function: the exit code and what it prints on stdout (the action only writes them out). */
export function verifyCommand(o: VerifyOptions, onProgress?: (done: number, total: number) => void): { code: number; stdout: string } {
  const db = openReadOnly(o.ledger);
  let report: VerifyReport;
  try {
    const key = verifierKey(db, o);
    report = verifyLedger(db, {
      key,
      ...(o.checkpoint ? { externalCheckpoint: readFileSync(o.checkpoint, 'utf8') } : {}),
      ...(onProgress ? { onProgress } : {}),
    });
  } finally {
    db.close();
  }
  return { code: report.ok ? EXIT.ok : EXIT.failed, stdout: verifyText(report, o.json === true) };
}

function verifyText(report: VerifyReport, json: boolean): string {
  if (json) return `${JSON.stringify(wireVerifyReport(report))}\n`;
  if (report.ok) {
    const erased = report.payloadsErased > 0 ? `, ${report.payloadsErased} payloads erased (their headers verified)` : '';
    return `ok: ${report.entries} entries, head ${printable(report.headHash)}, ${report.checkpointsChecked} checkpoints verified${erased}\n`;
  }
  // The message quotes hashes as stored: a tampered file may hold anything there.
  return `FAILED at seq ${report.failure!.seq} (${report.failure!.kind}): ${printable(report.failure!.message)}\n`;
}

function verify(o: VerifyOptions): void {
  const progress = progressReporter();
  let result: { code: number; stdout: string };
  try {
    result = verifyCommand(o, progress.update);
  } finally {
    progress.stop();
  }
  process.stdout.write(result.stdout);
  process.exitCode = result.code;
}

function checkpoint(o: LedgerOption): void {
  const db = openReadOnly(o.ledger);
  const note = latestCheckpointNote(db);
  db.close();
  if (!note) {
    process.stderr.write('gavel: the ledger has no checkpoint yet\n');
    process.exitCode = EXIT.failed;
    return;
  }
  process.stdout.write(note);
}

function pubkey(o: LedgerOption & { key?: string }): void {
  const db = openReadOnly(o.ledger);
  const key = verifierKey(db, o);
  db.close();
  process.stdout.write(`${formatVerifierKey(key)}\n`);
}

function query(o: LedgerOption & QueryFilter & { json?: boolean }): void {
  const db = openReadOnly(o.ledger);
  const filter: QueryFilter = { ...o };
  printEntries(queryEntries(db, filter), o.json === true);
  db.close();
}

function showTimeline(o: LedgerOption & QueryFilter & { json?: boolean }, command: Command): void {
  if (!o.subject && !o.team) command.error('error: timeline needs --subject or --team', { exitCode: EXIT.usage });
  const db = openReadOnly(o.ledger);
  printTimeline(timeline(db, o), o.json === true);
  db.close();
}
