import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FIXTURE_BUNDLES, BUNDLES, tempDir } from '../../../test/helpers/paths.js';
import { clients, stream } from '../../../test/helpers/client.js';
import { startChild, type ChildServer } from '../../../test/helpers/server.js';
import { modelCall } from '../../../test/usage/helpers.js';
import { createClient, type GavelClient } from '../src/index.js';
import { freePort, recordedRequestIds, refusal, serveOn, sleep, type ServerOnPort } from './helpers.js';

/**
 * Retries that never count twice: an attempt is retried only when it provably never reached the
 * server (no connection could be made), always with the same request id, within the deadline.
 */
const alice = { subject: 'sdk-retry', team: 'platform', costCenter: 'cc-100' };
const cleanup: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

function client(port: number, extra: Partial<Parameters<typeof createClient>[0]> = {}): GavelClient {
  const c = createClient({ target: `127.0.0.1:${port}`, tls: 'insecure', breaker: false, ...extra });
  cleanup.push(() => c.close());
  return c;
}

describe('a server not listening yet', () => {
  it('is waited for: started on that port within the deadline, the call is decided once, under its one request id', async () => {
    const port = await freePort();
    const c = client(port, { retry: { maxAttempts: 50, initialBackoffMs: 50, maxBackoffMs: 300 } });
    const started = Date.now();
    const pending = c.decide(modelCall(alice), { requestId: 'sdk-retried', deadlineMs: 20_000 });
    await sleep(700);
    const srv: ServerOnPort = await serveOn(port, { bundles: BUNDLES, ledger: join(tempDir(), 'l.db') });
    cleanup.push(() => srv.stop());
    const d = await pending;
    expect(Date.now() - started).toBeGreaterThanOrEqual(700);
    expect([d.outcome, d.requestId]).toEqual(['allow', 'sdk-retried']);
    expect(recordedRequestIds(srv.core)).toEqual(['sdk-retried']);
    expect(srv.core.audit.get(d.decisionId)?.seq).toBe(d.receipt.seq);
  });

  it('is given up on at the deadline: the last failure, unavailable and retryable', async () => {
    const port = await freePort();
    const c = client(port, { retry: { maxAttempts: 50, initialBackoffMs: 50, maxBackoffMs: 200 } });
    const started = Date.now();
    const err = await refusal(c.decide(modelCall(alice), { deadlineMs: 800 }));
    const took = Date.now() - started;
    expect([err.code, err.grpcStatus, err.retryable]).toEqual(['unavailable', 'UNAVAILABLE', true]);
    expect(took).toBeGreaterThan(300); // it kept trying…
    expect(took).toBeLessThan(1_300); // …within the deadline
  });

  it('without retries: one attempt, failed at once', async () => {
    const port = await freePort();
    const c = client(port, { retry: false });
    const started = Date.now();
    const err = await refusal(c.decide(modelCall(alice), { deadlineMs: 5_000 }));
    expect(err.code).toBe('unavailable');
    expect(Date.now() - started).toBeLessThan(300);
  });

  it('maxAttempts bounds the attempts before the deadline does', async () => {
    const port = await freePort();
    const c = client(port, { retry: { maxAttempts: 3, initialBackoffMs: 100, maxBackoffMs: 100 } });
    const started = Date.now();
    await refusal(c.decide(modelCall(alice), { deadlineMs: 10_000 }));
    // Two pauses of 50-100 ms between three attempts that each fail at once.
    expect(Date.now() - started).toBeGreaterThanOrEqual(100);
    expect(Date.now() - started).toBeLessThan(1_000);
  });
});

describe('a Decide that was sent', () => {
  let first: ChildServer | undefined;
  let second: ChildServer | undefined;
  afterEach(() => {
    for (const s of [first, second]) s?.child.kill('SIGKILL');
  });

  it('is not retried when the server dies under it: UNAVAILABLE is returned, though a server is back on the port at once', async () => {
    const port = await freePort();
    const args = ['--bundles', FIXTURE_BUNDLES, '--listen', `127.0.0.1:${port}`, '--no-metering', '--workers', '1', '--inline-max-bytes', '0'];
    first = await startChild([...args, '--ledger', join(tempDir(), 'a.db')]);
    const c = client(port, { retry: { maxAttempts: 50, initialBackoffMs: 50, maxBackoffMs: 300 } });
    expect(await c.health()).toBe('SERVING');
    const pending = refusal(c.decide({ n: 3_000_000 }, { policy: 'fixtures/hungry', requestId: 'sdk-sent', deadlineMs: 30_000 }));
    await sleep(300); // sent, and being evaluated
    first.child.kill('SIGKILL');
    await first.exited;
    second = await startChild([...args, '--ledger', join(tempDir(), 'b.db')]);
    const err = await pending;
    expect([err.code, err.grpcStatus]).toEqual(['unavailable', 'UNAVAILABLE']);
    // A retry would have reached the second server: it decides the next call, and only that one.
    const d = await c.decide({ result: { decision: 'allow', reasons: [] } }, { policy: 'fixtures/echo', requestId: 'sdk-after' });
    expect(d.outcome).toBe('allow');
    const audit = clients(second.address);
    cleanup.push(() => audit.close());
    const entries = await stream<{ request_id: string }>(audit.audit, 'QueryDecisions', { kind: 'decision' });
    expect(entries.map((e) => e.request_id)).toEqual(['sdk-after']);
  });
});
