import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { coreOptions, ECHO, echoInput } from '../../../test/ledger/fixtures.js';
import { FIXTURE_BUNDLES, tempDir } from '../../../test/helpers/paths.js';
import { startChild, startInProcess, type ChildServer, type InProcessServer } from '../../../test/helpers/server.js';
import { createClient, type GavelClient } from '../src/index.js';
import { freePort, recordedRequestIds, refusal, sleep } from './helpers.js';

/**
 * decideStream(): many decisions over one DecideStream call, matched by request id. The echo
 * fixture bundle answers each input's own `result`, so every answer says which request it is for.
 */
let srv: InProcessServer;
let client: GavelClient;
const openStreams = async () => (await srv.server.metrics.streams.get()).values[0]?.value ?? 0;
const marked = (i: number) =>
  echoInput({ decision: i % 3 === 0 ? 'deny' : 'allow', reasons: [{ code: `c-${i}`, rule: `r.${i}`, effect: i % 3 === 0 ? 'deny' : 'allow' }] });

beforeAll(async () => {
  srv = await startInProcess(coreOptions(join(tempDir(), 'l.db'), { engine: { defaultEntrypoint: ECHO, workers: 1, inlineMaxBytes: 0 } }));
  client = createClient({ target: srv.address, tls: 'insecure', caller: 'sdk-stream', deadlineMs: 15_000 });
});
afterAll(async () => {
  await client.close();
  await srv.stop();
});

describe('decideStream', () => {
  it('50 concurrent decisions over one call, each answer matched to its request', async () => {
    const s = client.decideStream();
    expect(await openStreams()).toBe(0);
    const decisions = await Promise.all(Array.from({ length: 50 }, (_, i) => s.decide(marked(i), { requestId: `r-${i}` })));
    expect(await openStreams()).toBe(1);
    decisions.forEach((d, i) => {
      expect(d.requestId).toBe(`r-${i}`);
      expect(d.reasons.map((r) => r.code)).toEqual([`c-${i}`]);
      expect(d.outcome).toBe(i % 3 === 0 ? 'deny' : 'allow');
      const entry = srv.core.audit.get(d.decisionId)!;
      expect([entry.requestId, entry.seq, entry.entryHash, entry.caller]).toEqual([`r-${i}`, d.receipt.seq, d.receipt.entryHash, 'unverified:sdk-stream']);
    });
    // Generated ids are unique too.
    const more = await Promise.all([0, 1, 2].map((i) => s.decide(marked(i))));
    expect(new Set(more.map((d) => d.requestId)).size).toBe(3);
    expect(more.map((d) => d.reasons[0]!.code)).toEqual(['c-0', 'c-1', 'c-2']);
    expect(await openStreams()).toBe(1);
    await s.close();
    await expect.poll(openStreams).toBe(0);
    await expect(s.decide(marked(1))).rejects.toMatchObject({ code: 'closed' });
  });

  it('an error answer rejects its own request, as a GavelError, and the stream goes on', async () => {
    const s = client.decideStream();
    const [bad, good] = await Promise.allSettled([s.decide(Buffer.from('[1, 2]'), { requestId: 'bad' }), s.decide(marked(1), { requestId: 'good' })]);
    expect(bad.status).toBe('rejected');
    const err = (bad as PromiseRejectedResult).reason;
    expect([err.name, err.code, err.grpcCode, err.grpcStatus, err.retryable]).toEqual(['GavelError', 'invalid_input', 3, 'INVALID_ARGUMENT', false]);
    expect(good.status === 'fulfilled' && good.value.requestId).toBe('good');
    expect((await s.decide(marked(2), { policy: 'no/such' }).catch((e: unknown) => e)) as object).toMatchObject({
      code: 'unknown_entrypoint',
      grpcStatus: 'NOT_FOUND',
    });
    expect((await s.decide(marked(4))).reasons[0]!.code).toBe('c-4');
    await s.close();
  });

  it('an id still waiting for its answer is refused (request_id_in_use); a deadline stops the wait, not the decision', async () => {
    const s = client.decideStream();
    const slow = s.decide({ n: 1_000_000 }, { policy: 'fixtures/hungry', requestId: 'slow', deadlineMs: 100 });
    const dup = await refusal(s.decide(marked(1), { requestId: 'slow' }));
    expect(dup.code).toBe('request_id_in_use');
    const late = await refusal(slow);
    expect([late.code, late.grpcStatus]).toEqual(['deadline_exceeded', 'DEADLINE_EXCEEDED']);
    // Written already: the server decides it and records it; its id stays taken until the answer comes.
    expect((await refusal(s.decide(marked(1), { requestId: 'slow' }))).code).toBe('request_id_in_use');
    await expect.poll(() => s.inFlight, { timeout: 10_000 }).toBe(0);
    expect(recordedRequestIds(srv.core)).toContain('slow');
    // Decided and recorded: the id now names that decision, so another input under it is refused (idempotent Decide).
    expect((await refusal(s.decide(marked(5), { requestId: 'slow' }))).code).toBe('idempotency_conflict');
    expect((await s.decide(marked(5), { requestId: 'slow-2' })).reasons[0]!.code).toBe('c-5');
    await s.close();
  });

  it('an abort stops one request alone; cancel() abandons the call and rejects what waits', async () => {
    const s = client.decideStream();
    const abort = new AbortController();
    const one = s.decide(marked(1), { signal: abort.signal, requestId: 'aborted-before-open' });
    abort.abort();
    expect((await refusal(one)).code).toBe('cancelled');
    expect((await refusal(s.decide(marked(1), { signal: AbortSignal.abort(), requestId: 'aborted-already' }))).code).toBe('cancelled');
    const slow = s.decide({ n: 1_000_000 }, { policy: 'fixtures/hungry', requestId: 'abandoned' });
    await sleep(100);
    s.cancel();
    expect((await refusal(slow)).code).toBe('cancelled');
    expect((await refusal(s.decide(marked(1)))).code).toBe('closed');
    // Once the worker is past it, the abandoned decision is known not to have been recorded.
    await client.decide(marked(7), { requestId: 'after-cancel' });
    const ids = recordedRequestIds(srv.core);
    expect(ids).toContain('after-cancel');
    expect(ids).not.toContain('abandoned');
    expect(ids).not.toContain('aborted-before-open');
    expect(ids).not.toContain('aborted-already');
  });
});

