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

it('--inline-max-bytes: lone small decisions run on the I/O thread once the bundle proved fast, counted in metrics; 0 keeps them on workers', async () => {
  const counted: Record<string, { inline: number; said: number }> = {};
  for (const limit of ['8192', '0']) {
    const srv = await startChild([
      '--bundles',
      BUNDLES,
      '--ledger',
      join(tempDir(), 'l.db'),
      '--workers',
      '1',
      '--inline-max-bytes',
      limit,
      '--metrics-listen',
      '127.0.0.1:0',
    ]);
    const c = clients(srv.address);
    try {
      const line = servingLine<{ inline_max_bytes: number; metrics_port: number }>(srv);
      // Inline needs 64 evaluations in a row under 5 ms: room for a machine busy with the rest of the suite.
      for (let i = 0; i < 400; i++) await decide(c, sample('employee-standard-allowed').input);
      const body = await (await fetch(`http://127.0.0.1:${line.metrics_port}/metrics`)).text();
      counted[limit] = { inline: Number(body.match(/^gavel_inline_evaluations_total (\d+)$/m)?.[1]), said: line.inline_max_bytes };
    } finally {
      c.close();
      srv.child.kill('SIGTERM');
      expect(await srv.exited).toBe(0);
    }
  }
  expect(counted['8192']!.said).toBe(8192);
  expect(counted['8192']!.inline).toBeGreaterThan(0);
  expect(counted['0']).toEqual({ inline: 0, said: 0 });
  const bad = await runCli(['serve', '--bundles', BUNDLES, '--ledger', join(tempDir(), 'l.db'), '--inline-max-bytes', '-1']);
  expect(bad.code).toBe(2);
  expect(bad.stderr).toContain('must be an integer of 0 or more');
});

it('a worker count that is not 0-64 is refused at start, from the flag or from GAVEL_WORKERS', async () => {
  const flag = await runCli(['serve', '--bundles', BUNDLES, '--ledger', join(tempDir(), 'l.db'), '--workers', '65']);
  expect(flag.code).toBe(2);
  expect(flag.stderr).toContain('must be an integer from 0 to 64');
  const env = await failedStart(['--bundles', BUNDLES, '--ledger', join(tempDir(), 'l.db')], { GAVEL_WORKERS: 'many' });
  expect(env).toContain('exited with 3');
  expect(env).toContain('GAVEL_WORKERS must be an integer from 0 to 64, got "many"');
});
