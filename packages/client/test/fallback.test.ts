import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { readArchive } from '../../../src/bundles/archive.js';
import { bundleVerification } from '../../../src/bundles/verification-keys.js';
import { openFallbackPolicy, type FallbackPolicy as ServerFallbackPolicy } from '../../../src/index.js';
import { type BundleServer, startBundleServer } from '../../../test/helpers/bundle-server.js';
import { ROOT, tempDir } from '../../../test/helpers/paths.js';
import { repack } from '../../../test/helpers/repack.js';
import { sample } from '../../../test/helpers/samples.js';
import { signedBundle, VERIFICATION_KEY } from '../../../test/helpers/signed-bundle.js';
import { modelCall } from '../../../test/usage/helpers.js';
import { createClient, type FallbackPolicy, type GavelClient } from '../src/index.js';
import type { OfflineRecord } from '../src/outbox.js';
import { freePort, refusal, type ServerOnPort, serveOn, sleep } from './helpers.js';

/**
 * A `fallback` route: with gavel down, the local copy of the same signed bundle decides in the
 * client (gavel's own runtime, openFallbackPolicy), fed from the same bundle server and verified
 * with the same key; the decision waits in the outbox and reaches the ledger as an offline entry
 * naming the revision that decided.
 */
const alice = { subject: 'sdk-fallback', team: 'platform', costCenter: 'cc-100' };
const AI = readFileSync(join(ROOT, 'bundles/ai.tar.gz'));
const manifest = JSON.parse(readArchive(AI).get('.manifest')!.toString()) as Record<string, unknown>;
/** The reference bundle under another revision, signed with the servers' key. */
const revision = (rev: string) => signedBundle(repack(AI, { '.manifest': JSON.stringify({ ...manifest, revision: rev }) }));
const keys = [{ file: VERIFICATION_KEY }];

let bundles: BundleServer;
let first: Buffer;
beforeAll(async () => {
  first = revision('fallback-1');
  bundles = await startBundleServer(first);
});
afterAll(() => bundles.stop());

const opened: GavelClient[] = [];
const servers: ServerOnPort[] = [];
afterEach(async () => {
  for (const c of opened.splice(0)) await c.close(); // closes its fallback policy too
  for (const s of servers.splice(0)) await s.stop();
  bundles.serve(first);
});

/** A gavel server fed from the same bundle server, with the same key. */
async function serve(port: number, ledger: string): Promise<ServerOnPort> {
  const s = await serveOn(port, { bundles: { urls: [bundles.url] }, delivery: { verification: bundleVerification(keys) }, ledger });
  servers.push(s);
  return s;
}

function client(port: number, outbox: string, fallback: FallbackPolicy): GavelClient {
  const c = createClient({
    target: `127.0.0.1:${port}`,
    tls: 'insecure',
    deadlineMs: 2_000,
    retry: false,
    breaker: false,
    routes: { chat: { failMode: 'fallback' } },
    outbox: { path: outbox },
    fallback,
  });
  opened.push(c);
  return c;
}

const records = (path: string): OfflineRecord[] =>
  readFileSync(path, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as OfflineRecord);

