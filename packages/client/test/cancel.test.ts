import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { coreOptions, ECHO, echoInput } from '../../../test/ledger/fixtures.js';
import { tempDir } from '../../../test/helpers/paths.js';
import { startInProcess, type InProcessServer } from '../../../test/helpers/server.js';
import { createClient, type GavelClient } from '../src/index.js';
import { refusal } from './helpers.js';

/**
 * Cancellation through an AbortSignal against the real server: the fixture bundles' "hungry"
 * entrypoint evaluates slowly, so the cancel reaches the server while the decision is being made.
 * A cancelled Decide answers nothing and records nothing (README "Failing closed"). It is evaluated
 * on a worker thread, so this process's event loop (the client's) stays free to cancel.
 */
let srv: InProcessServer;
let client: GavelClient;
const slow = { n: 1_000_000 };

beforeAll(async () => {
  srv = await startInProcess(coreOptions(join(tempDir(), 'l.db'), { engine: { defaultEntrypoint: ECHO, workers: 1, inlineMaxBytes: 0 } }));
  client = createClient({ target: srv.address, tls: 'insecure', deadlineMs: 15_000 });
  expect(await client.health()).toBe('SERVING');
});
afterAll(async () => {
  await client.close();
  await srv.stop();
});

describe('AbortSignal', () => {
  it('cancels a Decide in flight: cancelled at once, and the server records nothing', async () => {
    const abort = new AbortController();
    const started = Date.now();
    const call = client.decide(slow, { policy: 'fixtures/hungry', requestId: 'sdk-cancelled', signal: abort.signal });
    setTimeout(() => abort.abort(), 100);
    const err = await refusal(call);
    expect([err.code, err.grpcStatus, err.retryable]).toEqual(['cancelled', 'CANCELLED', false]);
    expect(Date.now() - started).toBeLessThan(600);
    // The control, on the one worker after the cancelled one: once it is recorded, the cancelled
    // decision has been evaluated and would have been recorded before it.
    const controlStarted = Date.now();
    const d = await client.decide(slow, { policy: 'fixtures/hungry', requestId: 'sdk-control' });
    expect(Date.now() - controlStarted).toBeGreaterThan(100); // so the cancel above came mid-evaluation
    expect([...srv.core.audit.query({ kind: 'decision' })].map((e) => e.requestId)).toEqual(['sdk-control']);
    expect(srv.core.audit.get(d.decisionId)).toBeDefined();
  });

  it('an already aborted signal sends nothing', async () => {
    const before = srv.core.audit.size;
    const err = await refusal(client.decide(echoInput(), { signal: AbortSignal.abort() }));
    expect(err).toMatchObject({ code: 'cancelled' });
    expect(srv.core.audit.size).toBe(before);
    expect((await client.decide(echoInput())).outcome).toBe('allow');
    expect(srv.core.audit.size).toBe(before + 1);
  });
});
