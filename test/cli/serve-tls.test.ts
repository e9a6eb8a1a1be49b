import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { jsonInput, unary, unaryError } from '../helpers/client.js';
import { BUNDLES, tempDir } from '../helpers/paths.js';
import { tlsClients } from '../helpers/pki.js';
import { failedStart, runCli, servingLine, startChild } from '../helpers/server.js';
import { modelCall } from '../usage/helpers.js';

/** `gavel serve` with TLS flags, and `gavel certs dev`, as an operator runs them. */
const base = () => ['serve', '--bundles', BUNDLES, '--ledger', join(tempDir(), 'l.db')];

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
  it('writes a CA, three certificates and an access file (keys 0600), and refuses to overwrite without --force', async () => {
    const dir = await devCerts();
    for (const f of ['ca.pem', 'server.pem', 'gateway.pem', 'auditor.pem', 'access.yaml']) expect(statSync(join(dir, f)).size).toBeGreaterThan(0);
    for (const f of ['server.key', 'gateway.key', 'auditor.key']) expect(statSync(join(dir, f)).mode & 0o777).toBe(0o600);
    const again = await runCli(['certs', 'dev', '--out', dir]);
    expect(again.code).toBe(2);
    expect(again.stderr).toContain('--force');
    expect((await runCli(['certs', 'dev', '--out', dir, '--force'])).code).toBe(0);
  });

  it('gateway decides and reports, auditor audits with payloads, neither does the other; metrics over HTTPS; SIGHUP re-reads the TLS files', async () => {
    const dir = await devCerts();
    const pair = (name: string) => ({ cert: readFileSync(join(dir, `${name}.pem`), 'utf8'), key: readFileSync(join(dir, `${name}.key`), 'utf8') });
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
      srv.child.kill('SIGTERM');
      expect(await srv.exited).toBe(0);
    }
  });
});
