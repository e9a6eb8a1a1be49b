import { existsSync, readFileSync } from 'node:fs';
import type { Command } from 'commander';
import type Database from 'better-sqlite3';
import { openLedgerReadOnly } from '../ledger/read-only.js';
import type { SharedApprovalsReport } from '../state/shared-approvals.js';
import { stateMismatches, withState } from '../state/verify-state.js';
import { redactUrl } from '../usage/postgres/config.js';
import { GavelError } from '../lib/errors.js';
import { parseCheckpoint } from '../ledger/checkpoint.js';
import { witnessRequirement } from '../ledger/cosignature.js';
import { cosignedNote } from '../ledger/cosignature-table.js';
import { formatVerifierKey, type VerifierKey } from '../ledger/keys.js';
import { latestCheckpointNote, readOrigin } from '../ledger/meta.js';
import { MAX_QUERY_LIMIT, parseDecision, parseKind, queryEntries, type QueryFilter } from '../ledger/query.js';
import { mergeByTime, type FromLedger } from '../ledger/merge.js';
import { timeline } from '../ledger/timeline.js';
import { verifierKeyOfFile } from '../ledger/verifier-key.js';
import { verifyLedger } from '../ledger/verify.js';
import { wireVerifyReport, type WireVerifyReport } from '../ledger/wire.js';
import { registerErase } from './audit-erase.js';
import { registerProofCommands } from './audit-proofs.js';
import { EXIT } from './exit.js';
import { checkedOption, collect, intOption, limitOption, textOrFile, timeRangeOptions } from './options.js';
import { progressReporter } from './progress.js';
import { DEFAULTS } from './settings.js';
import { printable, printEntries, printTimeline } from './table.js';

interface LedgerOption {
  ledger: string;
}

export function registerAudit(program: Command): void {
  const audit = program.command('audit').description('query and verify the decision ledger (every command takes --ledger)');
  const withLedger = (c: Command) => c.option('--ledger <file>', 'ledger file (env GAVEL_LEDGER)', DEFAULTS.ledger);
  // Several replicas' ledgers at once: each keeps its own chain and key; entries are merged by time.
  const withLedgers = (c: Command) =>
    c.option('--ledger <file>', `ledger file, repeatable for several replicas (default ${DEFAULTS.ledger}, env GAVEL_LEDGER)`, collect, [] as string[]);

  withLedgers(audit.command('verify'))
    .description('recompute every hash, check checkpoint signatures; exit 1 naming the first bad seq (of each ledger, with several)')
    .option('--checkpoint <file>', 'an exported checkpoint the ledger must still extend (repeatable: the n-th for the n-th --ledger)', collect, [] as string[])
    .option('--pubkey <key|file>', 'verifier key (default: derived from <ledger>.key; repeatable: the n-th for the n-th --ledger)', collect, [] as string[])
    .option('--key <file>', 'the signing key file, when not <ledger>.key (one ledger only)')
    .option(
      '--witness-key <key|file>',
      'a witness verifier key (`gavel witness pubkey`); repeatable. A checkpoint of the ledger must carry cosignatures of --min-witnesses of them',
      collect,
      [] as string[],
    )
    .option('--min-witnesses <n>', 'how many of the --witness-key witnesses must have cosigned (default 1 with a key given)', intOption)
    .option(
      '--state-store <url>',
      "replicas sharing a PostgreSQL store: also check its approval rows against the ledgers given (every replica's, for a full check)",
    )
    .option('--json', 'print the report as JSON')
    .addHelpText(
      'after',
      '\nExamples:\n  gavel audit checkpoint > cp.txt   # later:\n  gavel audit verify --checkpoint cp.txt\n  gavel audit verify --witness-key witness.vkey --min-witnesses 1\n  gavel audit verify --ledger eu.db --ledger us.db\n  gavel audit verify --ledger a.db --ledger b.db --ledger c.db --state-store postgres://…',
    )
    .action(verify);

  withLedger(audit.command('checkpoint')).description('print the latest signed checkpoint').action(checkpoint);

  registerProofCommands(audit, withLedger);
  registerErase(audit, withLedger);

  withLedger(audit.command('pubkey'))
    .description('print the verifier key that checks checkpoint signatures')
    .option('--key <file>', 'the signing key file, when not <ledger>.key')
    .action(pubkey);

  timeRangeOptions(withLedgers(audit.command('query')))
    .description('list ledger entries, newest first (several --ledger: merged by time, each entry naming its ledger)')
    .option('--subject <id>')
    .option('--team <team>')
    .option('--action <type>', 'model.invoke, tool.call, data.export')
    .option('--decision <d>', 'allow, deny, require_approval, redact (policy entries: activated, deactivated, refused)', checkedOption(parseDecision))
    .option(
      '--kind <kind>',
      'decision, policy (bundle activations, deactivations, refusals), approval, usage, state or offline (decided by an enforcement point without gavel)',
      checkedOption(parseKind),
    )
    .option('--revision <rev>')
    .option('--decision-id <id>')
    .option('--cost-center <id>')
    .option('--caller <identity>', 'the identity that asked (the enforcement point, or the approval front end)')
    .option('--resource <name>', 'the model or tool acted on')
    .option('--reason <code>', 'entries whose reason codes include this one')
    .option('--limit <n>', 'at most n entries (default 100)', limitOption(MAX_QUERY_LIMIT))
    .option('--json', 'JSON lines instead of a table')
    .addHelpText('after', '\nExample:\n  gavel audit query --team payments --decision deny --since 7d --json')
    .action(query);

  timeRangeOptions(withLedgers(audit.command('timeline')))
    .description('incident timeline of one subject, team or cost center, oldest first (several --ledger: merged by time)')
    .option('--subject <id>')
    .option('--team <team>')
    .option('--cost-center <id>')
    .option('--limit <n>', 'at most n events (default 10000)', limitOption(MAX_QUERY_LIMIT))
    .option('--json', 'JSON lines instead of text')
    .action(showTimeline);
}

