import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AccessPolicy } from '../../../src/transport/security/access-policy.js';
import { TlsFiles } from '../../../src/transport/security/tls-files.js';
import { gavelServices } from '../../../src/transport/proto.js';
import { jsonInput, stream, unary, unaryError, type Clients } from '../../helpers/client.js';
import { BUNDLES, tempDir } from '../../helpers/paths.js';
import { buildPki, EXPIRED, tlsClients, type Pki } from '../../helpers/pki.js';
import { startInProcess, type InProcessServer } from '../../helpers/server.js';
import { modelCall } from '../../usage/helpers.js';

/**
 * gavel over real mutual TLS on loopback: who gets in, who is recorded, and
 * which role opens which method — the whole matrix, every method of every
 * gavel service against an identity holding each single role.
 */
const ROLES = ['decide', 'report', 'audit', 'audit-payloads', 'approve', 'approve-on-behalf', 'admin'] as const;
const roleId = (role: string) => `spiffe://corp.example/role/${role}/1`;

/** The table, written out here rather than read from src: the test holds the code to it. */
const NEEDS: Record<string, (typeof ROLES)[number] | Array<(typeof ROLES)[number]>> = {
  'DecisionService/Decide': 'decide',
  'DecisionService/DecideStream': 'decide',
  'UsageService/Report': 'report',
  'UsageService/GetUsage': 'report',
  'AuditService/QueryDecisions': 'audit',
  'AuditService/GetDecision': 'audit',
  'AuditService/Verify': 'audit',
  'AuditService/LatestCheckpoint': 'audit',
  'AuditService/GetInclusionProof': 'audit',
  'AuditService/GetConsistencyProof': 'audit',
  'AuditService/Erase': 'admin',
  'AuditService/RecordOffline': 'decide',
  'PolicyService/ListBundles': ['admin', 'audit'],
  'PolicyService/Replay': 'admin',
  'ApprovalService/ListApprovals': ['approve', 'audit'],
  'ApprovalService/GetApproval': ['decide', 'approve', 'audit'],
  'ApprovalService/Resolve': ['approve', 'approve-on-behalf'],
  'ApprovalService/WatchApproval': ['decide', 'approve', 'audit'],
};
/** Past the guard these name a made-up decision or approval: NOT_FOUND. It is the role that is tested here. */
const NOT_FOUND_PAST_GUARD = ['UsageService/Report', 'ApprovalService/GetApproval', 'ApprovalService/Resolve', 'ApprovalService/WatchApproval'];
const allows = (method: string, role: string) => ([NEEDS[method]].flat() as string[]).includes(role);

let pki: Pki;
let srv: InProcessServer;
let tls: TlsFiles;
const open: Clients[] = [];
const connect = (name?: string) => {
  const c = tlsClients(srv.address, pki.caPem, name ? pki.clients[name] : undefined);
  open.push(c);
  return c;
};
const gw = { subject: 'mtls-user', team: 'platform', costCenter: 'cc-100' };
let decidedByGateway: string;

beforeAll(async () => {
  pki = await buildPki({
    gateway: { cn: 'gw', uris: ['spiffe://corp.example/gateway/eu-1'] },
    otherGateway: { cn: 'gw2', uris: ['spiffe://corp.example/gateway/us-1'] },
    auditor: { cn: 'aud', uris: ['spiffe://corp.example/auditor/a1'] },
    stranger: { cn: 'x', uris: ['spiffe://corp.example/intruder/x'] },
    dnsOnly: { cn: 'ignored-cn', dns: ['gw.corp.example'] },
    cnOnly: { cn: 'cn-gateway' },
    nameless: { cn: '', subject: 'O=no one in particular' },
    expired: { cn: 'gw', uris: ['spiffe://corp.example/gateway/eu-1'], ...EXPIRED },
    foreign: { cn: 'gw', uris: ['spiffe://corp.example/gateway/eu-1'], by: 'other-ca' },
    ...Object.fromEntries(ROLES.map((r) => [`role-${r}`, { cn: r, uris: [roleId(r)] }])),
  });
  tls = new TlsFiles({ certFile: pki.serverCert, keyFile: pki.serverKey, clientCaFile: pki.caFile });
  const policy = AccessPolicy.of(
    [
      { match: 'spiffe://corp.example/gateway/*', roles: ['decide', 'report'] },
      { match: 'spiffe://corp.example/auditor/*', roles: ['audit'] },
      { match: 'gw.corp.example', roles: ['decide'] },
      { match: 'cn-gateway', roles: ['decide'] },
      { match: 'nameless', roles: ['decide'] },
      ...ROLES.map((r) => ({ match: `spiffe://corp.example/role/${r}/*`, roles: [r] })),
    ],
    [{ match: 'mia', roles: ['finance-manager'] }],
  );
  srv = await startInProcess({ bundles: BUNDLES, ledger: join(tempDir(), 'l.db') }, { security: { tls, policy } });
  const d = await unary(connect('gateway').decision, 'Decide', jsonInput(modelCall(gw)));
  expect(d.decision).toBe('DECISION_ALLOW');
  decidedByGateway = d.decision_id;
});
afterAll(async () => {
  for (const c of open) c.close();
  await srv?.stop();
});

