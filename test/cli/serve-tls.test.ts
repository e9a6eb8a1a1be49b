import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { gavelServices } from '../../src/transport/proto.js';
import { jsonInput, stream, unary, unaryError } from '../helpers/client.js';
import { BUNDLES, tempDir } from '../helpers/paths.js';
import { tlsClients } from '../helpers/pki.js';
import { failedStart, runCli, servingLine, startChild } from '../helpers/server.js';
import { modelCall } from '../usage/helpers.js';

/** `gavel serve` with TLS flags, and `gavel certs dev`, as an operator runs them. */
const base = () => ['serve', '--bundles', BUNDLES, '--ledger', join(tempDir(), 'l.db')];

const CLIENTS = ['gateway', 'auditor', 'approver', 'admin'];
const tlsFlags = (dir: string) => ['--tls-cert', join(dir, 'server.pem'), '--tls-key', join(dir, 'server.key'), '--client-ca', join(dir, 'ca.pem')];
const pairIn = (dir: string) => (name: string) => ({
  cert: readFileSync(join(dir, `${name}.pem`), 'utf8'),
  key: readFileSync(join(dir, `${name}.key`), 'utf8'),
});
/** A payments.transfer of `amount` by fiona: above 10,000 the reference policy requires approval. */
const transfer = (amount: number) =>
  jsonInput({
    subject: { id: 'fiona', type: 'user', roles: ['finance'], team: 'finance', cost_center: 'cc-200' },
    action: { type: 'tool.call', tool: 'payments.transfer', params: { amount, to_account: 'ACME-001' } },
    context: { environment: 'prod' },
  });
const resolveBy = (approvalId: string) => ({
  approval_id: approvalId,
  verdict: 'VERDICT_APPROVE',
  approver: { id: 'mia', roles: ['finance-manager'] },
  comment: 'invoice 7',
});
function policyClient(address: string, ca: Buffer, pair: { cert: string; key: string }): grpc.Client {
  const creds = grpc.credentials.createSsl(ca, Buffer.from(pair.key), Buffer.from(pair.cert));
  return new (gavelServices().PolicyService)(address, creds, { 'grpc.ssl_target_name_override': 'localhost' });
}

async function devCerts(): Promise<string> {
  const dir = join(tempDir(), 'certs');
  const r = await runCli(['certs', 'dev', '--out', dir]);
  expect(r.code).toBe(0);
  return dir;
}

