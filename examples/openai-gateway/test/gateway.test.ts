import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { type ClientOptions, createClient, type GavelClient } from '@gavel-pdp/client';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readArchive } from '../../../src/bundles/archive.js';
import { bundleVerification } from '../../../src/bundles/verification-keys.js';
import { openFallbackPolicy } from '../../../src/index.js';
import { freePort, type ServerOnPort, serveOn } from '../../../packages/client/test/helpers.js';
import { startBundleServer } from '../../../test/helpers/bundle-server.js';
import { signedBundle, VERIFICATION_KEY } from '../../../test/helpers/signed-bundle.js';
import { clients, unary, type Clients } from '../../../test/helpers/client.js';
import { BUNDLES, tempDir } from '../../../test/helpers/paths.js';
import { repack } from '../../../test/helpers/repack.js';
import { startInProcess, type InProcessServer } from '../../../test/helpers/server.js';
import { startGateway, type Gateway } from '../src/gateway.js';
import type { Caller } from '../src/chat.js';

/**
 * The example gateway end to end: the official `openai` client calls it, it asks a real gavel
 * (the reference bundle, with one seat whose spend always needs approval), and forwards to a
 * stand-in upstream on 127.0.0.1 — the one stand-in: no model can be called from here.
 */
const KEYS: Record<string, Caller> = {
  'key-alice': { id: 'alice', type: 'user', roles: ['employee'], team: 'platform', cost_center: 'cc-100' },
  'key-mia': { id: 'mia', type: 'user', roles: ['ml-engineer', 'employee'], team: 'budget-test', cost_center: 'cc-400' },
  'key-sam': { id: 'sam', type: 'user', roles: ['employee'], team: 'platform', cost_center: 'cc-100' },
};

/** The stand-in upstream: answers like OpenAI with the usage the test queues, and keeps what it was sent. */
class Upstream {
  server!: Server;
  received: Array<{ model: string; messages: Array<{ role: string; content: unknown }>; auth: string | undefined }> = [];
  usage: Array<{ prompt_tokens: number; completion_tokens: number }> = [];
  async start(): Promise<string> {
    this.server = createServer((req, res) => {
      let body = '';
      req.on('data', (d) => (body += d));
      req.on('end', () => {
        const chat = JSON.parse(body) as { model: string; messages: Array<{ role: string; content: unknown }> };
        this.received.push({ ...chat, auth: req.headers.authorization });
        const usage = this.usage.shift() ?? { prompt_tokens: 10, completion_tokens: 5 };
        res.setHeader('content-type', 'application/json');
        res.end(
          JSON.stringify({
            id: `chatcmpl-${this.received.length}`,
            object: 'chat.completion',
            created: 1,
            model: chat.model,
            choices: [{ index: 0, message: { role: 'assistant', content: 'ok' }, finish_reason: 'stop', logprobs: null }],
            usage: { ...usage, total_tokens: usage.prompt_tokens + usage.completion_tokens },
          }),
        );
      });
    });
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }
}

let srv: InProcessServer;
let admin: Clients;
let gavel: GavelClient;
let gateway: Gateway;
const upstream = new Upstream();
const openai = (key: string) => new OpenAI({ apiKey: key, baseURL: `http://127.0.0.1:${gateway.port}/v1`, maxRetries: 0, timeout: 15_000 });

beforeAll(async () => {
  // The reference bundle, with sam's seat at its approval threshold from the first call.
  const data = JSON.parse(readArchiveFile(join(BUNDLES, 'ai.tar.gz'), 'data.json')) as {
    gavel: { ai_config: { budgets: { seat_monthly_spend: { by_subject: unknown } } } };
  };
  data.gavel.ai_config.budgets.seat_monthly_spend.by_subject = { sam: { approval_at: 0 } };
  const bundles = join(tempDir(), 'bundles');
  mkdirSync(bundles);
  writeFileSync(join(bundles, 'ai.tar.gz'), repack(readFileSync(join(BUNDLES, 'ai.tar.gz')), { 'data.json': JSON.stringify(data) }));
  srv = await startInProcess({ bundles, ledger: join(tempDir(), 'ledger.db') });
  admin = clients(srv.address);
  gavel = createClient({ target: srv.address, tls: 'insecure', caller: 'openai-gateway' });
  gateway = await startGateway({ gavel, upstream: await upstream.start(), upstreamKey: 'sk-upstream', keys: KEYS });
});
afterAll(async () => {
  await gateway?.close();
  await gavel?.close();
  admin?.close();
  upstream.server?.close();
  await srv?.stop();
});

/** A file of a bundle archive, read with gavel's own bundle reader. */
function readArchiveFile(archive: string, path: string): string {
  return readArchive(readFileSync(archive)).get(path)!.toString('utf8');
}

const usageOf = async (scope: string, key: string) =>
  JSON.parse((await unary(admin.usage, 'GetUsage', { scope, key })).usage_json.toString()) as Record<string, any>;

