import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUNDLES, tempDir } from '../../../test/helpers/paths.js';
import { startInProcess, type InProcessServer } from '../../../test/helpers/server.js';
import { CircuitBreaker } from '../src/breaker.js';
import { fromServiceError, unavailable } from '../src/errors.js';
import { DEFAULT_RETRY } from '../src/options.js';
import { backoffMs } from '../src/retry.js';
import { CallRunner } from '../src/runner.js';
import { refusal } from './helpers.js';

describe('backoff', () => {
  const policy = { maxAttempts: 10, initialBackoffMs: 100, maxBackoffMs: 1_000 };
  it('doubles from initialBackoffMs up to maxBackoffMs', () => {
    expect([1, 2, 3, 4, 5, 6].map((n) => backoffMs(policy, n, () => 1))).toEqual([100, 200, 400, 800, 1_000, 1_000]);
  });
  it('is jittered between half and all of that, never zero', () => {
    expect([1, 2, 3, 5].map((n) => backoffMs(policy, n, () => 0))).toEqual([50, 100, 200, 500]);
    expect(backoffMs(policy, 3, () => 0.5)).toBe(300);
  });
});

describe('CallRunner: what is sent again', () => {
  let srv: InProcessServer;
  let channel: grpc.Channel;
  beforeAll(async () => {
    srv = await startInProcess({ bundles: BUNDLES, ledger: join(tempDir(), 'l.db') });
    channel = new grpc.Channel(srv.address, grpc.credentials.createInsecure(), {});
  });
  afterAll(async () => {
    channel.close();
    await srv.stop();
  });

  /** A send that fails with `first` once, then succeeds; counts its calls. */
  function flaky(first: Error) {
    let sent = 0;
    return { send: async () => (++sent === 1 ? Promise.reject(first) : 'ok'), sent: () => sent };
  }
  const runner = () => new CallRunner(channel, { maxAttempts: 3, initialBackoffMs: 10, maxBackoffMs: 10 }, undefined);

  it('an idempotent call (Report, reads) that reached the server and failed transiently is sent again', async () => {
    const f = flaky(unavailable('connection reset'));
    expect(await runner().run({ idempotent: true, deadline: Date.now() + 5_000, signal: undefined, send: f.send })).toBe('ok');
    expect(f.sent()).toBe(2);
  });

  it('a call that is not idempotent (Decide) is sent once: its UNAVAILABLE is returned', async () => {
    const f = flaky(unavailable('connection reset'));
    expect((await refusal(runner().run({ idempotent: false, deadline: Date.now() + 5_000, signal: undefined, send: f.send }))).code).toBe('unavailable');
    expect(f.sent()).toBe(1);
  });

  it('a failure that is not retryable is returned at once, idempotent or not', async () => {
    const metadata = new grpc.Metadata();
    metadata.set('gavel-error-code', 'report_conflict');
    const f = flaky(fromServiceError(Object.assign(new Error('x'), { code: grpc.status.FAILED_PRECONDITION, details: 'x', metadata })));
    expect((await refusal(runner().run({ idempotent: true, deadline: Date.now() + 5_000, signal: undefined, send: f.send }))).code).toBe('report_conflict');
    expect(f.sent()).toBe(1);
  });
});

describe('CallRunner and the breaker: what counts', () => {
  let srv: InProcessServer;
  let channel: grpc.Channel;
  beforeAll(async () => {
    srv = await startInProcess({ bundles: BUNDLES, ledger: join(tempDir(), 'l.db') });
    channel = new grpc.Channel(srv.address, grpc.credentials.createInsecure(), {});
  });
  afterAll(async () => {
    channel.close();
    await srv.stop();
  });

  const refused = () => {
    const metadata = new grpc.Metadata();
    metadata.set('gavel-error-code', 'invalid_input');
    return fromServiceError(Object.assign(new Error('bad'), { code: grpc.status.INVALID_ARGUMENT, details: 'bad', metadata }));
  };
  const setup = () => {
    const breaker = new CircuitBreaker({ failures: 2, halfOpenAfterMs: 60_000, probeTimeoutMs: 100 }, async () => true);
    const runner = new CallRunner(channel, { ...DEFAULT_RETRY, maxAttempts: 1 }, breaker);
    const run = (send: () => Promise<unknown>) => runner.run({ idempotent: false, deadline: Date.now() + 5_000, signal: undefined, send });
    return { breaker, run };
  };

  it('a refusal is an answer: the server is up, and the count of connection failures starts again', async () => {
    const { breaker, run } = setup();
    breaker.failure();
    expect((await refusal(run(() => Promise.reject(refused())))).code).toBe('invalid_input');
    breaker.failure();
    expect(breaker.state).toBe('closed');
  });

  it('a connection that broke under a sent call counts as a connection failure', async () => {
    const { breaker, run } = setup();
    breaker.failure();
    expect((await refusal(run(() => Promise.reject(unavailable('connection reset'))))).code).toBe('unavailable');
    expect(breaker.state).toBe('open');
  });

  it('a deadline or a cancel counts neither way', async () => {
    const { breaker, run } = setup();
    breaker.failure();
    const late = fromServiceError(Object.assign(new Error('late'), { code: grpc.status.DEADLINE_EXCEEDED, details: 'late', metadata: new grpc.Metadata() }));
    await refusal(run(() => Promise.reject(late)));
    expect(breaker.state).toBe('closed'); // not a failure…
    breaker.failure();
    expect(breaker.state).toBe('open'); // …nor an answer
  });
});
