/**
 * What the client SDK and the example gateway cost, each beside its baseline in the same run,
 * interleaved round by round (the machine drifts): against one `gavel serve` child (file ledger,
 * metering on), closed loops in this process at 1 and 32 in flight.
 *
 * - raw grpc-js Decide (a hand-written call: proto-loader client, caller metadata) vs the SDK's
 *   `decide()` vs the SDK's `decideStream()` (one DecideStream call);
 * - the stand-in upstream called directly vs through examples/openai-gateway (which decides, forwards
 *   and reports usage) — the gateway's added latency.
 *
 *   npx tsx bench/sdk.ts --seconds 5 --rounds 3
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { createClient } from '../packages/client/src/index.js';
import { startGateway } from '../examples/openai-gateway/src/gateway.js';
import { gavelServices } from '../src/transport/proto.js';
import { startChild } from '../test/helpers/server.js';
import { numberFlag, readFlags } from './lib/args.js';
import { closedLoop, type LoopResult } from './lib/closed-loop.js';
import { describeMachine, machineLine } from './lib/machine.js';
import { tempDir } from './lib/paths.js';

const flags = readFlags({ seconds: { type: 'string' }, rounds: { type: 'string' } });
const seconds = numberFlag(flags, 'seconds', 5, { min: 0.5 });
const rounds = numberFlag(flags, 'rounds', 3, { min: 1, integer: true });

const dir = tempDir('gavel-bench-sdk-');
const srv = await startChild(['--ledger', join(dir.path, 'ledger.db')]);
const input = (n: number) => ({
  subject: { id: `u-${n % 256}`, type: 'user', roles: ['employee'], team: 'platform', cost_center: 'cc-100' },
  action: { type: 'model.invoke', model: 'standard-m', params: { max_tokens: 64 } },
  content: { prompt: 'Summarise this' },
});

const raw = new (gavelServices().DecisionService)(srv.address, grpc.credentials.createInsecure());
const md = new grpc.Metadata();
md.set('x-gavel-caller', 'bench');
const rawDecide = (n: number) =>
  new Promise<void>((resolve, reject) =>
    (raw as unknown as { Decide: Function }).Decide(
      { input_json: Buffer.from(JSON.stringify(input(n))), request_id: `r-${n}` },
      md,
      { deadline: Date.now() + 10_000 },
      (err: Error | null) => (err ? reject(err) : resolve()),
    ),
  );
const sdk = createClient({ target: srv.address, tls: 'insecure', caller: 'bench', deadlineMs: 10_000 });
const stream = sdk.decideStream();

// The stand-in upstream and the gateway in front of it.
const upstream = createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    res.setHeader('content-type', 'application/json');
    res.end(
      JSON.stringify({
        id: 'x',
        object: 'chat.completion',
        model: 'standard-m',
        choices: [{ index: 0, message: { role: 'assistant', content: 'ok' } }],
        usage: { prompt_tokens: 5, completion_tokens: 5 },
      }),
    );
  });
});
await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
const upstreamUrl = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
const keys = Object.fromEntries(
  Array.from({ length: 256 }, (_, i) => [`k-${i}`, { id: `g-${i}`, type: 'user' as const, roles: ['employee'], team: 'platform', cost_center: 'cc-100' }]),
);
const gateway = await startGateway({ gavel: sdk, upstream: upstreamUrl, keys });
const chat = (base: string, n: number) =>
  fetch(`${base}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer k-${n % 256}` },
    body: JSON.stringify({ model: 'standard-m', messages: [{ role: 'user', content: 'hi' }], max_tokens: 16 }),
  }).then(async (r) => {
    await r.arrayBuffer();
    if (!r.ok) throw new Error(`HTTP ${r.status}`);
  });

type Call = (n: number) => Promise<unknown>;
const rows: Array<[string, Call]> = [
  ['raw grpc-js Decide', rawDecide],
  ['SDK decide()', (n) => sdk.decide(input(n), { requestId: `s-${n}` })],
  ['SDK decideStream()', (n) => stream.decide(input(n), { requestId: `t-${n}` })],
  ['upstream direct', (n) => chat(upstreamUrl, n)],
  ['through the gateway', (n) => chat(`http://127.0.0.1:${gateway.port}`, n)],
];

const results = new Map<string, LoopResult[]>();
for (const call of rows) await closedLoop(call[1], 4, seconds); // warm-up
for (let r = 0; r < rounds; r++) {
  for (const inFlight of [1, 32]) {
    // Each round starts at the next row: no row always follows the heaviest one (the gateway at 32
    // in flight leaves the server's ledger and GC busy for a moment).
    for (const [name, call] of [...rows.slice(r % rows.length), ...rows.slice(0, r % rows.length)]) {
      const key = `${name}|${inFlight}`;
      results.set(key, [...(results.get(key) ?? []), await closedLoop(call, inFlight, seconds)]);
    }
  }
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
console.log(machineLine(describeMachine()));
console.log(`${seconds} s windows, ${rounds} interleaved rounds, medians\n`);
console.log('| call | in flight | per second | p50 ms | p99 ms |');
console.log('|---|---:|---:|---:|---:|');
for (const inFlight of [1, 32]) {
  for (const [name] of rows) {
    const rs = results.get(`${name}|${inFlight}`)!;
    console.log(
      `| ${name} | ${inFlight} | ${median(rs.map((x) => x.perSecond)).toFixed(0)} | ${median(rs.map((x) => x.p50)).toFixed(2)} | ${median(rs.map((x) => x.p99)).toFixed(2)} |`,
    );
  }
}
await gateway.close();
stream.cancel();
await sdk.close();
raw.close();
upstream.close();
srv.child.kill('SIGTERM');
await srv.exited;
dir.remove();