describe('fallback routes', () => {
  it('with gavel down, the local signed bundle decides as gavel would (allow, deny, redact), and each decision reaches the ledger once', async () => {
    const port = await freePort();
    const dir = tempDir();
    const outbox = join(dir, 'outbox.jsonl');
    const local: ServerFallbackPolicy = await openFallbackPolicy({ urls: [bundles.url], keys, cacheDir: join(dir, 'cache') });
    const c = client(port, outbox, local); // the server's FallbackPolicy is the client's: one type, checked here by the compiler

    const allowed = await c.decide(modelCall(alice), { route: 'chat', requestId: 'fb-allow' });
    const denied = await c.decide(modelCall(alice, 'frontier-xl'), { route: 'chat' });
    const pii = sample('prompt-pii-redact');
    const redacted = await c.decide(pii.input, { route: 'chat' });

    expect(allowed).toMatchObject({
      outcome: 'allow',
      offline: { mode: 'fallback', cause: 'unavailable', route: 'chat' },
      policy: { bundle: 'ai', revision: 'fallback-1', digest: expect.stringMatching(/^sha256:[0-9a-f]{64}$/) },
      receipt: { seq: 0 },
      requestId: 'fb-allow',
      entrypoint: 'gavel/ai/decision',
    });
    expect(allowed.reasons.map((r) => r.code)).toEqual(['allowed']);
    expect([denied.outcome, denied.reasons.map((r) => r.code)]).toEqual(['deny', ['model_not_permitted']]);
    expect(denied.reasons[0]).toMatchObject({ rule: expect.any(String), effect: 'deny' });
    expect(redacted.outcome).toBe(pii.expect.decision);
    expect(redacted.redactions.length).toBeGreaterThan(0);
    for (const r of pii.expect.redactions ?? []) expect(JSON.stringify(redacted.redactedInput)).not.toContain(r.match);

    const held = records(outbox);
    expect(held.map((r) => [r.offline_id, r.mode, r.decision, r.policy_version?.revision])).toEqual([
      [allowed.decisionId, 'fallback', 'allow', 'fallback-1'],
      [denied.decisionId, 'fallback', 'deny', 'fallback-1'],
      [redacted.decisionId, 'fallback', pii.expect.decision, 'fallback-1'],
    ]);

    const s = await serve(port, join(dir, 'l.db'));
    // The client's channel reconnects on its own backoff: a flush before that finds no connection and delivers nothing.
    await expect
      .poll(() => c.flushOutbox().catch((err: Error) => err.message), { timeout: 10_000, interval: 200 })
      .toEqual({ delivered: 3, duplicates: 0, pending: 0 });
    const entries = [...s.core.audit.query({ kind: 'offline', order: 'asc', limit: 100 })];
    expect(entries.map((e) => [e.decisionId, e.decision, e.revision, e.reasonCodes])).toEqual([
      [allowed.decisionId, 'allow', 'fallback-1', allowed.reasons.map((r) => r.code)],
      [denied.decisionId, 'deny', 'fallback-1', ['model_not_permitted']],
      [redacted.decisionId, pii.expect.decision, 'fallback-1', expect.any(Array)],
    ]);
    expect(s.core.audit.get(denied.decisionId)?.payload?.offline).toMatchObject({ mode: 'fallback', cause: 'unavailable' });
    // The raw value stayed in the client: the ledger has the input as gavel's policy redacts it.
    const stored = JSON.stringify(s.core.audit.get(redacted.decisionId)?.payload);
    for (const r of pii.expect.redactions ?? []) expect(stored).not.toContain(r.match);
    expect((await s.core.audit.verify()).ok).toBe(true);
  });

  it('follows the bundle server: a newly signed revision decides from the next poll; one the key did not sign is refused and the last verified copy stays', async () => {
    const port = await freePort();
    const dir = tempDir();
    const local = await openFallbackPolicy({ urls: [bundles.url], keys, pollSeconds: 1 });
    const c = client(port, join(dir, 'outbox.jsonl'), local);
    const revisionNow = async () => (await c.decide(modelCall(alice), { route: 'chat' })).policy.revision;
    expect(await revisionNow()).toBe('fallback-1');

    bundles.serve(revision('fallback-2'));
    for (let i = 0; i < 60 && (await revisionNow()) !== 'fallback-2'; i++) await sleep(100);
    expect(await revisionNow()).toBe('fallback-2');

    // Signed with another key, then not signed at all: neither is evaluated in gavel's place.
    bundles.serve(
      signedBundle(repack(AI, { '.manifest': JSON.stringify({ ...manifest, revision: 'forged-3' }) }), join(ROOT, 'test/fixtures/signing/other-rsa.key')),
    );
    const seen = bundles.downloads;
    for (let i = 0; i < 60 && bundles.downloads === seen; i++) await sleep(100);
    bundles.serve(repack(AI, { '.manifest': JSON.stringify({ ...manifest, revision: 'unsigned-4' }) }));
    const seenAgain = bundles.downloads;
    for (let i = 0; i < 60 && bundles.downloads === seenAgain; i++) await sleep(100);
    expect(bundles.downloads).toBeGreaterThan(seenAgain);
    expect(await revisionNow()).toBe('fallback-2');
  });

  it('refuses to open without a key, or on a bundle the key did not sign: an unsigned bundle never decides in gavel’s place', async () => {
    await expect(openFallbackPolicy({ urls: [bundles.url], keys: [] })).rejects.toMatchObject({
      code: 'config_invalid',
      message: expect.stringMatching(/keys is required/),
    });
    await expect(openFallbackPolicy({ keys })).rejects.toMatchObject({ code: 'config_invalid', message: expect.stringMatching(/give urls/) });
    bundles.serve(repack(AI, {}));
    await expect(openFallbackPolicy({ urls: [bundles.url], keys })).rejects.toMatchObject({ code: expect.stringMatching(/^bundle_/) });
  });

  it('when the local copy cannot decide, the route fails closed (pdp_unavailable), recorded as closed', async () => {
    const port = await freePort();
    const outbox = join(tempDir(), 'outbox.jsonl');
    const local = await openFallbackPolicy({ urls: [bundles.url], keys });
    const c = client(port, outbox, local);
    const d = await c.decide(modelCall(alice), { route: 'chat', policy: 'no/such/entrypoint' });
    expect([d.outcome, d.offline?.mode, d.reasons.map((r) => r.code)]).toEqual(['deny', 'closed', ['pdp_unavailable']]);
    expect(d.reasons[0]!.message).toMatch(/fallback policy could not decide \(.*no\/such\/entrypoint/);
    expect(records(outbox).map((r) => [r.mode, r.decision, r.policy_version])).toEqual([['closed', 'deny', undefined]]);
  });

  it('gavel up: the fallback is not asked, and a refusal is still a refusal', async () => {
    const port = await freePort();
    const dir = tempDir();
    const outbox = join(dir, 'outbox.jsonl');
    await serve(port, join(dir, 'l.db'));
    const local = await openFallbackPolicy({ urls: [bundles.url], keys });
    let asked = 0;
    const counted = {
      decide: (r: Parameters<FallbackPolicy['decide']>[0]) => {
        asked++;
        return local.decide(r);
      },
      close: () => local.close(),
    };
    const c = client(port, outbox, counted);
    const d = await c.decide(modelCall(alice), { route: 'chat' });
    expect([d.offline, d.receipt.seq > 0, d.policy.revision]).toEqual([undefined, true, 'fallback-1']);
    expect((await refusal(c.decide(new TextEncoder().encode('[1]'), { route: 'chat' }))).code).toBe('invalid_input');
    expect(asked).toBe(0);
    expect(() => readFileSync(outbox)).toThrow(/ENOENT/);
    // The client owns its fallback policy: closing the client stops it (its bundle polling too).
    await c.close();
    await expect(local.decide({ inputJson: Buffer.from(JSON.stringify(modelCall(alice))), entrypoint: '', requestId: 'late' })).rejects.toMatchObject({
      code: 'not_ready',
      message: 'the fallback policy is closed',
    });
  });
});
