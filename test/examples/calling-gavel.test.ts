import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clients, unary, type Clients } from '../helpers/client.js';
import { BUNDLES, ROOT, tempDir } from '../helpers/paths.js';
import { startInProcess, type InProcessServer } from '../helpers/server.js';
import { runExample } from '../helpers/run-example.js';

/**
 * README "Calling gavel from your code" shows the examples as they are in examples/ (checked here
 * character for character); each runs against a real server: the Node one here, the Python and Go
 * ones in test/transport/{python,go}-client.test.ts.
 */
const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
const EXAMPLES = ['examples/node/decide.mjs', 'examples/python/decide.py', 'examples/go/main.go'];

describe('README "Calling gavel from your code"', () => {
  it.each(EXAMPLES)('shows %s as it is', (file) => {
    const section = readme.slice(readme.indexOf('## Calling gavel from your code'));
    expect(section.length).toBeLessThan(readme.length);
    expect(section).toContain(`\n${readFileSync(join(ROOT, file), 'utf8').trimEnd()}\n\`\`\``);
  });
});

describe('the Node example', () => {
  let srv: InProcessServer;
  let c: Clients;
  beforeAll(async () => {
    srv = await startInProcess({ bundles: BUNDLES, ledger: join(tempDir(), 'ledger.db') });
    c = clients(srv.address);
  });
  afterAll(async () => {
    c.close();
    await srv.stop();
  });

  it('decides, and reads the stable code of a refusal as a GavelError', { timeout: 60_000 }, async () => {
    // In a checkout the client runs from its TypeScript source (the "gavel-source" export condition, through tsx).
    const out = await runExample(process.execPath, ['--import', 'tsx', '--conditions=gavel-source', join(ROOT, 'examples/node/decide.mjs'), srv.address]);
    const [decided, refused] = out
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(decided).toMatchObject({ decision: 'allow', seq: expect.any(Number) });
    const entry = await unary(c.audit, 'GetDecision', { decision_id: decided.decision_id });
    expect(entry.entry).toMatchObject({ seq: decided.seq, request_id: 'node-1', caller: 'unverified:node-example' });
    expect(refused).toEqual({ status: 'INVALID_ARGUMENT', reason: 'invalid_input', retryable: false });
  });
});
