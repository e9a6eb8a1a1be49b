import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { BUNDLES, tempDir } from '../../../test/helpers/paths.js';
import { modelCall } from '../../../test/usage/helpers.js';
import { createClient, type GavelClient } from '../src/index.js';
import type { ClientOptions } from '../src/options.js';
import type { OfflineRecord } from '../src/outbox.js';
import { freePort, refusal, type ServerOnPort, serveOn, sleep } from './helpers.js';

/**
 * Routes' fail modes against a real server that is down, then up: what an offline decision
 * answers, that the outbox holds it (fsync'd) before it is answered, and that RecordOffline gets
 * each one into the ledger once, however often it is delivered.
 */
const alice = { subject: 'sdk-offline', team: 'platform', costCenter: 'cc-100' };
const ROUTES: ClientOptions['routes'] = { chat: { failMode: 'closed' }, export: { failMode: 'open' }, plain: {} };

const opened: GavelClient[] = [];
const servers: ServerOnPort[] = [];
afterEach(async () => {
  for (const c of opened.splice(0)) await c.close();
  for (const s of servers.splice(0)) await s.stop();
});

function client(port: number, outbox: string, over: Partial<ClientOptions> = {}): GavelClient {
  const c = createClient({
    target: `127.0.0.1:${port}`,
    tls: 'insecure',
    deadlineMs: 2_000,
    retry: { maxAttempts: 2, initialBackoffMs: 20, maxBackoffMs: 40 },
    breaker: false,
    routes: ROUTES,
    outbox: { path: outbox },
    ...over,
  });
  opened.push(c);
  return c;
}

const records = (path: string): OfflineRecord[] =>
  readFileSync(path, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as OfflineRecord);

async function serve(port: number, ledger: string): Promise<ServerOnPort> {
  const s = await serveOn(port, { bundles: BUNDLES, ledger });
  servers.push(s);
  return s;
}

const offlineEntries = (s: ServerOnPort) => [...s.core.audit.query({ kind: 'offline', order: 'asc', limit: 1000 })];