const callerOfEntry = (decisionId: string) =>
  (srv.core.parts.ledger.db.prepare('SELECT caller FROM entries WHERE decision_id = ?').get(decisionId) as { caller: string }).caller;

describe('who gets a connection at all', () => {
  it.each([
    ['no client certificate', undefined],
    ['a certificate from another CA', 'foreign'],
    ['an expired certificate', 'expired'],
  ])('%s: no service (the handshake fails), nothing recorded', async (_what, name) => {
    const before = srv.core.parts.ledger.size;
    const err = await unaryError(connect(name).decision, 'Decide', jsonInput(modelCall(gw)));
    expect(err.code).toBe(grpc.status.UNAVAILABLE);
    expect(srv.core.parts.ledger.size).toBe(before);
  });

  it('a valid certificate of the same identity is served (the refusals above are about the certificate)', async () => {
    expect((await unary(connect('gateway').decision, 'Decide', jsonInput(modelCall(gw)))).decision).toBe('DECISION_ALLOW');
  });

  it('health needs no role (any certificate of the CA)', async () => {
    const health = new grpc.Client(
      srv.address,
      grpc.credentials.createSsl(pki.caPem, Buffer.from(pki.clients.stranger!.key), Buffer.from(pki.clients.stranger!.cert)),
      {
        'grpc.ssl_target_name_override': 'localhost',
      },
    );
    const res = await new Promise<Buffer>((resolve, reject) =>
      health.makeUnaryRequest(
        '/grpc.health.v1.Health/Check',
        (x: Buffer) => x,
        (b: Buffer) => b,
        Buffer.alloc(0),
        (err, r) => (err ? reject(err) : resolve(r!)),
      ),
    );
    // HealthCheckResponse{status: SERVING(1)}: field 1, varint 1.
    expect([...res]).toEqual([0x08, 0x01]);
    health.close();
  });
});

describe('the identity recorded is the certificate, never a claim', () => {
  it('URI SAN first; x-gavel-caller is ignored under mutual TLS', async () => {
    const md = new grpc.Metadata();
    md.set('x-gavel-caller', 'spiffe://corp.example/auditor/boss');
    const d = await unary(connect('gateway').decision, 'Decide', jsonInput(modelCall(gw)), md);
    expect(callerOfEntry(d.decision_id)).toBe('spiffe://corp.example/gateway/eu-1');
  });

  it('else the first DNS SAN, else the subject CN', async () => {
    const byDns = await unary(connect('dnsOnly').decision, 'Decide', jsonInput(modelCall(gw)));
    expect(callerOfEntry(byDns.decision_id)).toBe('gw.corp.example');
    const byCn = await unary(connect('cnOnly').decision, 'Decide', jsonInput(modelCall(gw)));
    expect(callerOfEntry(byCn.decision_id)).toBe('cn-gateway');
  });

  it('a certificate that names no holder is UNAUTHENTICATED, counted, and nothing is recorded', async () => {
    const before = srv.core.parts.ledger.size;
    const err = await unaryError(connect('nameless').decision, 'Decide', jsonInput(modelCall(gw)));
    expect(err.code).toBe(grpc.status.UNAUTHENTICATED);
    expect(err.metadata.get('gavel-error-code')).toEqual(['unauthenticated']);
    expect(srv.core.parts.ledger.size).toBe(before);
    const counted = await srv.server.metrics.refusals.get();
    expect(
      counted.values.find((v) => v.labels.code === 'unauthenticated' && v.labels.method === '/gavel.v1.DecisionService/Decide')?.value,
    ).toBeGreaterThanOrEqual(1);
  });
});