export function openReadOnly(path: string): Database.Database {
  if (path !== ':memory:' && !existsSync(path)) throw new GavelError('config_invalid', `ledger ${path} does not exist`);
  return openLedgerReadOnly(path);
}

function verifierKey(db: Database.Database, o: LedgerOption & { pubkey?: string; key?: string }): VerifierKey {
  const { key, keyPath } = verifierKeyOfFile(db, o.ledger, { pubkey: o.pubkey, keyFile: o.key });
  if (key) return key;
  throw new GavelError('config_invalid', `no verifier key: pass --pubkey (from "gavel audit pubkey") or --key; ${keyPath ?? 'the key file'} is absent`);
}

/** The ledgers a multi-ledger command reads: those named, or the default one. */
function ledgersOf(o: { ledger: string[] }): string[] {
  return o.ledger.length > 0 ? o.ledger : [DEFAULTS.ledger];
}

/** Reads each ledger read-only and merges what `read` returns by time (several replicas' ledgers as one view). */
function acrossLedgers<T extends { time: string; seq: number }>(
  ledgers: string[],
  read: (db: Database.Database) => T[],
  order: 'asc' | 'desc',
  limit: number | undefined,
): Array<T & FromLedger> {
  const sources = ledgers.map((ledger) => {
    const db = openReadOnly(ledger);
    try {
      return { from: { ledger, origin: readOrigin(db) }, items: read(db) };
    } finally {
      db.close();
    }
  });
  return mergeByTime(sources, order, limit);
}

export interface VerifyOptions extends LedgerOption {
  checkpoint?: string;
  pubkey?: string;
  key?: string;
  json?: boolean;
  /** Witness verifier keys (text or files holding them) and how many must have cosigned a checkpoint. */
  witnessKey?: string[];
  minWitnesses?: number;
}

/** The witness requirement of `--witness-key`/`--min-witnesses`, or undefined when none is asked. */
function witnessesOf(o: { witnessKey?: string[]; minWitnesses?: number }): ReturnType<typeof witnessRequirement> | undefined {
  const texts = (o.witnessKey ?? []).map((k) => textOrFile(k, '--witness-key'));
  if (texts.length === 0 && o.minWitnesses === undefined) return undefined;
  return witnessRequirement(texts, o.minWitnesses ?? 1);
}

