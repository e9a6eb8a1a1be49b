import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { clients, unary } from './helpers/client.js';
import { loadBundles } from '../src/bundles/loader.js';
import { startRuntime } from '../src/runtime.js';
import { BUNDLES, FIXTURE_BUNDLES, ROOT, SAMPLES, tempDir } from './helpers/paths.js';
import { editStateTables } from './helpers/state-edit.js';
import { runCli, startChild } from './helpers/server.js';

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? sourceFiles(path) : path.endsWith('.ts') ? [path] : [];
  });
}

describe('one runtime', () => {
  it('`gavel eval --ledger` and `gavel serve` wire the same parts: metering, approvals and the state check behave alike on one file', async () => {
    const ledger = join(tempDir(), 'shared.db');
    // eval meters (the decision's payload ends with its usage and reserves), and opens approvals, as the server does.
    const allowed = await runCli(['eval', '--ledger', ledger, '--input', join(SAMPLES, 'employee-standard-allowed.json')]);
    expect(allowed.stderr).toBe('');
    const decided = JSON.parse(allowed.stdout) as { decision: string; decisionId: string };
    expect(decided.decision).toBe('allow');
    const approval = await runCli(['eval', '--ledger', ledger, '--input', join(SAMPLES, 'finance-transfer-large-approval.json')]);
    const asked = JSON.parse(approval.stdout) as { decision: string; approval?: { id: string; state: string } };
    expect(asked).toMatchObject({ decision: 'require_approval', approval: { state: 'pending' } });

    // The server on the same file: its start-up state check agrees with every row eval wrote, and it sees them.
    const srv = await startChild(['--ledger', ledger, '--workers', '0']);
    const c = clients(srv.address);
    try {
      const got = await unary(c.audit, 'GetDecision', { decision_id: decided.decisionId });
      expect(got.entry.decision).toBe('allow');
      // Metered as the server meters: the payload's last key is the usage it reserved.
      const payload = JSON.parse(got.payload_json.toString()) as { usage?: { request?: { subject: string }; reserved?: unknown } };
      expect(Object.keys(payload).at(-1)).toBe('usage');
      expect(payload.usage?.request?.subject).toBe('alice');
      expect(payload.usage?.reserved).toBeDefined();
      const listed = await unary<{ approvals: Array<{ approval_id: string; state: string }> }>(c.approval, 'ListApprovals', {});
      expect(listed.approvals.map((a) => [a.approval_id, a.state])).toContainEqual([asked.approval!.id, 'pending']);
    } finally {
      c.close();
      srv.child.kill('SIGTERM');
      await srv.exited;
    }

    // Rows another program changed: both commands refuse the file the same way (the state check names the row, exit 3).
    editStateTables(ledger, "UPDATE approvals SET state = 'approved'");
    const evalRefused = await runCli(['eval', '--ledger', ledger, '--input', join(SAMPLES, 'employee-standard-allowed.json')]);
    const serveRefused = await runCli(['serve', '--listen', '127.0.0.1:0', '--ledger', ledger, '--workers', '0']);
    const named = `disagree with the ledger's chain in 1 row: approvals ${asked.approval!.id}: changed`;
    expect([evalRefused.code, serveRefused.code]).toEqual([3, 3]);
    expect(evalRefused.stderr).toContain(named);
    expect(serveRefused.stderr).toContain(named);
  });

  it('policies.activate swaps the live set whole and records each change with its source; a refused set changes nothing', async () => {
    const runtime = await startRuntime({ bundles: BUNDLES, ledger: join(tempDir(), 'l.db'), usage: false });
    try {
      const [ai] = loadBundles(BUNDLES);
      const [fixtures] = loadBundles(FIXTURE_BUNDLES);
      const events = () => [...runtime.audit.query({ kind: 'policy', order: 'asc' })].map((e) => [e.decision, e.resource]);
      // Two bundles of one name: refused whole, the set before keeps serving.
      expect(runtime.policies.activate([fixtures!, fixtures!], 'operator')).toBe(false);
      expect(runtime.policies.bundles.map((b) => b.name)).toEqual(['ai']);
      expect(runtime.policies.activate([ai!, fixtures!], 'operator')).toBe(true);
      expect(runtime.policies.bundles.map((b) => b.name)).toEqual(['ai', 'fixtures']);
      expect(runtime.policies.activate([fixtures!], 'operator')).toBe(true);
      expect(runtime.policies.bundles.map((b) => b.name)).toEqual(['fixtures']);
      await expect.poll(() => events().length).toBe(3);
      expect(events()).toEqual([
        ['refused', 'fixtures'],
        ['activated', 'fixtures'],
        ['deactivated', 'ai'],
      ]);
      const status = runtime.policies.status();
      expect(status.active.map((a) => [a.bundle, a.source])).toEqual([['fixtures', 'operator']]);
    } finally {
      await runtime.stop();
    }
  });

  it('no edge reaches inside the runtime: nothing in src/ but runtime.ts reads its parts, constructs the engine or picks a runner', () => {
    const offenders: string[] = [];
    for (const file of sourceFiles(join(ROOT, 'src'))) {
      if (file.endsWith('/src/runtime.ts')) continue;
      const text = readFileSync(file, 'utf8');
      if (
        /\.parts\.(engine|ledger|usage|approvals|shadow|shadowSink)\b/.test(text) ||
        /new Engine\(/.test(text) ||
        /pickRunner\(/.test(text.replace(/export function pickRunner\(/, ''))
      ) {
        offenders.push(file.slice(ROOT.length));
      }
    }
    expect(offenders).toEqual([]);
  });
});