/** A request each method answers successfully for a caller past the guard. */
async function callAs(name: string, method: string): Promise<{ code: number; details: string }> {
  const c = connect(name);
  const [service, rpc] = method.split('/') as [string, string];
  const policyClient = () => {
    const pair = pki.clients[name]!;
    const creds = grpc.credentials.createSsl(pki.caPem, Buffer.from(pair.key), Buffer.from(pair.cert));
    const client = new (gavelServices().PolicyService)(srv.address, creds, { 'grpc.ssl_target_name_override': 'localhost' });
    open.push({ decision: client, audit: client, usage: client, approval: client, close: () => client.close() });
    return client;
  };
  const client =
    service === 'DecisionService'
      ? c.decision
      : service === 'UsageService'
        ? c.usage
        : service === 'PolicyService'
          ? policyClient()
          : service === 'ApprovalService'
            ? c.approval
            : c.audit;
  const ok = { code: grpc.status.OK, details: '' };
  try {
    switch (method) {
      case 'DecisionService/Decide':
        await unary(client, rpc, jsonInput(modelCall(gw)));
        return ok;
      case 'DecisionService/DecideStream':
        return await decideStreamOnce(client);
      case 'UsageService/Report':
        // Past the guard, a decision nobody made is NOT_FOUND: it is the role that is tested here.
        await unary(client, rpc, {
          decision_id: 'no-such-decision',
          subject: 's',
          team: 't',
          cost_center: 'c',
          model: 'standard-m',
          input_tokens: 1,
          output_tokens: 1,
        });
        return ok;
      case 'UsageService/GetUsage':
        await unary(client, rpc, { scope: 'subject', key: gw.subject });
        return ok;
      case 'AuditService/QueryDecisions':
        await stream(client, rpc, { limit: 2 });
        return ok;
      case 'AuditService/GetDecision':
        await unary(client, rpc, { decision_id: decidedByGateway });
        return ok;
      case 'AuditService/Verify':
        await unary(client, rpc, {});
        return ok;
      case 'AuditService/LatestCheckpoint':
        await unary(client, rpc, {});
        return ok;
      case 'AuditService/GetInclusionProof':
        await unary(client, rpc, { decision_id: decidedByGateway });
        return ok;
      case 'AuditService/GetConsistencyProof':
        await unary(client, rpc, { from_size: 1 });
        return ok;
      case 'AuditService/Erase':
        // Past all entries: allowed through, and nothing is erased.
        await unary(client, rpc, { before: '2000-01-01T00:00:00Z', reason: 'role check', basis: 'other' });
        return ok;
      case 'AuditService/RecordOffline':
        await unary(client, rpc, {
          offline_id: randomUUID(),
          decided_at: new Date().toISOString(),
          mode: 'OFFLINE_MODE_CLOSED',
          decision: 'DECISION_DENY',
          input_json: Buffer.from(JSON.stringify({ subject: { id: gw.subject }, action: { type: 'model.invoke' } })),
          cause: 'unavailable',
        });
        return ok;
      case 'PolicyService/ListBundles':
        await unary(client, rpc, {});
        return ok;
      case 'PolicyService/Replay':
        await stream(client, rpc, { bundle: readFileSync(join(BUNDLES, 'ai.tar.gz')) });
        return ok;
      case 'ApprovalService/ListApprovals':
        await unary(client, rpc, { limit: 2 });
        return ok;
      case 'ApprovalService/GetApproval':
      case 'ApprovalService/WatchApproval':
        await (rpc === 'WatchApproval' ? stream(client, rpc, { approval_id: 'no-such-approval' }) : unary(client, rpc, { approval_id: 'no-such-approval' }));
        return ok;
      case 'ApprovalService/Resolve':
        // A front end (approve-on-behalf) names the person; an approver (approve) resolves as itself.
        await unary(client, rpc, {
          approval_id: 'no-such-approval',
          verdict: 'VERDICT_APPROVE',
          approver: { id: name === 'role-approve-on-behalf' ? 'mia' : '', roles: [] },
        });
        return ok;
    }
  } catch (err) {
    const e = err as grpc.ServiceError;
    return { code: e.code, details: e.details };
  }
  throw new Error(`no request for ${method}`);
}