describe('decideStream answers out of request order', () => {
  it('are matched by request id: a slow decision answered after the quick ones sent behind it', async () => {
    // Two workers: the slow decision holds one while the quick ones pass on the other.
    const two = await startInProcess(coreOptions(join(tempDir(), 'l.db'), { engine: { defaultEntrypoint: ECHO, workers: 2, inlineMaxBytes: 0 } }));
    const c = createClient({ target: two.address, tls: 'insecure', deadlineMs: 15_000 });
    try {
      const s = c.decideStream();
      const order: string[] = [];
      const track = <T extends { requestId: string }>(p: Promise<T>) =>
        p.then((d) => {
          order.push(d.requestId);
          return d;
        });
      const slow = track(s.decide({ n: 1_000_000 }, { policy: 'fixtures/hungry', requestId: 'slow' }));
      await sleep(50);
      // One at a time, so each goes to the idle worker, not behind the slow one.
      const quick = [];
      for (const i of [1, 2, 3, 4]) quick.push(await track(s.decide(marked(i), { requestId: `q-${i}` })));
      const d = await slow;
      expect(order.at(-1)).toBe('slow');
      expect(quick.map((q) => [q.requestId, q.reasons[0]!.code])).toEqual([1, 2, 3, 4].map((i) => [`q-${i}`, `c-${i}`]));
      expect(d.requestId).toBe('slow');
      expect(d.reasons.map((r) => r.code).filter((c) => c.startsWith('c-'))).toEqual([]);
      expect(two.core.audit.get(d.decisionId)?.requestId).toBe('slow');
      await s.close();
    } finally {
      await c.close();
      await two.stop();
    }
  });
});

describe('decideStream when the server dies', () => {
  const children: ChildServer[] = [];
  afterEach(() => {
    for (const c of children.splice(0)) c.child.kill('SIGKILL');
  });

  it('rejects every request waiting on the broken call, and opens a new call for the next', async () => {
    const port = await freePort();
    const dir = tempDir();
    const serve = async (ledger: string) => {
      const child = await startChild([
        '--bundles',
        FIXTURE_BUNDLES,
        '--listen',
        `127.0.0.1:${port}`,
        '--ledger',
        join(dir, ledger),
        '--workers',
        '1',
        '--inline-max-bytes',
        '0',
      ]);
      children.push(child);
      return child;
    };
    const first = await serve('a.db');
    const c = createClient({ target: `127.0.0.1:${port}`, tls: 'insecure', deadlineMs: 20_000, breaker: false });
    try {
      const s = c.decideStream();
      expect((await s.decide(marked(1), { policy: ECHO })).reasons[0]!.code).toBe('c-1');
      const waiting = [1, 2, 3].map(() => refusal(s.decide({ n: 3_000_000 }, { policy: 'fixtures/hungry' })));
      await sleep(300);
      first.child.kill('SIGKILL');
      for (const err of await Promise.all(waiting)) expect([err.code, err.grpcStatus]).toEqual(['unavailable', 'UNAVAILABLE']);
      expect(s.inFlight).toBe(0);
      await serve('b.db');
      expect((await s.decide(marked(2), { policy: ECHO })).reasons[0]!.code).toBe('c-2');
      await s.close();
    } finally {
      await c.close();
    }
  });
});
