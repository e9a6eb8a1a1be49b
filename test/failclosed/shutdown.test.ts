import * as grpc from '@grpc/grpc-js';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { healthClient } from '../helpers/health.js';
import { BUNDLES, tempDir } from '../helpers/paths.js';
import { startChild } from '../helpers/server.js';

/** SIGTERM always ends the server, within a bounded time, whatever happened to its stdout reader. */
const timeLimit = <T>(p: Promise<T>, ms: number) => Promise.race([p, new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), ms))]);

describe('shutdown that always completes', () => {
  it('after the stdout reader goes away, SIGTERM still drains, signs the checkpoint and exits 0; the broken pipe is reported once on stderr', async () => {
    const srv = await startChild(['--bundles', BUNDLES, '--ledger', join(tempDir(), 'l.db')]);
    let stderr = '';
    srv.child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    // Like `gavel serve | head -c 300`: the reader closes its end.
    srv.child.stdout!.destroy();
    await new Promise((r) => setTimeout(r, 200));
    srv.child.kill('SIGTERM');
    const code = await timeLimit(srv.exited, 15_000);
    if (code === 'timeout') srv.child.kill('SIGKILL');
    expect(code).toBe(0);
    expect(stderr.match(/log output on fd 1 failed \(EPIPE\)/g)?.length ?? 0).toBeLessThanOrEqual(1);
  });

  it('a client holding a stream open cannot keep the server alive past --shutdown-timeout', async () => {
    const srv = await startChild(['--bundles', BUNDLES, '--ledger', join(tempDir(), 'l.db'), '--shutdown-timeout', '2']);
    const h = healthClient(srv.address);
    const watch = h.client.makeServerStreamRequest(
      '/grpc.health.v1.Health/Watch',
      (x: { service: string }) => Buffer.from([0x0a, x.service.length, ...Buffer.from(x.service)]),
      (b: Buffer) => b,
      { service: '' },
    );
    watch.on('error', () => undefined);
    await new Promise((resolve) => watch.once('data', resolve));
    const started = Date.now();
    srv.child.kill('SIGTERM');
    const code = await timeLimit(srv.exited, 10_000);
    if (code === 'timeout') srv.child.kill('SIGKILL');
    expect(code).not.toBe('timeout');
    expect(Date.now() - started).toBeLessThan(4000);
    watch.cancel();
    h.close();
    expect(grpc.status.OK).toBe(0);
  });
});