function decideStreamOnce(client: grpc.Client): Promise<{ code: number; details: string }> {
  return new Promise((resolve) => {
    const call = (client as unknown as { DecideStream(): grpc.ClientDuplexStream<unknown, { decision?: unknown; error?: unknown }> }).DecideStream();
    let answered = false;
    call.on('data', (m) => (answered = m.decision !== undefined));
    call.on('error', (e: grpc.ServiceError) => resolve({ code: e.code, details: e.details }));
    call.on('end', () => resolve(answered ? { code: grpc.status.OK, details: '' } : { code: -1, details: 'stream ended without an answer' }));
    call.write({ policy: 'gavel/ai/decision', request_id: 'm-1', ...jsonInput(modelCall(gw)) });
    call.end();
  });
}

describe('who sees what of an approval', () => {
  it('the asking gateway and approvers see params and comments; audit sees the request without them; another decide identity sees nothing', async () => {
    const fiona = { id: 'fiona', type: 'user', roles: ['finance'], team: 'finance', cost_center: 'cc-200' };
    const input = {
      subject: fiona,
      action: { type: 'tool.call', tool: 'payments.transfer', params: { amount: 25_000, to_account: 'ACME-001' } },
      context: { environment: 'prod' },
    };
    const asked = await unary(connect('gateway').decision, 'Decide', jsonInput(input));
    const id = asked.approval.approval_id as string;
    const get = (name: string) => unary(connect(name).approval, 'GetApproval', { approval_id: id });

    const own = await get('gateway');
    expect(own.payload_withheld).toBe(false);
    expect(JSON.parse(own.params_json.toString())).toEqual({ amount: 25_000, to_account: 'ACME-001' });
    const other = await unaryError(connect('role-decide').approval, 'GetApproval', { approval_id: id });
    expect([other.code, other.metadata.get('gavel-error-code')[0]]).toEqual([grpc.status.PERMISSION_DENIED, 'permission_denied']);

    // The approval front end names the person; the access file's people: gives mia finance-manager.
    await unary(connect('role-approve-on-behalf').approval, 'Resolve', {
      approval_id: id,
      verdict: 'VERDICT_APPROVE',
      approver: { id: 'mia', roles: ['finance-manager'] },
      comment: 'invoice 7',
    });
    const approver = await get('role-approve');
    expect(approver).toMatchObject({
      payload_withheld: false,
      votes: [{ comment: 'invoice 7', caller: roleId('approve-on-behalf'), approver: { id: 'mia', roles: ['finance-manager'] } }],
    });
    const auditor = await get('role-audit');
    expect(auditor).toMatchObject({ state: 'approved', subject_id: 'fiona', payload_withheld: true, votes: [{ comment: '', approver: { id: 'mia' } }] });
    expect(auditor.params_json.length).toBe(0);
    const listed = await unary(connect('role-audit').approval, 'ListApprovals', { limit: 10 });
    expect(listed.approvals.find((a: { approval_id: string }) => a.approval_id === id)).toMatchObject({ payload_withheld: true });
  });
});