/** `gavel audit verify` as a function: the exit code and what it prints on stdout (the action only writes them out). */
export function verifyCommand(o: VerifyOptions, onProgress?: (done: number, total: number) => void): { code: number; stdout: string } {
  const db = openReadOnly(o.ledger);
  let report: WireVerifyReport;
  try {
    const key = verifierKey(db, o);
    const witnesses = witnessesOf(o);
    const chain = verifyLedger(db, {
      key,
      ...(o.checkpoint ? { externalCheckpoint: readFileSync(o.checkpoint, 'utf8') } : {}),
      ...(onProgress ? { onProgress } : {}),
      ...(witnesses ? { witnesses } : {}),
    });
    // The state tables are checked against the chain only once the chain itself holds.
    report = withState(wireVerifyReport(chain), chain.ok ? stateMismatches(db) : [], o.ledger);
  } finally {
    db.close();
  }
  return { code: report.ok ? EXIT.ok : EXIT.failed, stdout: verifyText(report, o.json === true) };
}

function verifyText(report: WireVerifyReport, json: boolean): string {
  if (json) return `${JSON.stringify(report)}\n`;
  if (report.ok) {
    const by = report.erasure_seqs.length > 5 ? `${report.erasure_seqs.slice(0, 5).join(', ')}, …` : report.erasure_seqs.join(', ');
    const erased =
      report.payloads_erased > 0
        ? `, ${report.payloads_erased} payloads erased by entr${report.erasure_seqs.length === 1 ? 'y' : 'ies'} ${by} (their headers verified)`
        : '';
    const tree = report.tree_checked ? ', the Merkle tree matches the entries' : ', no Merkle tree in this file yet (built at the next start of gavel serve)';
    const witnessed =
      report.witnessed_by.length > 0
        ? `, cosigned up to ${report.witnessed_size} of ${report.entries} entries by ${report.witnessed_by.map(printable).join(', ')}`
        : '';
    return `ok: ${report.entries} entries, head ${printable(report.head_hash)}, ${report.checkpoints_checked} checkpoints verified${erased}${tree}${witnessed}; approval and usage tables agree with the chain\n`;
  }
  if (report.failure_kind === 'state') {
    const rows = report.state_mismatches.map((m) => `  ${printable(m.table)} ${printable(m.key)}: ${m.problem}\n`).join('');
    return `FAILED (state): the chain verified (${report.entries} entries), but ${report.state_mismatches.length} rows of the state tables disagree with it:\n${rows}`;
  }
  // The message quotes hashes as stored: a tampered file may hold anything there.
  return `FAILED at seq ${report.failed_seq} (${report.failure_kind}): ${printable(report.message)}\n`;
}

export interface VerifyAllOptions {
  ledger: string[];
  checkpoint: string[];
  pubkey: string[];
  key?: string;
  json?: boolean;
  stateStore?: string;
  witnessKey?: string[];
  minWitnesses?: number;
}

/**
 * `gavel audit verify` over one ledger or several (one per replica, each with its own chain and key):
 * each is verified on its own, then one summary; exit 1 when any fails.
 */
export function verifyAllCommand(
  o: VerifyAllOptions,
  onProgress?: (done: number, total: number) => void,
  shared?: SharedApprovalsReport,
): { code: number; stdout: string } {
  const ledgers = ledgersOf(o);
  if (o.checkpoint.length > ledgers.length || o.pubkey.length > ledgers.length) {
    throw new GavelError('config_invalid', 'give at most one --checkpoint and one --pubkey per --ledger, in the same order');
  }
  if (o.key && ledgers.length > 1)
    throw new GavelError('config_invalid', "--key names one ledger's key: with several ledgers, each uses <ledger>.key or its --pubkey");
  const one = (ledger: string, i: number) =>
    verifyCommand(
      {
        ledger,
        json: o.json === true,
        ...(o.checkpoint[i] ? { checkpoint: o.checkpoint[i] } : {}),
        ...(o.pubkey[i] ? { pubkey: o.pubkey[i] } : {}),
        ...(o.key ? { key: o.key } : {}),
        ...(o.witnessKey ? { witnessKey: o.witnessKey } : {}),
        ...(o.minWitnesses !== undefined ? { minWitnesses: o.minWitnesses } : {}),
      },
      onProgress,
    );
  if (ledgers.length === 1 && !shared) return one(ledgers[0]!, 0);
  const results = ledgers.map((ledger, i) => ({ ledger, ...one(ledger, i) }));
  const failed = results.filter((r) => r.code !== EXIT.ok).length;
  const ok = failed === 0 && shared?.ok !== false;
  const code = ok ? EXIT.ok : EXIT.failed;
  if (o.json) {
    const reports = results.map((r) => ({ ledger: r.ledger, ...(JSON.parse(r.stdout) as Record<string, unknown>) }));
    return { code, stdout: `${JSON.stringify({ ok, ledgers: reports, ...(shared ? { shared_approvals: shared } : {}) })}\n` };
  }
  const lines = results.map((r) => `${printable(r.ledger)}: ${r.stdout}`);
  if (shared) lines.push(sharedText(shared));
  const summary = ok
    ? `ok: all ${results.length} ledgers verified${shared ? ', and the shared approval rows agree with them' : ''}\n`
    : `FAILED: ${failed} of ${results.length} ledgers did not verify${shared && !shared.ok ? `; ${shared.problems.length} shared approval rows disagree with them` : ''}\n`;
  return { code, stdout: lines.join('') + summary };
}

