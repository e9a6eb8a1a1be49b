import { userInfo } from 'node:os';
import { Option, type Command } from 'commander';
import { ERASURE_BASES, oneCriterion, type ErasureBasis, type ErasureCriteria, type ErasureResult } from '../ledger/erasure.js';
import { parseTime } from '../ledger/query.js';
import { eraseInFile } from '../runtime/erasure.js';

interface EraseOptions {
  ledger: string;
  key?: string;
  subject?: string;
  decision?: string;
  before?: string;
  reason: string;
  basis: ErasureBasis;
  by?: string;
  json?: boolean;
}

/**
 * `gavel audit erase`: payloads erased from a ledger file with a signed erasure entry (ledger/erasure.ts).
 * It writes, so it takes the file's writer lock: with a server running, use `AuditService.Erase` (role admin).
 */
export function registerErase(audit: Command, withLedger: (c: Command) => Command): void {
  withLedger(audit.command('erase'))
    .description('erase the payloads of one subject, one decision, or everything before a time, recorded as an erasure entry in the chain')
    .option('--subject <id>', "every entry of this subject (the header's subject id)")
    .option('--decision <id>', 'this decision, and the usage entries about it')
    .option('--before <time>', 'every entry before this time (RFC 3339, or a duration ago such as 180d)')
    .requiredOption('--reason <text>', 'why: recorded in the erasure entry')
    .addOption(new Option('--basis <basis>', 'the legal basis, recorded in the erasure entry').choices(ERASURE_BASES).makeOptionMandatory())
    .option('--by <who>', 'who erases, recorded in the entry (default: cli:<OS user>)')
    .option('--key <file>', 'the signing key file, when not <ledger>.key')
    .option('--json', 'print the result as JSON (the fields of AuditService.Erase)')
    .addHelpText(
      'after',
      '\nExamples:\n  gavel audit erase --subject jane@example.com --basis gdpr-art17 --reason "request 2026-114"\n  gavel audit erase --before 180d --basis retention --reason "six months kept"\n\nA running server holds the ledger: ask it instead (AuditService.Erase, role admin).',
    )
    .action(erase);
}

function criteriaOf(o: EraseOptions): ErasureCriteria {
  const before = o.before === undefined ? undefined : new Date(parseTime(o.before, new Date(), 'before')).toISOString();
  return oneCriterion({ subject: o.subject, decision: o.decision, before }, ['--subject', '--decision', '--before']);
}

/** Erases until nothing matches (runtime/erasure.ts); the results, one per erasure entry. */
export async function eraseCommand(o: EraseOptions): Promise<ErasureResult[]> {
  const request = { criteria: criteriaOf(o), reason: o.reason, basis: o.basis, by: o.by ?? `cli:${userInfo().username}` };
  return eraseInFile({ path: o.ledger, ...(o.key ? { keyPath: o.key } : {}) }, request);
}

async function erase(o: EraseOptions): Promise<void> {
  const results = await eraseCommand(o);
  const erased = results.reduce((n, r) => n + r.erased, 0);
  if (o.json) {
    for (const r of results) {
      process.stdout.write(
        `${JSON.stringify({ erased: r.erased, seqs: r.seqs.map(([from, to]) => ({ from, to })), erasure_id: r.entry?.decisionId ?? '', receipt: r.entry ? { seq: r.entry.seq, entry_hash: r.entry.entryHash } : null })}\n`,
      );
    }
    return;
  }
  if (erased === 0) {
    process.stdout.write('nothing to erase: no payload matches (erased ones stay erased); no entry written\n');
    return;
  }
  const entries = results.filter((r) => r.entry).map((r) => r.entry!.seq);
  process.stdout.write(`erased ${erased} payloads, recorded as erasure entr${entries.length === 1 ? 'y' : 'ies'} ${entries.join(', ')}\n`);
}