describe('routes and fail modes', () => {
  it('refuses an unknown fail mode, a fallback route without its fallback policy, and a fail mode without an outbox', () => {
    const make = (o: Partial<ClientOptions>) => () => createClient({ target: '127.0.0.1:1', tls: 'insecure', ...o });
    expect(make({ routes: { a: { failMode: 'fallback' } }, outbox: { path: '/tmp/x' } })).toThrow(/fallback is required when a route falls back \(routes\.a\)/);
    expect(make({ routes: { a: { failMode: 'fallback' } }, outbox: { path: '/tmp/x' }, fallback: {} as never })).toThrow(/fallback is required/);
    expect(make({ routes: { a: { failMode: 'ajar' as never } }, outbox: { path: '/tmp/x' } })).toThrow(
      /routes\.a\.failMode must be 'closed', 'open' or 'fallback'/,
    );
    expect(make({ routes: { a: { failMode: 'open' } } })).toThrow(/outbox is required/);
    expect(make({ routes: { a: {} }, outbox: { path: '' } })).toThrow(/outbox\.path must be a file path/);
    try {
      make({ routes: { a: { failMode: 'fallback' } }, outbox: { path: '/tmp/x' } })();
    } catch (err) {
      expect((err as { code: string }).code).toBe('config_invalid');
    }
  });

  it('with gavel down, a closed route denies and an open one allows, each written to the outbox before it is answered', async () => {
    const port = await freePort();
    const outbox = join(tempDir(), 'sub', 'outbox.jsonl');
    const c = client(port, outbox);
    const input = modelCall(alice);

    const closed = await c.decide(input, { route: 'chat', requestId: 'req-closed' });
    expect(closed).toMatchObject({
      outcome: 'deny',
      offline: { mode: 'closed', cause: 'unavailable', route: 'chat' },
      receipt: { seq: 0, entryHash: '', leafIndex: 0 },
      requestId: 'req-closed',
      model: 'standard-m',
    });
    expect(closed.reasons.map((r) => r.code)).toEqual(['pdp_unavailable']);
    expect(closed.decisionId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(closed.isAllowed()).toBe(false);

    const open = await c.decide(input, { route: 'export' });
    expect([open.outcome, open.isAllowed(), open.offline?.mode, open.reasons.map((r) => r.code)]).toEqual([
      'allow',
      true,
      'open',
      ['pdp_unavailable_fail_open'],
    ]);

    const held = records(outbox);
    expect(held.map((r) => [r.offline_id, r.mode, r.decision, r.route, r.cause])).toEqual([
      [closed.decisionId, 'closed', 'deny', 'chat', 'unavailable'],
      [open.decisionId, 'open', 'allow', 'export', 'unavailable'],
    ]);
    // The input as the client holds it, unredacted: the server redacts it when it records it.
    expect(JSON.parse(held[0]!.input_json)).toEqual(input);
    expect(held[0]!.request_id).toBe('req-closed');
  });

  it('without a route, with a route that has no fail mode, or an unknown route, the call throws as before', async () => {
    const port = await freePort();
    const outbox = join(tempDir(), 'outbox.jsonl');
    const c = client(port, outbox);
    for (const route of [undefined, 'plain', 'nope']) {
      expect([route, (await refusal(c.decide(modelCall(alice), route === undefined ? {} : { route }))).code]).toEqual([route, 'unavailable']);
    }
    expect(() => readFileSync(outbox)).toThrow(/ENOENT/);
  });

  it('decideStream answers by the route too: closed and open with gavel down, recorded once when it is back', async () => {
    const port = await freePort();
    const dir = tempDir();
    const outbox = join(dir, 'outbox.jsonl');
    const c = client(port, outbox);
    const stream = c.decideStream();
    const closed = await stream.decide(modelCall(alice), { route: 'chat', requestId: 'stream-closed' });
    const open = await stream.decide(modelCall(alice), { route: 'export' });
    expect([closed.outcome, closed.offline, closed.requestId]).toEqual(['deny', { mode: 'closed', cause: 'unavailable', route: 'chat' }, 'stream-closed']);
    expect([open.outcome, open.offline?.mode]).toEqual(['allow', 'open']);
    expect((await refusal(stream.decide(modelCall(alice), { route: 'plain' }))).code).toBe('unavailable');
    expect(records(outbox).map((r) => [r.offline_id, r.mode, r.request_id])).toEqual([
      [closed.decisionId, 'closed', 'stream-closed'],
      [open.decisionId, 'open', open.requestId],
    ]);
    const s = await serve(port, join(dir, 'l.db'));
    expect(await c.flushOutbox()).toEqual({ delivered: 2, duplicates: 0, pending: 0 });
    expect(offlineEntries(s).map((e) => e.decisionId)).toEqual([closed.decisionId, open.decisionId]);
    stream.cancel();
  });

  it('a refusal is not an outage: invalid input on a fail-open route still throws, and nothing is written', async () => {
    const port = await freePort();
    await serve(port, join(tempDir(), 'l.db'));
    const outbox = join(tempDir(), 'outbox.jsonl');
    const c = client(port, outbox);
    const err = await refusal(c.decide(new TextEncoder().encode('[1]'), { route: 'export' }));
    expect(err.code).toBe('invalid_input');
    const stream = c.decideStream();
    expect((await refusal(stream.decide(new TextEncoder().encode('[1]'), { route: 'export' }))).code).toBe('invalid_input');
    await stream.close();
    expect(() => readFileSync(outbox)).toThrow(/ENOENT/);
  });

  it('an open circuit answers by the fail mode too, with circuit_open as the cause', async () => {
    const port = await freePort();
    const outbox = join(tempDir(), 'outbox.jsonl');
    const c = client(port, outbox, { breaker: { failures: 1, halfOpenAfterMs: 60_000, probeTimeoutMs: 100 }, retry: false });
    expect((await c.decide(modelCall(alice), { route: 'chat' })).offline?.cause).toBe('unavailable');
    expect(c.circuit).toBe('open');
    expect((await c.decide(modelCall(alice), { route: 'chat' })).offline?.cause).toBe('circuit_open');
  });

  it('no outbox record, no answer: an outbox that cannot be written fails the call with outbox_failed', async () => {
    const port = await freePort();
    const file = join(tempDir(), 'a-file');
    writeFileSync(file, '');
    const c = client(port, join(file, 'outbox.jsonl'));
    const err = await refusal(c.decide(modelCall(alice), { route: 'export' }));
    expect([err.code, err.message]).toEqual(['outbox_failed', expect.stringContaining('gavel could not be asked (unavailable)')]);
  });
});

describe('the outbox', () => {
  it('flushOutbox delivers every record once; a copy delivered again is answered duplicate and adds nothing', async () => {
    const port = await freePort();
    const dir = tempDir();
    const outbox = join(dir, 'outbox.jsonl');
    const c = client(port, outbox);
    const a = await c.decide(modelCall(alice), { route: 'chat' });
    const b = await c.decide(modelCall(alice), { route: 'export' });
    await expect(c.flushOutbox()).rejects.toMatchObject({ code: 'unavailable' });
    expect(records(outbox)).toHaveLength(2);
    copyFileSync(outbox, join(dir, 'copy.jsonl')); // as if the client crashed after delivering, before removing

    const s = await serve(port, join(dir, 'l.db'));
    expect(await c.flushOutbox()).toEqual({ delivered: 2, duplicates: 0, pending: 0 });
    expect(readFileSync(outbox, 'utf8')).toBe('');
    const entries = offlineEntries(s);
    expect(entries.map((e) => [e.decisionId, e.decision])).toEqual([
      [a.decisionId, 'deny'],
      [b.decisionId, 'allow'],
    ]);

    const again = client(port, join(dir, 'copy.jsonl'));
    expect(await again.flushOutbox()).toEqual({ delivered: 0, duplicates: 2, pending: 0 });
    expect(readFileSync(join(dir, 'copy.jsonl'), 'utf8')).toBe('');
    expect(offlineEntries(s)).toHaveLength(2);
  });

  it('the next successful call delivers what waits, and close() tries a last delivery', async () => {
    const port = await freePort();
    const dir = tempDir();
    const outbox = join(dir, 'outbox.jsonl');
    const c = client(port, outbox);
    await c.decide(modelCall(alice), { route: 'chat' });
    const s = await serve(port, join(dir, 'l.db'));
    // The channel reconnects on grpc-js's own backoff (a second or more after a refused connection): wait until it has.
    for (
      let i = 0;
      i < 100 &&
      !(await c.health().then(
        (h) => h === 'SERVING',
        () => false,
      ));
      i++
    )
      await sleep(100);
    expect((await c.decide(modelCall(alice), { route: 'chat' })).offline).toBeUndefined();
    for (let i = 0; i < 100 && offlineEntries(s).length === 0; i++) await sleep(20);
    expect(offlineEntries(s)).toHaveLength(1);
    for (let i = 0; i < 100 && records(outbox).length > 0; i++) await sleep(20);
    expect(records(outbox)).toHaveLength(0);

    // A record left by an earlier run (a client that could not deliver before it stopped) goes at close().
    const later = join(dir, 'later.jsonl');
    const down = await freePort();
    const first = client(down, later);
    await first.decide(modelCall(alice), { route: 'export' });
    await first.close();
    expect(records(later)).toHaveLength(1);
    const second = client(port, later);
    await second.close();
    expect(records(later)).toHaveLength(0);
    expect(offlineEntries(s)).toHaveLength(2);
  });

  it('the circuit closing delivers the outbox by itself, even when the call that probed is then refused', async () => {
    const port = await freePort();
    const dir = tempDir();
    const outbox = join(dir, 'outbox.jsonl');
    const c = client(port, outbox, { breaker: { failures: 1, halfOpenAfterMs: 100, probeTimeoutMs: 3_000 }, retry: false });
    const d = await c.decide(modelCall(alice), { route: 'chat' });
    expect(c.circuit).toBe('open');
    const s = await serve(port, join(dir, 'l.db'));
    await sleep(150);
    // This call's probe finds gavel SERVING and closes the circuit; the call itself is refused
    // (invalid input), so only the breaker's close can have started the delivery.
    expect((await refusal(c.decide(new TextEncoder().encode('[1]'), { route: 'chat' }))).code).toBe('invalid_input');
    expect(c.circuit).toBe('closed');
    for (let i = 0; i < 100 && offlineEntries(s).length === 0; i++) await sleep(20);
    expect(offlineEntries(s).map((e) => e.decisionId)).toEqual([d.decisionId]);
  });

  it('a torn last line (a crash mid-append) is skipped, and the next record starts on its own line', async () => {
    const port = await freePort();
    const outbox = join(tempDir(), 'outbox.jsonl');
    writeFileSync(outbox, '{"offline_id":"torn-by-a-cra');
    const c = client(port, outbox);
    const d = await c.decide(modelCall(alice), { route: 'chat' });
    expect(readFileSync(outbox, 'utf8').split('\n')[0]).toBe('{"offline_id":"torn-by-a-cra');
    const s = await serve(port, join(tempDir(), 'l.db'));
    expect(await c.flushOutbox()).toEqual({ delivered: 1, duplicates: 0, pending: 0 });
    expect(offlineEntries(s).map((e) => e.decisionId)).toEqual([d.decisionId]);
  });
});
