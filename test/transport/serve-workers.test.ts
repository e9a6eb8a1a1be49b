import { join } from 'node:path';
import { expect, it } from 'vitest';
import { clients } from '../helpers/client.js';
import { BUNDLES, tempDir } from '../helpers/paths.js';
import { sample } from '../helpers/samples.js';
import { failedStart, runCli, servingLine, startChild } from '../helpers/server.js';
import { decide } from '../usage/helpers.js';

/** `gavel serve --workers`: how many evaluation threads, said at start; a bad count refuses to start, naming the setting. */

it('--workers 0 evaluates on the I/O thread and says so; the answer is the same', async () => {
  for (const workers of ['0', '1']) {
    const srv = await startChild(['--bundles', BUNDLES, '--ledger', join(tempDir(), 'l.db'), '--workers', workers]);
    const c = clients(srv.address);
    try {
      expect(servingLine<{ workers: number }>(srv).workers).toBe(Number(workers));
      expect((await decide(c, sample('employee-standard-allowed').input)).decision).toBe('DECISION_ALLOW');
    } finally {
      c.close();
      srv.child.kill('SIGTERM');
      expect(await srv.exited).toBe(0);
    }
  }
});

it('a worker count that is not 0-64 is refused at start, from the flag or from GAVEL_WORKERS', async () => {
  const flag = await runCli(['serve', '--bundles', BUNDLES, '--ledger', join(tempDir(), 'l.db'), '--workers', '65']);
  expect(flag.code).toBe(2);
  expect(flag.stderr).toContain('must be an integer from 0 to 64');
  const env = await failedStart(['--bundles', BUNDLES, '--ledger', join(tempDir(), 'l.db')], { GAVEL_WORKERS: 'many' });
  expect(env).toContain('exited with 3');
  expect(env).toContain('GAVEL_WORKERS must be an integer from 0 to 64, got "many"');
});