describe('refused at start, saying why', () => {
  it.each([
    [['--listen', '0.0.0.0:0'], 'refusing --listen 0.0.0.0:0 without TLS'],
    [['--metrics-listen', '0.0.0.0:0'], 'refusing --metrics-listen 0.0.0.0:0 without TLS'],
    [['--tls-cert', 'server.pem'], '--tls-cert and --tls-key go together'],
    [['--access', 'access.yaml'], 'it needs mutual TLS'],
  ])('%j exits 2', async (flags, message) => {
    const r = await runCli([...base(), ...flags]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(message);
  });

  it('--client-ca without a certificate of its own exits 2; so does GAVEL_ACCESS without mutual TLS', async () => {
    const r = await runCli([...base(), '--client-ca', 'ca.pem']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--client-ca needs --tls-cert and --tls-key');
    const env = await failedStart(['--bundles', BUNDLES, '--ledger', join(tempDir(), 'l.db')], { GAVEL_ACCESS: 'access.yaml' });
    expect(env).toContain('exited with 2');
    expect(env).toContain('needs mutual TLS');
  });

  it('an access file with an unknown role, or a key that does not fit, exits 3 naming it', async () => {
    const dir = await devCerts();
    const tls = ['--tls-cert', join(dir, 'server.pem'), '--tls-key', join(dir, 'server.key'), '--client-ca', join(dir, 'ca.pem')];
    writeFileSync(join(dir, 'bad.yaml'), 'identities:\n  - match: "spiffe://gavel.dev/gateway/*"\n    roles: [decide, superuser]\n');
    const bad = await runCli([...base(), ...tls, '--access', join(dir, 'bad.yaml')]);
    expect(bad.code).toBe(3);
    expect(bad.stderr).toContain('identities[0].roles[1] is "superuser", not a role');
    const mismatched = await runCli([...base(), '--tls-cert', join(dir, 'server.pem'), '--tls-key', join(dir, 'gateway.key')]);
    expect(mismatched.code).toBe(3);
    expect(mismatched.stderr).toContain('does not fit certificate');
  });
});

describe('the development default says what it is', () => {
  it('without mutual TLS a warning says callers are not authenticated, and the start-up line says tls off, access everyone', async () => {
    const srv = await startChild(['--bundles', BUNDLES, '--ledger', join(tempDir(), 'l.db')]);
    try {
      const warn = srv.lines.map((l) => JSON.parse(l) as { level: number; msg: string }).find((l) => l.level === 40);
      expect(warn?.msg).toContain('callers are not authenticated');
      expect(servingLine<{ tls: string; access: string }>(srv)).toMatchObject({ tls: 'off', access: 'everyone' });
    } finally {
      srv.child.kill('SIGTERM');
      await srv.exited;
    }
  });
});

describe('gavel certs dev, then an mTLS server on its files', () => {
  it('writes a CA, a server and four client certificates and an access file granting their roles (keys 0600), and refuses to overwrite without --force', async () => {
    const dir = await devCerts();
    for (const f of ['ca.pem', 'server.pem', ...CLIENTS.map((c) => `${c}.pem`), 'access.yaml']) expect(statSync(join(dir, f)).size).toBeGreaterThan(0);
    for (const f of ['server', ...CLIENTS].map((c) => `${c}.key`)) expect(statSync(join(dir, f)).mode & 0o777).toBe(0o600);
    expect(parse(readFileSync(join(dir, 'access.yaml'), 'utf8'))).toEqual({
      identities: [
        { match: 'spiffe://gavel.dev/gateway/*', roles: ['decide', 'report'] },
        { match: 'spiffe://gavel.dev/auditor/*', roles: ['audit', 'audit-payloads'] },
        { match: 'spiffe://gavel.dev/approver/*', roles: ['approve', 'approve-on-behalf'] },
        { match: 'spiffe://gavel.dev/admin/*', roles: ['admin', 'audit'] },
      ],
      people: [
        { match: 'mia', roles: ['finance-manager'] },
        { match: 'noah', roles: ['finance-manager'] },
        { match: 'tara', roles: ['team-lead'] },
      ],
    });
    const again = await runCli(['certs', 'dev', '--out', dir]);
    expect(again.code).toBe(2);
    expect(again.stderr).toContain('--force');
    expect((await runCli(['certs', 'dev', '--out', dir, '--force'])).code).toBe(0);
  });

  it("gateway decides and reports, auditor audits with payloads, approver approves, admin replays, none does the others' work; metrics over HTTPS; SIGHUP re-reads the TLS files", async () => {
    const dir = await devCerts();
    const pair = pairIn(dir);
    const ca = readFileSync(join(dir, 'ca.pem'));
    const srv = await startChild([
      '--bundles',
      BUNDLES,
      '--ledger',
      join(tempDir(), 'l.db'),
      '--tls-cert',
      join(dir, 'server.pem'),
      '--tls-key',
      join(dir, 'server.key'),
      '--client-ca',
      join(dir, 'ca.pem'),
      '--access',
      join(dir, 'access.yaml'),
      '--metrics-listen',
      '127.0.0.1:0',
    ]);
    const gateway = tlsClients(srv.address, ca, pair('gateway'));
    const auditor = tlsClients(srv.address, ca, pair('auditor'));
    const approver = tlsClients(srv.address, ca, pair('approver'));
    const admin = policyClient(srv.address, ca, pair('admin'));
    try {
      const start = servingLine<{ tls: string; metrics_port: number }>(srv);
      expect(start.tls).toBe('mutual');
      expect(srv.lines.some((l) => JSON.parse(l).level === 40)).toBe(false);
      const who = { subject: 'dev-user', team: 'platform', costCenter: 'cc-100' };
      const d = await unary(gateway.decision, 'Decide', jsonInput(modelCall(who)));
      expect(d.decision).toBe('DECISION_ALLOW');
      const receipt = await unary(gateway.usage, 'Report', {
        decision_id: d.decision_id,
        subject: who.subject,
        team: who.team,
        cost_center: who.costCenter,
        model: 'standard-m',
        input_tokens: 3,
        output_tokens: 4,
      });
      expect(receipt.tokens).toBe(7);
      const got = await unary(auditor.audit, 'GetDecision', { decision_id: d.decision_id });
      expect(got.entry.caller).toBe('spiffe://gavel.dev/gateway/dev');
      expect(got.payload_withheld).toBe(false);
      expect((await unaryError(gateway.audit, 'LatestCheckpoint', {})).code).toBe(7); // PERMISSION_DENIED
      expect((await unaryError(auditor.decision, 'Decide', jsonInput(modelCall(who)))).code).toBe(7);

      // The approvals walkthrough: the gateway asks, the approver resolves, the gateway may not resolve its own.
      const asked = await unary(gateway.decision, 'Decide', transfer(25_000));
      expect(asked.decision).toBe('DECISION_REQUIRE_APPROVAL');
      const id = asked.approval.approval_id as string;
      expect((await unaryError(gateway.approval, 'Resolve', resolveBy(id))).code).toBe(7);
      const vote = await unary(approver.approval, 'Resolve', resolveBy(id));
      expect(vote).toMatchObject({ state: 'approved', votes: [{ caller: 'spiffe://gavel.dev/approver/dev' }] });
      expect((await unaryError(approver.decision, 'Decide', jsonInput(modelCall(who)))).code).toBe(7);
      // Replay as admin; not as the gateway.
      const replayed = await stream(admin, 'Replay', { bundle: readFileSync(join(BUNDLES, 'ai.tar.gz')) });
      expect(replayed.at(-1)?.report).toBeDefined();
      const asGateway = policyClient(srv.address, ca, pair('gateway'));
      const refused = await stream(asGateway, 'Replay', { bundle: readFileSync(join(BUNDLES, 'ai.tar.gz')) }).catch((e: grpc.ServiceError) => e);
      asGateway.close();
      expect((refused as grpc.ServiceError).code).toBe(7);

      const scrape = (p: { cert: string; key: string }) =>
        new Promise<string>((resolve, reject) => {
          const req = request(
            { host: '127.0.0.1', port: start.metrics_port, path: '/metrics', ca, cert: p.cert, key: p.key, servername: 'localhost' },
            (res) => {
              let body = '';
              res.on('data', (c: Buffer) => (body += c.toString()));
              res.on('end', () => resolve(body));
            },
          );
          req.on('error', reject);
          req.end();
        });
      const metrics = await scrape(pair('auditor'));
      expect(metrics).toMatch(/^gavel_refusals_total\{method="\/gavel.v1.AuditService\/LatestCheckpoint",code="permission_denied"\} 1$/m);

      // SIGHUP re-reads the files (here unchanged; a change is tested in rotation.test.ts) and the server keeps serving.
      srv.child.kill('SIGHUP');
      const end = Date.now() + 5000;
      while (!srv.lines.some((l) => l.includes('SIGHUP: TLS files unchanged')) && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
      expect(srv.lines.some((l) => l.includes('SIGHUP: TLS files unchanged'))).toBe(true);
      expect((await unary(gateway.decision, 'Decide', jsonInput(modelCall(who)))).decision).toBe('DECISION_ALLOW');
    } finally {
      gateway.close();
      auditor.close();
      approver.close();
      admin.close();
      srv.child.kill('SIGTERM');
      expect(await srv.exited).toBe(0);
    }
  });
});

describe('mutual TLS without --access grants decide, nothing more', () => {
  it('the gateway certificate decides but cannot resolve its own 1,000,000 transfer, read the trail or replay; the warning and start-up line say so', async () => {
    const dir = await devCerts();
    const pair = pairIn(dir);
    const ca = readFileSync(join(dir, 'ca.pem'));
    const srv = await startChild(['--bundles', BUNDLES, '--ledger', join(tempDir(), 'l.db'), ...tlsFlags(dir)]);
    const gateway = tlsClients(srv.address, ca, pair('gateway'));
    const asPolicy = policyClient(srv.address, ca, pair('gateway'));
    try {
      const warn = srv.lines.map((l) => JSON.parse(l) as { level: number; msg: string }).filter((l) => l.level === 40);
      expect(warn.map((w) => w.msg)).toEqual([
        'no --access file: a certificate from the client CA holds the "decide" role only; report, audit, audit-payloads, approve, approve-on-behalf and admin must be granted in an access file',
      ]);
      expect(servingLine<{ tls: string; access: string }>(srv)).toMatchObject({ tls: 'mutual', access: 'decide only' });
      const asked = await unary(gateway.decision, 'Decide', transfer(1_000_000));
      expect(asked.decision).toBe('DECISION_REQUIRE_APPROVAL');
      const self = await unaryError(gateway.approval, 'Resolve', resolveBy(asked.approval.approval_id));
      expect([self.code, self.metadata.get('gavel-error-code')[0]]).toEqual([grpc.status.PERMISSION_DENIED, 'permission_denied']);
      expect(self.details).toContain('needs role "approve" or "approve-on-behalf"; spiffe://gavel.dev/gateway/dev does not hold it');
      expect((await unaryError(gateway.audit, 'Verify', {})).code).toBe(grpc.status.PERMISSION_DENIED);
      expect((await unaryError(asPolicy, 'ListBundles', {})).code).toBe(grpc.status.PERMISSION_DENIED);
      // Every certificate of the CA, whatever it is named: the auditor's too holds decide only.
      const auditor = tlsClients(srv.address, ca, pair('auditor'));
      expect((await unaryError(auditor.audit, 'Verify', {})).code).toBe(grpc.status.PERMISSION_DENIED);
      auditor.close();
    } finally {
      gateway.close();
      asPolicy.close();
      srv.child.kill('SIGTERM');
      expect(await srv.exited).toBe(0);
    }
  });
});
