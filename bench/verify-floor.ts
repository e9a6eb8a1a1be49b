/**
 * Where `audit verify`'s time goes on one core (issue 31's goal: 100,000 entries/s), in one run:
 * a ledger of --entries entries is written (small payloads, --payload-bytes), then, read-only and
 * interleaved over --reps:
 *
 *   rows      the walk's own query (entries joined with payloads), rows read and nothing else;
 *   raw       the same rows read as arrays (no object per row): the least better-sqlite3 reads them for;
 *   hashes    the SHA-256s verify computes per entry, on bytes already in memory (no reading);
 *   nodes     the stored tree nodes the walk compares, by the same cursor it reads them with;
 *   verify    verifyLedger itself: chain, payload hashes, tree, checkpoints.
 *
 * rows + nodes is what reading costs the walk as it reads today; raw + nodes + hashes is the floor
 * under any verify that reads this file and checks its hashes on one core.
 *
 *   npx tsx bench/verify-floor.ts                     # 200,000 entries, ~1 minute
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { ledgerConfig } from '../src/ledger/config.js';
import { verifierOf } from '../src/ledger/keys.js';
import { SqliteLedger } from '../src/ledger/sqlite.js';
import { verifyLedger } from '../src/ledger/verify.js';
import { entryHashes, headerText, payloadHash } from '../src/ledger/hash.js';
import { type EntryRow, headerOfRow } from '../src/ledger/header.js';
import { nodeHash } from '../src/ledger/merkle.js';
import { numberFlag, readFlags } from './lib/args.js';
import { describeMachine, machineLine } from './lib/machine.js';
import { tempDir } from './lib/paths.js';
import { watchdog } from './lib/process.js';

const flags = readFlags({ entries: { type: 'string' }, reps: { type: 'string' }, 'payload-bytes': { type: 'string' } });
const entries = numberFlag(flags, 'entries', 200_000, { min: 1000, integer: true });
const reps = numberFlag(flags, 'reps', 3, { min: 1, integer: true });
const payloadBytes = numberFlag(flags, 'payload-bytes', 300, { min: 0, integer: true });
const dir = tempDir('gavel-bench-verify-floor-');
watchdog(600 + entries / 500, 'bench/verify-floor', () => dir.remove());

const path = join(dir.path, 'ledger.db');
const ledger = new SqliteLedger(ledgerConfig(path, { checkpointEvery: 1_000_000_000, checkpointSeconds: 3600, maxBatch: 1024 }));
const key = verifierOf(ledger.key);
const text = 'x'.repeat(payloadBytes);
for (let i = 0; i < entries; i += 1000) {
  const batch = [];
  for (let j = i; j < Math.min(entries, i + 1000); j++) {
    batch.push(
      ledger.append({
        decisionId: `d-${j}`,
        time: new Date(1_790_000_000_000 + j).toISOString(),
        subjectId: `s${j % 50}`,
        subjectType: 'user',
        team: 'payments',
        costCenter: 'cc-100',
        actionType: 'model.invoke',
        resource: 'standard-m',
        decision: 'allow',
        reasonCodes: ['allowed'],
        bundle: 'ai',
        revision: 'r1',
        digest: 'sha256:abc',
        entrypoint: 'ai/decision',
        requestId: `rq-${j}`,
        caller: 'gateway',
        payload: { input: { content: { prompt: text } }, result: { decision: 'allow', reasons: [] } },
        salt: randomBytes(16),
      }),
    );
  }
  await Promise.all(batch);
}
ledger.checkpoint();
await ledger.close();

const db = new Database(path, { readonly: true });
const walk = db.prepare('SELECT e.*, p.salt AS salt, p.body AS body FROM entries e LEFT JOIN payloads p ON p.seq = e.seq ORDER BY e.seq');
const rawWalk = db.prepare('SELECT e.*, p.salt AS salt, p.body AS body FROM entries e LEFT JOIN payloads p ON p.seq = e.seq ORDER BY e.seq').raw();
const nodes = db.prepare('SELECT id, hash FROM merkle_hashes ORDER BY id').raw();
// What the hashes are computed over, read once beforehand: each entry's salt and payload, its header and its text.
const inputs = (walk.all() as Array<EntryRow & { salt: Buffer; body: string }>).map((row) => {
  const header = headerOfRow(row);
  return { salt: row.salt, body: row.body, header, text: headerText(header) };
});

const parts: Record<string, () => number> = {
  rows: () => {
    let n = 0;
    for (const _ of walk.iterate()) n++;
    return n;
  },
  raw: () => {
    let n = 0;
    for (const _ of rawWalk.iterate()) n++;
    return n;
  },
  hashes: () => {
    // The SHA-256s verify computes per entry, on bytes already in memory: the payload's, the chain's and
    // the leaf's (entryHashes), and one node (a tree of n leaves has n − 1 of them).
    for (const e of inputs) {
      payloadHash(e.salt, e.body);
      const { leaf } = entryHashes(e.header, e.text);
      nodeHash(leaf, leaf);
    }
    return inputs.length;
  },
  nodes: () => {
    // The stored nodes, read as the walk reads them: one cursor in key order (the hashes are not recomputed).
    let reads = 0;
    for (const _ of nodes.iterate()) reads++;
    return reads;
  },
  verify: () => {
    const report = verifyLedger(db, { key });
    if (!report.ok) throw new Error(`the bench ledger did not verify: ${report.failure?.message}`);
    return report.entries;
  },
};

const times = new Map<string, number[]>();
const counts = new Map<string, number>();
for (let rep = 0; rep < reps; rep++) {
  for (const [name, run] of Object.entries(parts)) {
    const started = performance.now();
    counts.set(name, run());
    times.set(name, [...(times.get(name) ?? []), performance.now() - started]);
  }
}
db.close();
dir.remove();

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const perEntry = (name: string) => (median(times.get(name)!) * 1000) / entries;
const line = (name: string, what: string) =>
  `| ${what} | ${perEntry(name).toFixed(2)} | ${Math.round(entries / (median(times.get(name)!) / 1000)).toLocaleString('en-US')} |`;
process.stdout.write(
  [
    `Machine: ${machineLine(describeMachine())}. \`npx tsx bench/verify-floor.ts --entries ${entries} --reps ${reps} --payload-bytes ${payloadBytes}\`; medians of ${reps} interleaved runs.`,
    '',
    '| part | µs per entry | entries/s |',
    '|---|--:|--:|',
    line('rows', "reading the walk's rows, nothing else"),
    line('raw', "reading the same rows as arrays (better-sqlite3's raw mode: no object per row)"),
    line('nodes', `reading the tree nodes it compares (${(counts.get('nodes')! / entries).toFixed(2)} per entry)`),
    `| reading alone (rows and nodes) | ${(perEntry('rows') + perEntry('nodes')).toFixed(2)} | ${Math.round(1e6 / (perEntry('rows') + perEntry('nodes'))).toLocaleString('en-US')} |`,
    line('hashes', 'the SHA-256s verify computes (payload, chain, leaf, one node), on bytes in memory'),
    `| floor: rows as arrays, nodes and the hashes | ${(perEntry('raw') + perEntry('nodes') + perEntry('hashes')).toFixed(2)} | ${Math.round(1e6 / (perEntry('raw') + perEntry('nodes') + perEntry('hashes'))).toLocaleString('en-US')} |`,
    line('verify', 'verifyLedger: chain, payloads, tree, checkpoints'),
    '',
  ].join('\n'),
);