describe('the role matrix: every method against each single role', () => {
  it('covers every method the gavel services expose', () => {
    const s = gavelServices();
    const all = [s.DecisionService, s.UsageService, s.AuditService, s.PolicyService, s.ApprovalService].flatMap((svc) =>
      Object.values(svc.service).map((d) => d.path.replace('/gavel.v1.', '')),
    );
    expect(all.sort()).toEqual(Object.keys(NEEDS).sort());
  });

  const cases = ROLES.flatMap((role) => Object.keys(NEEDS).map((method) => [role, method] as const));
  it.each(cases)('%s on %s', async (role, method) => {
    const allowed = allows(method, role);
    const r = await callAs(`role-${role}`, method);
    if (allowed) {
      // Report and the approval lookups past the guard: NOT_FOUND for the made-up id; everything else succeeds.
      expect(r.code, r.details).toBe(NOT_FOUND_PAST_GUARD.includes(method) ? grpc.status.NOT_FOUND : grpc.status.OK);
    } else {
      expect(r.code).toBe(grpc.status.PERMISSION_DENIED);
      expect(r.details).toContain(`/gavel.v1.${method}`);
      expect(r.details).toContain(roleId(role));
      for (const needed of [NEEDS[method]].flat()) expect(r.details).toContain(`"${needed}"`);
    }
  });

  it('an identity no rule matches holds no role at all', async () => {
    for (const method of Object.keys(NEEDS)) expect((await callAs('stranger', method)).code).toBe(grpc.status.PERMISSION_DENIED);
  });

  it('refusals are counted by method and code', async () => {
    await callAs('role-decide', 'AuditService/Verify');
    const counted = await srv.server.metrics.refusals.get();
    expect(
      counted.values.find((v) => v.labels.method === '/gavel.v1.AuditService/Verify' && v.labels.code === 'permission_denied')?.value,
    ).toBeGreaterThanOrEqual(1);
  });
});

describe('payloads need audit-payloads', () => {
  it('audit alone gets the entry with the payload withheld; audit + audit-payloads gets the payload', async () => {
    const plain = await unary(connect('auditor').audit, 'GetDecision', { decision_id: decidedByGateway });
    expect(plain.entry.decision_id).toBe(decidedByGateway);
    expect(plain.entry.payload_hash).toMatch(/^[0-9a-f]{64}$/);
    expect(plain.payload_withheld).toBe(true);
    expect(plain.payload_json.length).toBe(0);
    expect(plain.salt).toBe('');

    const policy = AccessPolicy.of([{ match: 'spiffe://corp.example/auditor/*', roles: ['audit', 'audit-payloads'] }]);
    const full = await startInProcess({ bundles: BUNDLES, ledger: join(tempDir(), 'l2.db') }, { security: { tls, policy } });
    try {
      const seed = await full.core.decide({ policy: 'gavel/ai/decision', input: { value: modelCall(gw) }, requestId: 'seed', caller: 'seed' });
      const c = tlsClients(full.address, pki.caPem, pki.clients.auditor);
      open.push(c);
      const got = await unary(c.audit, 'GetDecision', { decision_id: seed.decisionId });
      expect(got.payload_withheld).toBe(false);
      expect(JSON.parse(got.payload_json.toString()).input.subject.id).toBe(gw.subject);
      expect(got.salt).toMatch(/^[0-9a-f]+$/);
    } finally {
      await full.stop();
    }
  });
});

describe('a report settles only what the same identity asked for', () => {
  const reportOf = (decisionId: string) => ({
    decision_id: decisionId,
    subject: gw.subject,
    team: gw.team,
    cost_center: gw.costCenter,
    model: 'standard-m',
    input_tokens: 5,
    output_tokens: 20,
  });

  it('another gateway (same roles) is PERMISSION_DENIED and nothing is settled; the asking gateway settles', async () => {
    const d = await unary(connect('gateway').decision, 'Decide', jsonInput(modelCall(gw)));
    const err = await unaryError(connect('otherGateway').usage, 'Report', reportOf(d.decision_id));
    expect(err.code).toBe(grpc.status.PERMISSION_DENIED);
    expect(err.metadata.get('gavel-error-code')).toEqual(['permission_denied']);
    expect((await srv.core.parts.usage!.charge(d.decision_id))?.state).toBe('reserved');
    const ok = await unary(connect('gateway').usage, 'Report', reportOf(d.decision_id));
    expect(ok).toMatchObject({ duplicate: false, tokens: 25 });
  });
});
