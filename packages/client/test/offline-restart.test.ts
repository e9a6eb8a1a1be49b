import { copyFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { clients, stream, unary } from '../../../test/helpers/client.js';
import { BUNDLES, tempDir } from '../../../test/helpers/paths.js';
import { type ChildServer, startChild } from '../../../test/helpers/server.js';
import { modelCall } from '../../../test/usage/helpers.js';
import { createClient, type GavelClient } from '../src/index.js';

/**
 * The outage end to end: a `gavel serve` killed with SIGKILL, decisions made meanwhile by an open
 * and a closed route, the server restarted on the same ledger and port, and the outbox delivering
 * each offline decision into the ledger exactly once, however often it is delivered.
 */
const alice = { subject: 'sdk-outage', team: 'platform', costCenter: 'cc-100' };
const children: ChildServer[] = [];
const opened: GavelClient[] = [];
afterAll(async () => {
  for (const c of opened) await c.close();
  for (const c of children) c.child.kill('SIGKILL');
});

function client(address: string, outbox: string): GavelClient {
  const c = createClient({
    target: address,
    tls: 'insecure',
    deadlineMs: 3_000,
    retry: { maxAttempts: 2, initialBackoffMs: 50, maxBackoffMs: 200 },
    breaker: { failures: 2, halfOpenAfterMs: 200, probeTimeoutMs: 3_000 },
    routes: { chat: { failMode: 'closed' }, export: { failMode: 'open' } },
    outbox: { path: outbox },
  });
  opened.push(c);
  return c;
}

describe('a gavel serve killed and restarted', () => {
  it('each decision made while it was down is in the ledger once, as an offline entry with its mode and cause', async () => {
    const dir = tempDir();
    const ledger = join(dir, 'ledger.db');
    const outbox = join(dir, 'outbox.jsonl');
    const serve = async (...extra: string[]) => {
      const child = await startChild(['--bundles', BUNDLES, '--ledger', ledger, ...extra]);
      children.push(child);
      return child;
    };
    const first = await serve();
    const c = client(first.address, outbox);
    expect((await c.decide(modelCall(alice), { route: 'chat' })).offline).toBeUndefined();

    first.child.kill('SIGKILL');
    await first.exited;
    const offline = [
      await c.decide(modelCall(alice), { route: 'chat' }),
      await c.decide(modelCall(alice), { route: 'export' }),
      await c.decide(modelCall(alice), { route: 'chat' }),
    ];
    expect(offline.map((d) => [d.outcome, d.offline?.mode])).toEqual([
      ['deny', 'closed'],
      ['allow', 'open'],
      ['deny', 'closed'],
    ]);
    expect(offline.every((d) => d.offline !== undefined && d.receipt.seq === 0)).toBe(true);
    expect(readFileSync(outbox, 'utf8').trim().split('\n')).toHaveLength(3);
    copyFileSync(outbox, join(dir, 'stale.jsonl')); // what a client that crashed before removing them would still hold

    const second = await serve('--listen', first.address);
    expect(second.port).toBe(first.port);
    // The next successful call (after the breaker's probe closes the circuit) delivers the outbox.
    expect((await c.decide(modelCall(alice), { route: 'chat', deadlineMs: 8_000 })).offline).toBeUndefined();
    await expect.poll(() => readFileSync(outbox, 'utf8'), { timeout: 10_000 }).toBe('');

    const raw = clients(second.address);
    try {
      const entries = () => stream(raw.audit, 'QueryDecisions', { kind: 'offline', ascending: true, limit: 100 });
      const recorded = await entries();
      expect(recorded.map((e) => [e.decision_id, e.decision, e.reason_codes])).toEqual([
        [offline[0]!.decisionId, 'deny', ['pdp_unavailable']],
        [offline[1]!.decisionId, 'allow', ['pdp_unavailable_fail_open']],
        [offline[2]!.decisionId, 'deny', ['pdp_unavailable']],
      ]);
      const payload = JSON.parse((await unary(raw.audit, 'GetDecision', { decision_id: offline[1]!.decisionId })).payload_json.toString());
      expect(payload.offline).toMatchObject({ mode: 'open', cause: expect.stringMatching(/^(unavailable|circuit_open)$/) });

      // Delivering again (a second client over the stale copy) is answered duplicate: nothing is added.
      const again = client(second.address, join(dir, 'stale.jsonl'));
      expect(await again.flushOutbox()).toEqual({ delivered: 0, duplicates: 3, pending: 0 });
      expect(await entries()).toHaveLength(3);
      expect((await unary(raw.audit, 'Verify', {})).ok).toBe(true);
    } finally {
      raw.close();
    }
  });
});
