import { existsSync, readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { parseVerifierKey } from '../ledger/keys.js';
import { openLedgerReadOnly } from '../ledger/read-only.js';
import { consistencyProofOf, inclusionProofOf, ProofError, verifyInclusionBundle } from '../ledger/proofs.js';
import { GavelError } from '../lib/errors.js';
import { EXIT } from './exit.js';
import { textOrFile } from './options.js';
import { printable } from './table.js';

/**
 * `gavel audit prove` and `gavel audit verify-proof`: one entry proved to someone who holds no
 * ledger (ledger/proofs.ts), and `gavel audit consistency` between two sizes of the tree.
 */
export function registerProofCommands(audit: Command, withLedger: (c: Command) => Command): void {
  withLedger(audit.command('prove'))
    .description('write a self-contained inclusion proof of one entry (JSON): its header, the hashes to the root, the signed checkpoint')
    .option('--decision <id>', 'the entry by decision id')
    .option('--seq <n>', 'the entry by seq')
    .option('--checkpoint <file>', 'prove against this signed checkpoint (default: the latest the ledger stored)')
    .addHelpText(
      'after',
      '\nExample:\n  gavel audit prove --decision 0193… > proof.json\n  gavel audit verify-proof proof.json --pubkey "$(gavel audit pubkey)"',
    )
    .action(prove);

  audit
    .command('verify-proof <file>')
    .description("check an inclusion proof offline with the ledger's verifier key alone (no ledger file); exit 1 saying what does not hold")
    .requiredOption('--pubkey <key|file>', 'the verifier key, as `gavel audit pubkey` prints it (or a file holding it)')
    .option('--json', 'print the entry header and checkpoint as JSON')
    .action(verifyProof);

  withLedger(audit.command('consistency'))
    .description('print the consistency proof (RFC 9162) between two sizes of the ledger, as JSON')
    .requiredOption('--from <size>', 'the earlier size')
    .option('--to <size>', 'the later size (default: the ledger now)')
    .action(consistency);
}

function sizeOption(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value)) throw new GavelError('invalid_proof_request', `--${name} must be a whole number, got ${value}`);
  return Number(value);
}

/** A refusal the ledger gives (no such entry, nothing signed covers it): exit 1 with its message. */
function refused(err: unknown): boolean {
  if (err instanceof GavelError && (err.code === 'decision_not_found' || err.code === 'proof_unavailable' || err.code === 'invalid_proof_request')) {
    process.stderr.write(`gavel: ${err.message}\n`);
    process.exitCode = EXIT.failed;
    return true;
  }
  return false;
}

function prove(o: { ledger: string; decision?: string; seq?: string; checkpoint?: string }): void {
  if ((o.decision === undefined) === (o.seq === undefined)) {
    process.stderr.write('gavel: name the entry with exactly one of --decision and --seq\n');
    process.exitCode = EXIT.usage;
    return;
  }
  if (!existsSync(o.ledger)) throw new GavelError('config_invalid', `ledger ${o.ledger} does not exist`);
  const db = openLedgerReadOnly(o.ledger);
  try {
    const note = o.checkpoint === undefined ? undefined : readFileSync(o.checkpoint, 'utf8');
    const ref = o.decision !== undefined ? { decisionId: o.decision } : { seq: sizeOption(o.seq, 'seq')! };
    process.stdout.write(`${JSON.stringify(inclusionProofOf(db, ref, note), null, 2)}\n`);
  } catch (err) {
    if (!refused(err)) throw err;
  } finally {
    db.close();
  }
}

function verifyProof(file: string, o: { pubkey: string; json?: boolean }): void {
  const key = parseVerifierKey(textOrFile(o.pubkey, '--pubkey'));
  let bundle: unknown;
  try {
    bundle = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw err;
    process.stdout.write('FAILED: the proof is not JSON\n');
    process.exitCode = EXIT.failed;
    return;
  }
  try {
    const { checkpoint, header } = verifyInclusionBundle(bundle, key);
    if (o.json) {
      process.stdout.write(`${JSON.stringify({ ok: true, header, checkpoint })}\n`);
      return;
    }
    const h = (name: string) => printable(String(header[name] ?? ''));
    process.stdout.write(
      `ok: decision ${h('decision_id')} is entry ${h('seq')} of ${printable(checkpoint.origin)}, within its ${checkpoint.size} entries signed at ${printable(checkpoint.time)}: ` +
        `${h('decision')} for ${h('subject_id')} (${h('action_type')} ${h('resource')}) at ${h('time')}\n`,
    );
  } catch (err) {
    if (!(err instanceof ProofError)) throw err;
    process.stdout.write(o.json ? `${JSON.stringify({ ok: false, message: err.message })}\n` : `FAILED: ${printable(err.message)}\n`);
    process.exitCode = EXIT.failed;
  }
}

function consistency(o: { ledger: string; from: string; to?: string }): void {
  if (!existsSync(o.ledger)) throw new GavelError('config_invalid', `ledger ${o.ledger} does not exist`);
  const db = openLedgerReadOnly(o.ledger);
  try {
    const from = sizeOption(o.from, 'from')!;
    const to = sizeOption(o.to, 'to') ?? (db.prepare('SELECT COALESCE(MAX(seq), 0) FROM entries').pluck().get() as number);
    process.stdout.write(`${JSON.stringify(consistencyProofOf(db, from, to), null, 2)}\n`);
  } catch (err) {
    if (!refused(err)) throw err;
  } finally {
    db.close();
  }
}
