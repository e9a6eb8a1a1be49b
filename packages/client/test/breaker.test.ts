import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BUNDLES, tempDir } from '../../../test/helpers/paths.js';
import { startChild, type ChildServer } from '../../../test/helpers/server.js';
import { modelCall } from '../../../test/usage/helpers.js';
import { CircuitBreaker } from '../src/breaker.js';
import { createClient, GavelError } from '../src/index.js';
import { freePort, refusal, sleep } from './helpers.js';

const alice = { subject: 'sdk-breaker', team: 'platform', costCenter: 'cc-100' };

describe('the circuit breaker against a gavel serve that dies and comes back', () => {
  const children: ChildServer[] = [];
  afterAll(() => {
    for (const c of children) c.child.kill('SIGKILL');
  });

  it('opens after consecutive connection failures, fails fast while open, and closes once health answers SERVING again', async () => {
    const port = await freePort();
    const dir = tempDir();
    const serve = async (ledger: string) => {
      const child = await startChild(['--bundles', BUNDLES, '--listen', `127.0.0.1:${port}`, '--ledger', join(dir, ledger)]);
      children.push(child);
      return child;
    };
    const first = await serve('a.db');
    // One attempt per call; the channel's reconnect backoff grows to 4 s, so when the server is back the
    // channel may still be between reconnects: the probe must wait through that, up to probeTimeoutMs.
    const c = createClient({
      target: `127.0.0.1:${port}`,
      tls: 'insecure',
      retry: { maxAttempts: 1, initialBackoffMs: 1_000, maxBackoffMs: 4_000 },
      breaker: { failures: 3, halfOpenAfterMs: 1_000, probeTimeoutMs: 6_000 },
    });
    try {
      expect((await c.decide(modelCall(alice))).outcome).toBe('allow');
      expect(c.circuit).toBe('closed');

      first.child.kill('SIGKILL');
      await first.exited;
      for (let i = 0; i < 3; i++) {
        expect(c.circuit).toBe('closed');
        expect((await refusal(c.decide(modelCall(alice)))).code).toBe('unavailable');
      }
      expect(c.circuit).toBe('open');

      const t0 = Date.now();
      const open = await refusal(c.decide(modelCall(alice), { deadlineMs: 5_000 }));
      expect([open.code, open.grpcStatus, open.retryable]).toEqual(['circuit_open', 'UNAVAILABLE', true]);
      expect(Date.now() - t0).toBeLessThan(50);

      // Past halfOpenAfterMs with the server still down: the probe fails and the circuit opens again.
      await sleep(1_100);
      const probeFailed = await refusal(c.decide(modelCall(alice), { deadlineMs: 500 }));
      expect(probeFailed.code).toBe('circuit_open');
      expect(c.circuit).toBe('open');

      await serve('b.db'); // takes longer than halfOpenAfterMs
      const d = await c.decide(modelCall(alice), { deadlineMs: 8_000 });
      expect(d.outcome).toBe('allow');
      expect(c.circuit).toBe('closed');
    } finally {
      await c.close();
    }
  });
});

describe('CircuitBreaker, by itself', () => {
  const config = { failures: 2, halfOpenAfterMs: 1_000, probeTimeoutMs: 100 };
  function breaker(serving: () => Promise<boolean>) {
    let t = 0;
    const probes: number[] = [];
    const b = new CircuitBreaker(
      config,
      (until) => {
        probes.push(until);
        return serving();
      },
      () => t,
    );
    return { b, probes, advance: (ms: number) => (t += ms) };
  }

  it('counts only consecutive failures: an answer in between resets the count', async () => {
    const { b } = breaker(async () => true);
    b.failure();
    b.success();
    b.failure();
    expect(b.state).toBe('closed');
    await b.admit(Number.POSITIVE_INFINITY);
    b.failure();
    expect(b.state).toBe('open');
  });

  it('open: fails fast with circuit_open until halfOpenAfterMs, then one probe (shared) decides; the probe is bounded by probeTimeoutMs', async () => {
    let answer!: (ok: boolean) => void;
    const { b, probes, advance } = breaker(() => new Promise<boolean>((r) => (answer = r)));
    b.failure();
    b.failure();
    await expect(b.admit(5_000)).rejects.toMatchObject({ code: 'circuit_open', retryable: true, grpcStatus: 'UNAVAILABLE' });
    advance(999);
    await expect(b.admit(5_000)).rejects.toBeInstanceOf(GavelError);
    expect(probes).toEqual([]);
    advance(1);
    const one = b.admit(5_000);
    const two = b.admit(5_000);
    expect(b.state).toBe('half-open');
    expect(probes).toEqual([1_000 + 100]);
    answer(false);
    await expect(one).rejects.toMatchObject({ code: 'circuit_open' });
    await expect(two).rejects.toMatchObject({ code: 'circuit_open' });
    expect(b.state).toBe('open');
    // Opened again from the failed probe: another full period before the next one.
    advance(999);
    await expect(b.admit(5_000)).rejects.toMatchObject({ code: 'circuit_open' });
    advance(1);
    const three = b.admit(1_050);
    expect(probes).toEqual([1_100, 1_050]); // the call's own deadline, when sooner
    answer(true);
    await three;
    expect(b.state).toBe('closed');
  });

  it('calls onClose when a probe closes the circuit (the client delivers its outbox then), not when it fails', async () => {
    let serving = false;
    const { b, advance } = breaker(async () => serving);
    let closes = 0;
    b.onClose = () => closes++;
    b.failure();
    b.failure();
    advance(1_000);
    await expect(b.admit(5_000)).rejects.toMatchObject({ code: 'circuit_open' });
    expect(closes).toBe(0);
    serving = true;
    advance(1_000);
    await b.admit(5_000);
    expect([b.state, closes]).toEqual(['closed', 1]);
  });

  it('a probe that throws counts as not serving', async () => {
    const { b, advance } = breaker(async () => {
      throw new Error('no connection');
    });
    b.failure();
    b.failure();
    advance(1_000);
    await expect(b.admit(5_000)).rejects.toMatchObject({ code: 'circuit_open' });
    expect(b.state).toBe('open');
  });
});
