import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { clients, unaryError, type Clients } from '../helpers/client.js';
import { BUNDLES, tempDir } from '../helpers/paths.js';
import { sample } from '../helpers/samples.js';
import { servingLine, startChild, type ChildServer } from '../helpers/server.js';
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
  // Two decisions, after the policy event recording the bundle this server started with.
  expect(body).toMatch(/gavel_ledger_entries 3/);
  expect(body).toContain('gavel_call_duration_seconds_bucket');
  // One evaluation worker per core by default; none replaced.
  expect(body).toMatch(/^gavel_evaluation_workers [1-9]\d*$/m);
  expect(body).toMatch(/^gavel_evaluation_worker_restarts 0$/m);
});

it('the event-loop delay covers the interval since the previous scrape, then starts again', async () => {
  const scrape = async () => {
    const body = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    const stat = (name: string) => Number(body.match(new RegExp(`^gavel_event_loop_delay_seconds\\{stat="${name}"\\} (\\S+)$`, 'm'))?.[1]);
    return { max: stat('max'), p99: stat('p99'), p50: stat('p50') };
  };
  await scrape();
  await new Promise((r) => setTimeout(r, 300));
  const quiet = await scrape();
  // An idle loop with 1 ms sampling: the delays are about the sampling interval, well under 100 ms.
  expect(quiet.max).toBeGreaterThan(0);
  expect(quiet.max).toBeLessThan(0.1);
  expect(quiet.p50).toBeLessThanOrEqual(quiet.p99);
  expect(quiet.p99).toBeLessThanOrEqual(quiet.max);
});

it('the startup line names the bundles and revisions and never input contents', () => {
  const start = servingLine<{ msg: string; bundles: Array<{ name: string; revision: string }> }>(srv);
  expect(start.msg).toBe('gavel serving');
  expect(start.bundles[0]).toMatchObject({ name: 'ai', revision: expect.stringMatching(/^ai-/) });
  expect(srv.lines.join('\n')).not.toContain('Summarise');
});
