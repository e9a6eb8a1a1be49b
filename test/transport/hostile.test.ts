import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { clients, jsonInput, unary, type Clients } from '../helpers/client.js';
import { BUNDLES, tempDir } from '../helpers/paths.js';
import { sample } from '../helpers/samples.js';
import { startInProcess, type InProcessServer } from '../helpers/server.js';

/**
 * Inputs just under the limits, built to make the reference policy work hard.
 * Each gets an answer with its ledger entry (or a clear refusal), and the
 * server keeps answering ordinary calls afterwards.
 */
let srv: InProcessServer;
let c: Clients;
beforeAll(async () => {
  srv = await startInProcess({ bundles: BUNDLES, ledger: join(tempDir(), 'l.db') });
  c = clients(srv.address);
});
afterAll(async () => {
  c.close();
  await srv.stop();
});

const base = sample('employee-standard-allowed').input as { content: { prompt: string } };
const withPrompt = (prompt: string) => ({ ...base, content: { prompt } });
const NEAR_LIMIT = 900 * 1024;

const hostile: Array<[string, () => unknown]> = [
  [
    'a prompt that is nothing but email addresses',
    () =>
      withPrompt(
        Array.from({ length: 60_000 }, (_, i) => `u${i}@x.io`)
          .join(' ')
          .slice(0, NEAR_LIMIT),
      ),
  ],
  ['a prompt of card-like digit runs', () => withPrompt('4111 1111 1111 1111 '.repeat(NEAR_LIMIT / 20))],
  ['a prompt of injection keywords without the rest of the pattern', () => withPrompt('ignore system :// exfiltra '.repeat(NEAR_LIMIT / 27))],
  ['a prompt of one repeated character', () => withPrompt('a'.repeat(NEAR_LIMIT))],
  ['a wide object with many keys', () => ({ ...base, extra: Object.fromEntries(Array.from({ length: 30_000 }, (_, i) => [`k${i}`, i])) })],
  [
    'a long roles array',
    () => ({ ...base, subject: { id: 'x', type: 'user', roles: Array.from({ length: 50_000 }, (_, i) => `r${i}`), team: 't', cost_center: 'c' } }),
  ],
];

it.each(hostile)('%s is answered and recorded, then normal calls proceed', async (_name, build) => {
  const before = srv.core.parts.ledger.size;
  const res = await unary(c.decision, 'Decide', jsonInput(build()));
  expect(res.decision).toMatch(/^DECISION_(ALLOW|DENY|REDACT|REQUIRE_APPROVAL)$/);
  expect(Number(res.receipt.seq)).toBe(before + 1);
  const ok = await unary(c.decision, 'Decide', jsonInput(sample('employee-standard-allowed').input));
  expect(ok.decision).toBe('DECISION_ALLOW');
});

it('a prompt flooded with personal data is redacted whole rather than failing', async () => {
  const res = await unary(c.decision, 'Decide', jsonInput(hostile[0]![1]()));
  expect(res.decision).toBe('DECISION_REDACT');
  expect(res.redactions).toEqual([{ path: '/content/prompt', kind: 'personal_data' }]);
  expect(JSON.parse(res.redacted_input_json.toString()).content.prompt).toBe('[REDACTED:personal_data]');
});
