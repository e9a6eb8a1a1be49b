import { copyFileSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import { readArchive } from '../../src/bundles/archive.js';
import { bundleVerification } from '../../src/bundles/verification-keys.js';
import { watchedFolder } from '../helpers/live-bundles.js';
import { clients, jsonInput, unary, unaryError, type Clients } from '../helpers/client.js';
import { FIXTURE_BUNDLES, ROOT, tempDir } from '../helpers/paths.js';
import { repack } from '../helpers/repack.js';
import { runCli, startInProcess, type InProcessServer } from '../helpers/server.js';
import { ECHO, echoInput } from '../ledger/fixtures.js';

/** Bundles activated live from the watched folder, over real gRPC, with evaluation workers. */
const FIXTURE = readFileSync(join(FIXTURE_BUNDLES, 'fixtures.tar.gz'));
const manifest = JSON.parse(readArchive(FIXTURE).get('.manifest')!.toString()) as Record<string, unknown>;
const revisionOf = (revision: string) => repack(FIXTURE, { '.manifest': JSON.stringify({ ...manifest, revision }) });

/** Writes aside and renames into place, as a deployment does. */
function publish(dir: string, name: string, bytes: Buffer): void {
  const aside = join(dir, `.${name}.partial`);
  writeFileSync(aside, bytes);
  renameSync(aside, join(dir, name));
}

async function until(cond: () => boolean | Promise<boolean>, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error('condition not reached in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

let srv: InProcessServer | undefined;
let c: Clients | undefined;
afterEach(async () => {
  c?.close();
  await srv?.stop();
  srv = undefined;
});

/** Metering on: a decision then awaits its usage context between resolving its bundle and evaluating it, the window a swap can fall into. */
async function serveFolder(dir: string, workers: number, verification?: ReturnType<typeof bundleVerification>) {
  srv = await startInProcess({
    ...watchedFolder(dir, { intervalMs: 25, ...(verification ? { verification } : {}) }),
    ledger: join(tempDir(), 'l.db'),
    engine: { defaultEntrypoint: ECHO, workers },
  });
  c = clients(srv.address);
  return srv;
}

const revision = () => srv!.core.policies.bundles.find((b) => b.name === 'fx')?.revision;
const counted = async (result: string) =>
  (await srv!.server.metrics.bundleActivations.get()).values.filter((v) => v.labels.result === result).reduce((n, v) => n + v.value, 0);

describe('live activation from the bundles folder', () => {
  it('20 swaps under continuous load: no request fails, every answer names an active revision, none older than the last reported swap', async () => {
    const dir = tempDir('gavel-live-');
    publish(dir, 'fx.tar.gz', revisionOf('rev-0'));
    await serveFolder(dir, 2);
    const versions = Array.from({ length: 21 }, (_, i) => `rev-${i}`);
    const prebuilt = versions.map(revisionOf);
    let reported = 0; // index of the last swap seen active
    const answers: Array<{ floor: number; revision: string }> = [];
    let errors = 0;
    let running = true;
    const loops = Array.from({ length: 6 }, async () => {
      while (running) {
        const floor = reported;
        await unary(c!.decision, 'Decide', { ...jsonInput(echoInput()), policy: ECHO }).then(
          (d) => answers.push({ floor, revision: d.policy.revision }),
          () => errors++,
        );
      }
    });
    for (let i = 1; i <= 20; i++) {
      publish(dir, 'fx.tar.gz', prebuilt[i]!);
      await until(() => revision() === `rev-${i}`);
      reported = i;
      const seen = answers.length;
      await until(() => answers.length >= seen + 5);
    }
    running = false;
    await Promise.all(loops);

    expect(errors).toBe(0);
    expect(answers.length).toBeGreaterThan(100);
    for (const a of answers) {
      const index = versions.indexOf(a.revision);
      expect(index).toBeGreaterThanOrEqual(a.floor);
    }
    expect(new Set(answers.map((a) => a.revision)).size).toBeGreaterThanOrEqual(15);
    expect(await counted('activated')).toBe(20);
  });

  it('a removed file deactivates its bundle (unknown_entrypoint, health NOT_SERVING); put back, it serves again', async () => {
    const dir = tempDir('gavel-live-');
    publish(dir, 'fx.tar.gz', revisionOf('rev-a'));
    await serveFolder(dir, 0);
    rmSync(join(dir, 'fx.tar.gz'));
    await until(() => revision() === undefined);
    const err = await unaryError(c!.decision, 'Decide', { ...jsonInput(echoInput()), policy: ECHO });
    expect(err.code).toBe(grpc.status.UNAVAILABLE); // no bundle at all: not_ready
    expect(await counted('deactivated')).toBe(1);
    publish(dir, 'fx.tar.gz', revisionOf('rev-b'));
    await until(() => revision() === 'rev-b');
    expect((await unary(c!.decision, 'Decide', { ...jsonInput(echoInput()), policy: ECHO })).policy.revision).toBe('rev-b');
  });

  it('a second bundle removed leaves the first serving and its entrypoints unknown', async () => {
    const dir = tempDir('gavel-live-');
    publish(dir, 'fx.tar.gz', revisionOf('rev-a'));
    copyFileSync(join(ROOT, 'bundles/ai.tar.gz'), join(dir, 'ai.tar.gz'));
    await serveFolder(dir, 0);
    rmSync(join(dir, 'ai.tar.gz'));
    await until(() => srv!.core.policies.bundles.length === 1);
    const err = await unaryError(c!.decision, 'Decide', { ...jsonInput(echoInput()), policy: 'gavel/ai/decision' });
    expect(err.code).toBe(grpc.status.NOT_FOUND);
    expect(err.metadata.get('gavel-error-code')).toEqual(['unknown_entrypoint']);
    expect((await unary(c!.decision, 'Decide', { ...jsonInput(echoInput()), policy: ECHO })).policy.revision).toBe('rev-a');
  });

  it('a bundle whose wasm does not compile is refused at activation; a clashing second bundle name is refused', async () => {
    const dir = tempDir('gavel-live-');
    publish(dir, 'fx.tar.gz', revisionOf('rev-a'));
    await serveFolder(dir, 0);
    publish(dir, 'fx.tar.gz', repack(revisionOf('rev-b'), { 'policy.wasm': Buffer.from('\0asm not really') }));
    await until(async () => (await counted('refused')) >= 1);
    expect(revision()).toBe('rev-a');
    // The same entrypoints in a second file: the whole set is refused.
    publish(dir, 'fx2.tar.gz', revisionOf('rev-c'));
    await until(async () => (await counted('refused')) >= 2);
    expect(srv!.core.policies.bundles.map((b) => b.revision)).toEqual(['rev-a']);
    expect((await unary(c!.decision, 'Decide', { ...jsonInput(echoInput()), policy: ECHO })).policy.revision).toBe('rev-a');
  });

  it('a broken bundle is refused whole and counted; the active one keeps serving', async () => {
    const dir = tempDir('gavel-live-');
    publish(dir, 'fx.tar.gz', revisionOf('rev-a'));
    await serveFolder(dir, 0);
    publish(dir, 'fx.tar.gz', Buffer.from('not a tarball'));
    await until(async () => (await counted('refused')) >= 1);
    expect(revision()).toBe('rev-a');
    expect((await unary(c!.decision, 'Decide', { ...jsonInput(echoInput()), policy: ECHO })).policy.revision).toBe('rev-a');
  });
});

describe('live activation with signatures required', () => {
  const SIGNED = join(FIXTURE_BUNDLES, 'signed');
  const verification = () => bundleVerification([{ file: join(ROOT, 'test/fixtures/signing/rsa.pub') }]);

  it('tampered and foreign-signed bundles are refused; the signed one keeps serving and names its signer', async () => {
    const dir = tempDir('gavel-live-');
    publish(dir, 'fx.tar.gz', readFileSync(join(SIGNED, 'rs256.tar.gz')));
    srv = await startInProcess({
      ...watchedFolder(dir, { intervalMs: 25, verification: verification() }),
      ledger: join(tempDir(), 'l.db'),
      engine: { defaultEntrypoint: ECHO },
      usage: false,
    });
    c = clients(srv.address);
    expect(srv.core.policies.bundles[0]!.signer).toBe('default');

    publish(dir, 'fx.tar.gz', repack(readFileSync(join(SIGNED, 'rs256.tar.gz')), { 'data.json': '{"granted":"everything"}' }));
    await until(async () => (await counted('refused')) >= 1);
    publish(dir, 'fx.tar.gz', readFileSync(join(SIGNED, 'other.tar.gz')));
    await until(async () => (await counted('refused')) >= 2);
    expect(revision()).toBe('signed-rs256');
    expect((await unary(c.decision, 'Decide', { ...jsonInput(echoInput()), policy: ECHO })).policy.revision).toBe('signed-rs256');
  });

  it('gavel serve with a verification key and an unsigned bundle fails closed at start (exit 3), naming it', async () => {
    const dir = tempDir('gavel-live-');
    copyFileSync(join(SIGNED, 'unsigned.tar.gz'), join(dir, 'fx.tar.gz'));
    const r = await runCli([
      'serve',
      '--bundles',
      dir,
      '--ledger',
      join(tempDir(), 'l.db'),
      '--bundle-verification-key',
      join(ROOT, 'test/fixtures/signing/rsa.pub'),
    ]);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('bundle fx: unsigned');
  });
});
