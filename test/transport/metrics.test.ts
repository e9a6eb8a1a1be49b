import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { clients, unaryError, type Clients } from '../helpers/client.js';
import { BUNDLES, tempDir } from '../helpers/paths.js';
import { sample } from '../helpers/samples.js';
import { startChild, type ChildServer } from '../helpers/server.js';
import { decide } from '../usage/helpers.js';

let srv: ChildServer;
let c: Clients;
let metricsPort: number;

beforeAll(async () => {
  srv = await startChild(['--bundles', BUNDLES, '--ledger', join(tempDir(), 'l.db'), '--metrics-listen', '127.0.0.1:0']);
  metricsPort = (JSON.parse(srv.lines.find((l) => l.includes('gavel serving'))!) as { metrics_port: number }).metrics_port;
  c = clients(srv.address);
});
afterAll(async () => {
  c.close();
  srv.child.kill('SIGTERM');
  expect(await srv.exited).toBe(0);
});

it('gavel serve exposes Prometheus metrics that count decisions and refusals', async () => {
  await decide(c, sample('employee-standard-allowed').input);
  await decide(c, sample('employee-frontier-denied').input);
  await unaryError(c.decision, 'Decide', { input_json: Buffer.from('nope') });
  const body = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
  expect(body).toMatch(/gavel_decisions_total\{decision="allow",entrypoint="gavel\/ai\/decision"\} 1/);
  expect(body).toMatch(/gavel_decisions_total\{decision="deny",entrypoint="gavel\/ai\/decision"\} 1/);
  expect(body).toMatch(/gavel_errors_total\{method="Decide",code="invalid_input"\} 1/);
  expect(body).toMatch(/gavel_ledger_entries 2/);
  expect(body).toContain('gavel_call_duration_seconds_bucket');
});

it('the startup line names the bundles and revisions and never input contents', () => {
  const start = JSON.parse(srv.lines[0]!) as { msg: string; bundles: Array<{ name: string; revision: string }> };
  expect(start.msg).toBe('gavel serving');
  expect(start.bundles[0]).toMatchObject({ name: 'ai', revision: expect.stringMatching(/^ai-/) });
  expect(srv.lines.join('\n')).not.toContain('Summarise');
});
