import type { Command } from 'commander';
import Database from 'better-sqlite3';
import { COSIGNATURE_ALG, formatVerifierKey, loadOrCreateKey, parseVerifierKey } from '../ledger/keys.js';
import { startWitnessHttp } from '../witness/http.js';
import { Witness } from '../witness/witness.js';
import { collect, textOrFile } from './options.js';

/**
 * `gavel witness serve`: a C2SP tlog-witness for gavel ledgers (or any log whose checkpoints are
 * Ed25519-signed C2SP notes), run by someone other than the ledger's operator.
 * `gavel witness pubkey`: the verifier key of its cosignatures, to pin where they are checked.
 */
export function registerWitness(program: Command): void {
  const witness = program.command('witness').description('a witness that cosigns ledger checkpoints only when they extend what it saw (C2SP tlog-witness)');
  witness
    .command('serve')
    .description('cosign checkpoints submitted to POST /add-checkpoint, refusing any that is not consistent with the last one cosigned')
    .requiredOption('--name <name>', "the witness's name, in its cosignatures (e.g. witness.example.org/w1)")
    .requiredOption('--log-key <vkey|file>', 'the verifier key of a log to witness, as `gavel audit pubkey` prints it (repeatable)', collect, [] as string[])
    .option('--key <file>', "the witness's Ed25519 signing key (PKCS#8 PEM; created when absent)", './data/witness.key')
    .option('--state <file>', 'the SQLite file of what was cosigned per log', './data/witness.db')
    .option('--listen <host:port>', 'where to serve HTTP', '127.0.0.1:7380')
    .addHelpText('after', '\nExample:\n  gavel witness serve --name witness.example.org/w1 --log-key "$(gavel audit pubkey --ledger ./data/ledger.db)"')
    .action(serve);
  witness
    .command('pubkey')
    .description("print the verifier key of the witness's cosignatures (type 0x04)")
    .requiredOption('--name <name>', "the witness's name")
    .option('--key <file>', "the witness's signing key", './data/witness.key')
    .action((o: { name: string; key: string }) => {
      process.stdout.write(`${formatVerifierKey(loadOrCreateKey(o.key, o.name), COSIGNATURE_ALG)}\n`);
    });
}

async function serve(o: { name: string; logKey: string[]; key: string; state: string; listen: string }): Promise<void> {
  const logs = o.logKey.map((k) => parseVerifierKey(textOrFile(k, '--log-key')));
  const key = loadOrCreateKey(o.key, o.name);
  const at = o.listen.lastIndexOf(':');
  const host = o.listen.slice(0, at);
  const port = Number(o.listen.slice(at + 1));
  if (at <= 0 || !Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`--listen must be host:port, got ${o.listen}`);
  const db = new Database(o.state);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  const w = new Witness(db, key, logs);
  const { server, address } = await startWitnessHttp(w, formatVerifierKey(key, COSIGNATURE_ALG), host, port);
  process.stdout.write(`gavel witness serving on http://${address} for ${logs.map((l) => l.name).join(', ')}\n`);
  const stop = () => {
    server.close(() => db.close());
    server.closeAllConnections();
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}