describe('the OpenAI gateway example', () => {
  it('allows: forwards with the upstream key, answers as OpenAI, and reports the real usage', async () => {
    upstream.usage.push({ prompt_tokens: 12, completion_tokens: 34 });
    const { data, response } = await openai('key-alice')
      .chat.completions.create({ model: 'standard-m', messages: [{ role: 'user', content: 'Summarise this' }], max_tokens: 64 })
      .withResponse();
    expect(data.choices[0]?.message.content).toBe('ok');
    const decisionId = response.headers.get('x-gavel-decision-id')!;
    expect(decisionId).toMatch(/^[0-9a-f-]{36}$/);
    expect(upstream.received.at(-1)).toMatchObject({ model: 'standard-m', auth: 'Bearer sk-upstream' });
    const entry = await unary(admin.audit, 'GetDecision', { decision_id: decisionId });
    expect(entry.entry).toMatchObject({ decision: 'allow', subject_id: 'alice', caller: 'unverified:openai-gateway' });
    expect((await usageOf('subject', 'alice')).day).toMatchObject({ used_tokens: 46, reserved_tokens: 0 });
  });

  it('redacts: the upstream never sees the personal data, only what gavel masked', async () => {
    const before = upstream.received.length;
    await openai('key-alice').chat.completions.create({
      model: 'standard-m',
      messages: [{ role: 'user', content: 'Write to jane.doe@example.com about card 4111 1111 1111 1111' }],
      max_tokens: 64,
    });
    expect(upstream.received).toHaveLength(before + 1);
    const sent = JSON.stringify(upstream.received.at(-1)!.messages);
    expect(sent).not.toContain('jane.doe@example.com');
    expect(sent).not.toContain('4111 1111 1111 1111');
    expect(sent).toContain('[REDACTED:email]');
  });

  it('denies with 403 and gavel reasons, and the upstream is not called', async () => {
    const before = upstream.received.length;
    const err = await openai('key-alice')
      .chat.completions.create({ model: 'frontier-xl', messages: [{ role: 'user', content: 'hi' }] })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.PermissionDeniedError);
    expect((err as InstanceType<typeof OpenAI.PermissionDeniedError>).code).toBe('model_not_permitted');
    expect(upstream.received).toHaveLength(before);
  });

  it('tiers down and then denies as real reports use up the team budget', async () => {
    const ask = async (model: string) => {
      const before = upstream.received.length;
      try {
        await openai('key-mia').chat.completions.create({ model, messages: [{ role: 'user', content: 'Explain attention.' }], max_tokens: 100 });
        return upstream.received.length > before ? upstream.received.at(-1)!.model : 'not sent';
      } catch (e) {
        return (e as { code?: string }).code ?? String(e);
      }
    };
    upstream.usage.push({ prompt_tokens: 4000, completion_tokens: 100 });
    expect(await ask('frontier-xl')).toBe('frontier-xl');
    upstream.usage.push({ prompt_tokens: 700, completion_tokens: 50 });
    expect(await ask('frontier-xl')).toBe('standard-m');
    upstream.usage.push({ prompt_tokens: 200, completion_tokens: 10 });
    expect(await ask('frontier-xl')).toBe('economy-s');
    expect((await usageOf('team', 'budget-test')).week).toMatchObject({ used_tokens: 5060 });
    expect(await ask('standard-m')).toBe('team_budget_exhausted');
  });

  it('asks for approval, then lets the approved call through once', async () => {
    const body = { model: 'standard-m', messages: [{ role: 'user' as const, content: 'Draft the report' }], max_tokens: 64 };
    const refused = await openai('key-sam')
      .chat.completions.create(body)
      .catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(OpenAI.PermissionDeniedError);
    const held = refused as InstanceType<typeof OpenAI.PermissionDeniedError>;
    expect(held.code).toBe('approval_required');
    const approvalId = (held.error as { gavel?: { approval?: { id: string } } } | undefined)?.gavel?.approval?.id;
    expect(approvalId).toMatch(/^[0-9a-f-]{36}$/);
    expect(held.headers?.get('x-gavel-approval-id')).toBe(approvalId);
    await unary(admin.approval, 'Resolve', { approval_id: approvalId, verdict: 'VERDICT_APPROVE', approver: { id: 'tina', roles: ['team-lead'] } });
    const before = upstream.received.length;
    const done = await openai('key-sam').chat.completions.create(body, { headers: { 'x-gavel-approval-id': approvalId! } });
    expect(done.choices[0]?.message.content).toBe('ok');
    expect(upstream.received).toHaveLength(before + 1);
  });

  it('answers 401 to an unknown key and 503 when gavel cannot be asked (fail closed), never calling the upstream', async () => {
    const before = upstream.received.length;
    expect(
      await openai('key-nobody')
        .chat.completions.create({ model: 'standard-m', messages: [{ role: 'user', content: 'hi' }] })
        .catch((e: unknown) => e),
    ).toBeInstanceOf(OpenAI.AuthenticationError);
    const down = createClient({ target: '127.0.0.1:9', tls: 'insecure', deadlineMs: 1500, retry: false });
    const closed = await startGateway({ gavel: down, upstream: `http://127.0.0.1:${(upstream.server.address() as AddressInfo).port}`, keys: KEYS });
    try {
      const err = await new OpenAI({ apiKey: 'key-alice', baseURL: `http://127.0.0.1:${closed.port}/v1`, maxRetries: 0 }).chat.completions
        .create({ model: 'standard-m', messages: [{ role: 'user', content: 'hi' }] })
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(OpenAI.InternalServerError);
      expect((err as { status: number }).status).toBe(503);
    } finally {
      await closed.close();
      await down.close();
    }
    expect(upstream.received).toHaveLength(before);
  });

  it('gavel down: a fail-closed route answers 503, a fallback route decides from the local signed bundle; all are in the ledger once gavel is back', async () => {
    const port = await freePort();
    const dir = tempDir();
    const bundleServer = await startBundleServer(signedBundle());
    const keys = [{ file: VERIFICATION_KEY }];
    const upstreamUrl = `http://127.0.0.1:${(upstream.server.address() as AddressInfo).port}`;
    const routed = (failMode: 'closed' | 'fallback', extra: Partial<ClientOptions> = {}) =>
      createClient({
        target: `127.0.0.1:${port}`,
        tls: 'insecure',
        retry: false,
        routes: { chat: { failMode } },
        outbox: { path: join(dir, `${failMode}.jsonl`) },
        ...extra,
      });
    const closedClient = routed('closed');
    const fallbackClient = routed('fallback', { fallback: await openFallbackPolicy({ urls: [bundleServer.url], keys }) });
    const closedGateway = await startGateway({ gavel: closedClient, upstream: upstreamUrl, keys: KEYS });
    const fallbackGateway = await startGateway({ gavel: fallbackClient, upstream: upstreamUrl, keys: KEYS });
    const via = (g: Gateway) => new OpenAI({ apiKey: 'key-alice', baseURL: `http://127.0.0.1:${g.port}/v1`, maxRetries: 0, timeout: 15_000 });
    const before = upstream.received.length;
    let back: ServerOnPort | undefined;
    try {
      const refused = (await via(closedGateway)
        .chat.completions.create({ model: 'standard-m', messages: [{ role: 'user', content: 'hi' }] })
        .catch((e: unknown) => e)) as InstanceType<typeof OpenAI.APIError>;
      expect([refused.status, refused.code]).toEqual([503, 'unavailable']);
      expect(upstream.received).toHaveLength(before);

      const allowed = await via(fallbackGateway).chat.completions.create({ model: 'standard-m', messages: [{ role: 'user', content: 'hi' }] });
      expect(allowed.choices[0]?.message.content).toBe('ok');
      const denied = (await via(fallbackGateway)
        .chat.completions.create({ model: 'frontier-xl', messages: [{ role: 'user', content: 'hi' }] })
        .catch((e: unknown) => e)) as InstanceType<typeof OpenAI.APIError>;
      expect([denied.status, denied.code]).toEqual([403, 'model_not_permitted']);
      const secret = 'reach me at ana.lopez@example.com';
      await via(fallbackGateway).chat.completions.create({ model: 'standard-m', messages: [{ role: 'user', content: secret }] });
      expect(upstream.received).toHaveLength(before + 2); // the denied call never went out
      expect(JSON.stringify(upstream.received.at(-1)!.messages)).not.toContain('ana.lopez@example.com');

      back = await serveOn(port, { bundles: { urls: [bundleServer.url] }, delivery: { verification: bundleVerification(keys) }, ledger: join(dir, 'l.db') });
      // A channel still waiting out its reconnect backoff from while gavel was down refuses at once
      // (`unavailable`, the outbox kept): a gateway flushes again later, as this does, for up to 10 s.
      const flushed = async (client: typeof closedClient) => {
        for (const end = Date.now() + 10_000; ; ) {
          try {
            return await client.flushOutbox();
          } catch (err) {
            if (Date.now() > end || (err as { code?: string }).code !== 'unavailable') throw err;
            await new Promise((r) => setTimeout(r, 200));
          }
        }
      };
      expect(await flushed(closedClient)).toEqual({ delivered: 1, duplicates: 0, pending: 0 });
      expect(await flushed(fallbackClient)).toEqual({ delivered: 3, duplicates: 0, pending: 0 });
      const entries = [...back.core.audit.query({ kind: 'offline', order: 'asc', limit: 100 })];
      expect(entries.map((e) => [e.decision, e.reasonCodes[0], (e.revision !== '') as boolean])).toEqual([
        ['deny', 'pdp_unavailable', false],
        ['allow', 'allowed', true],
        ['deny', 'model_not_permitted', true],
        ['redact', expect.any(String), true],
      ]);
      expect(JSON.stringify([...entries.map((e) => back!.core.audit.get(e.decisionId)?.payload)])).not.toContain('ana.lopez@example.com');
    } finally {
      await closedGateway.close();
      await fallbackGateway.close();
      await closedClient.close();
      await fallbackClient.close();
      await back?.stop();
      await bundleServer.stop();
    }
  });
});
