import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ciIsSet } from '../helpers/ci.js';
import { clients, unary, type Clients } from '../helpers/client.js';
import { BUNDLES, ROOT, tempDir } from '../helpers/paths.js';
import { startInProcess, type InProcessServer } from '../helpers/server.js';
import { runExample } from '../helpers/run-example.js';

/**
 * examples/go, run as the README shows it (`go run .`), against a real server: the committed
 * generated client (gen/go), a decision with its receipt, and a refusal's stable code read with
 * grpc-go's standard `status.Details()`. Without Go it is skipped, except under CI.
 */
const noGo = ciIsSet() || spawnSync('go', ['version']).status === 0 ? undefined : 'go is not on PATH';
if (noGo) console.warn(`skipping the Go client test: ${noGo}`);

describe.skipIf(noGo !== undefined)('the Go example', () => {
  let srv: InProcessServer;
  let c: Clients;

  beforeAll(async () => {
    srv = await startInProcess({ bundles: BUNDLES, ledger: join(tempDir(), 'ledger.db') });
    c = clients(srv.address);
  });
  afterAll(async () => {
    c?.close();
    await srv?.stop();
  });

  it('decides, and reads the stable code of a refusal from the standard status details', { timeout: 300_000 }, async () => {
    // GOFLAGS cleared: a machine-wide -mod setting must not change how the example resolves.
    const out = await runExample('go', ['run', '.', srv.address], { cwd: join(ROOT, 'examples/go'), env: { GOFLAGS: '' } });
    const [decided, refused] = out
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(decided).toMatchObject({ decision: 'DECISION_ALLOW', seq: expect.any(Number) });
    const entry = await unary(c.audit, 'GetDecision', { decision_id: decided.decision_id });
    expect(entry.entry).toMatchObject({ seq: decided.seq, request_id: 'go-1', caller: 'unverified:go-example' });
    expect(refused).toEqual({ status: 'InvalidArgument', reason: 'invalid_input', domain: 'gavel.v1', retryable: 'false' });
  });
});
