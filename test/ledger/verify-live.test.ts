import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { clients, jsonInput, unary, type Clients } from '../helpers/client.js';
import { FIXTURE_BUNDLES, tempDir } from '../helpers/paths.js';
import { startInProcess, type InProcessServer } from '../helpers/server.js';
import { echoInput } from './fixtures.js';

/** A Verify over gRPC walks the chain in slices on its own connection: Decide keeps being answered meanwhile. */
let srv: InProcessServer;
let c: Clients;
const ENTRIES = 30_000;

beforeAll(async () => {
  srv = await startInProcess({ bundles: FIXTURE_BUNDLES, ledger: join(tempDir(), 'ledger.db'), engine: { defaultEntrypoint: 'fixtures/echo' }, usage: false });
  c = clients(srv.address);
  const input = { json: Buffer.from(JSON.stringify(echoInput())) };
  for (let done = 0; done < ENTRIES; done += 1000) {
    await Promise.all(Array.from({ length: 1000 }, () => srv.core.decide({ policy: '', input, requestId: '', caller: 'seed' })));
  }
}, 120_000);
afterAll(async () => {
  c.close();
  await srv.stop();
});

it('Decide calls are answered while a Verify of the whole ledger runs', async () => {
  const order: string[] = [];
  const verify = unary(c.audit, 'Verify', {}).then((r) => {
    order.push('verify');
    return r;
  });
  // Give the Verify a head start so it is mid-walk when the decisions arrive.
  await new Promise((resolve) => setTimeout(resolve, 20));
  const decisions = Array.from({ length: 5 }, () =>
    unary(c.decision, 'Decide', jsonInput(echoInput())).then((r) => {
      order.push('decide');
      return r;
    }),
  );
  const [report, ...answers] = await Promise.all([verify, ...decisions]);
  expect(report).toMatchObject({ ok: true, message: 'ledger verified' });
  // The walk saw the snapshot it started on (at least the seeded entries), not a torn state.
  expect(Number(report.entries)).toBeGreaterThanOrEqual(ENTRIES);
  expect(answers.every((a) => Number(a.receipt.seq) > ENTRIES)).toBe(true);
  expect(order.indexOf('decide')).toBeLessThan(order.indexOf('verify'));
});