function sharedText(r: SharedApprovalsReport): string {
  if (r.ok) return `shared approvals: ok: ${r.rows} rows signed by their replicas and recorded in their chains\n`;
  const rows = r.problems.map((p) => `  ${printable(p.approval_id)}: ${printable(p.problem)}\n`).join('');
  return `shared approvals: FAILED: ${r.problems.length} of ${r.rows} rows disagree with the ledgers:\n${rows}`;
}

/** The shared store's approval rows against the ledgers given (each with its verifier key, as verify finds it). */
async function sharedApprovalsReport(o: VerifyAllOptions): Promise<SharedApprovalsReport> {
  const ledgers = ledgersOf(o).map((path, i) => {
    const db = openReadOnly(path);
    return { path, db, key: verifierKey(db, { ledger: path, ...(o.pubkey[i] ? { pubkey: o.pubkey[i] } : {}), ...(o.key ? { key: o.key } : {}) }) };
  });
  try {
    // The PostgreSQL client is loaded only for this check (every gavel command, serve included, loads this file).
    const { readSharedApprovals } = await import('../usage/postgres/approvals.js');
    const { checkSharedApprovals } = await import('../state/shared-approvals.js');
    const rows = await readSharedApprovals(o.stateStore!, 10_000).catch((err: unknown) => {
      throw new GavelError('usage_unavailable', `the shared store at ${redactUrl(o.stateStore!)} could not be read: ${(err as Error).message}`);
    });
    return checkSharedApprovals(rows, ledgers);
  } finally {
    for (const l of ledgers) l.db.close();
  }
}

async function verify(o: VerifyAllOptions): Promise<void> {
  const shared = o.stateStore ? await sharedApprovalsReport(o) : undefined;
  const progress = progressReporter();
  let result: { code: number; stdout: string };
  try {
    result = verifyAllCommand(o, progress.update, shared);
  } finally {
    progress.stop();
  }
  process.stdout.write(result.stdout);
  process.exitCode = result.code;
}

function checkpoint(o: LedgerOption): void {
  const db = openReadOnly(o.ledger);
  const latest = latestCheckpointNote(db);
  // With the witnesses' cosignatures kept for it: one signed note that each party's key checks.
  const note = latest && cosignedNote(db, latest, parseCheckpoint(latest).checkpoint.size);
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

function query(o: { ledger: string[] } & QueryFilter & { json?: boolean }): void {
  const { ledger: _, ...filter } = o;
  const ledgers = ledgersOf(o);
  if (ledgers.length === 1) {
    const db = openReadOnly(ledgers[0]!);
    printEntries(queryEntries(db, filter), o.json === true);
    db.close();
    return;
  }
  printEntries(
    acrossLedgers(ledgers, (db) => [...queryEntries(db, filter)], filter.order === 'asc' ? 'asc' : 'desc', filter.limit),
    o.json === true,
  );
}

function showTimeline(o: { ledger: string[] } & QueryFilter & { json?: boolean }, command: Command): void {
  if (!o.subject && !o.team && !o.costCenter) command.error('error: timeline needs --subject, --team or --cost-center', { exitCode: EXIT.usage });
  const { ledger: _, ...filter } = o;
  const ledgers = ledgersOf(o);
  if (ledgers.length === 1) {
    const db = openReadOnly(ledgers[0]!);
    printTimeline(timeline(db, filter), o.json === true);
    db.close();
    return;
  }
  printTimeline(
    acrossLedgers(ledgers, (db) => timeline(db, filter), 'asc', filter.limit),
    o.json === true,
  );
}
