import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clients, unary, type Clients } from '../helpers/client.js';
import { BUNDLES, ROOT, tempDir } from '../helpers/paths.js';
import { PYTHON, generatePython, pythonUnavailable } from '../helpers/python.js';
import { startInProcess, type InProcessServer } from '../helpers/server.js';
import { runExample } from '../helpers/run-example.js';

/**
 * examples/python/decide.py, run as the README shows it, against a real server: stubs generated
 * by grpc_tools from proto/, a decision with its receipt, and a refusal read with gRPC Python's
 * standard helper (`grpc_status.rpc_status.from_call`) from `grpc-status-details-bin`.
 */
const unavailable = pythonUnavailable();
if (unavailable) console.warn(`skipping the Python client test: ${unavailable}`);

describe.skipIf(unavailable !== undefined)('the Python example', () => {
  let srv: InProcessServer;
  let c: Clients;
  const gen = join(tempDir('gavel-python-'), 'gen');

  beforeAll(async () => {
    generatePython(gen);
    srv = await startInProcess({ bundles: BUNDLES, ledger: join(tempDir(), 'ledger.db') });
    c = clients(srv.address);
  });
  afterAll(async () => {
    c?.close();
    await srv?.stop();
  });

  it('decides, and reads the stable code of a refusal from the standard status details', { timeout: 30_000 }, async () => {
    const out = await runExample(PYTHON, [join(ROOT, 'examples/python/decide.py'), srv.address], { env: { PYTHONPATH: gen } });
    const [decided, refused] = out
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(decided).toMatchObject({ decision: 'DECISION_ALLOW', seq: expect.any(Number) });
    // Its entry is in the ledger, with the caller the example named.
    const entry = await unary(c.audit, 'GetDecision', { decision_id: decided.decision_id });
    expect(entry.entry).toMatchObject({ seq: decided.seq, request_id: 'py-1', caller: 'unverified:python-example' });
    expect(refused).toEqual({ status: 'INVALID_ARGUMENT', reason: 'invalid_input', domain: 'gavel.v1', retryable: 'false' });
  });
});
