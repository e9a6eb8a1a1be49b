import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type Decision, type GavelClient, isGavelError } from '@gavel-pdp/client';
import { type Caller, type ChatRequest, chatRequestOf, gavelInput, upstreamRequest } from './chat.js';

export interface GatewayOptions {
  /** The gavel client every request asks (createClient from @gavel-pdp/client). */
  gavel: GavelClient;
  /** Base URL of the OpenAI-compatible upstream, e.g. https://api.openai.com. */
  upstream: string;
  /** The upstream's API key; callers never see it. */
  upstreamKey?: string;
  /** Each caller's API key and the subject it stands for. */
  keys: Record<string, Caller>;
  /** input.context.environment (default "prod"). */
  environment?: string;
  /** Largest request body (default 1 MiB). */
  maxBodyBytes?: number;
  /**
   * The client route every decision goes by (default "chat"): its fail mode (createClient's
   * `routes`) says what happens when gavel cannot be asked — closed (503), open, or fallback (the
   * local copy of the signed bundle decides). A route without one answers 503.
   */
  route?: string;
  /** Told of what goes wrong after the upstream answered (a usage report that failed); no personal data. */
  onError?: (what: string, err: unknown) => void;
}

export interface Gateway {
  server: Server;
  port: number;
  close(): Promise<void>;
}

/**
 * An OpenAI-compatible proxy for POST /v1/chat/completions that asks gavel before forwarding:
 * - allow or redact: forwards with the model gavel decided (tier-down rewrites `model`) and the
 *   messages as gavel redacted them, then reports the upstream's `usage` to gavel;
 * - deny: 403, with gavel's reasons; require_approval: 403 with the approval request's id — the
 *   caller retries with `x-gavel-approval-id` once it is approved;
 * - gavel unreachable: the route's fail mode (a `closed` deny is 503; `fallback` decides as above
 *   from the local signed bundle); 503 without one. The upstream is never called without a decision,
 *   and every decision made without gavel waits in the client's outbox until gavel records it.
 */
export async function startGateway(o: GatewayOptions, listen = { host: '127.0.0.1', port: 0 }): Promise<Gateway> {
  const server = createServer((req, res) => {
    handle(o, req, res).catch((err: unknown) => {
      o.onError?.('request', err);
      if (!res.headersSent) send(res, 500, errorBody('gateway_error', 'internal_error', 'the gateway failed'));
      else res.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(listen.port, listen.host, () => resolve());
  });
  return {
    server,
    port: (server.address() as AddressInfo).port,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

async function handle(o: GatewayOptions, req: IncomingMessage, res: ServerResponse): Promise<void> {
  if (req.method !== 'POST' || req.url?.split('?')[0] !== '/v1/chat/completions') {
    return send(res, 404, errorBody('invalid_request_error', 'not_found', 'this gateway serves POST /v1/chat/completions'));
  }
  const key = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
  const caller = key !== undefined && Object.hasOwn(o.keys, key) ? o.keys[key] : undefined;
  if (!caller) return send(res, 401, errorBody('invalid_request_error', 'invalid_api_key', 'unknown API key'));
  const body = await readJson(req, o.maxBodyBytes ?? 1024 * 1024);
  const chat = body === undefined ? 'the body is not JSON' : chatRequestOf(body);
  if (typeof chat === 'string') return send(res, 400, errorBody('invalid_request_error', 'invalid_request', chat));

  const approvalId = header(req, 'x-gavel-approval-id');
  const requestId = header(req, 'x-request-id') ?? randomUUID();
  let decision: Decision;
  try {
    decision = await o.gavel.decide(gavelInput(caller, chat, approvalId, o.environment ?? 'prod'), { requestId, route: o.route ?? 'chat' });
  } catch (err) {
    if (isGavelError(err) && err.code === 'invalid_input') return send(res, 400, errorBody('invalid_request_error', err.code, err.message));
    // Fail closed: no decision, no call.
    return send(
      res,
      503,
      errorBody('gavel_unavailable', isGavelError(err) ? err.code : 'unavailable', 'the policy decision point could not be asked; nothing was sent'),
    );
  }
  res.setHeader('x-gavel-decision-id', decision.decisionId);
  if (decision.offline?.mode === 'closed') {
    // The route failed closed: gavel could not be asked (or its fallback could not decide).
    return send(res, 503, errorBody('gavel_unavailable', decision.offline.cause, `${messageOf(decision)}; nothing was sent`, gavelPart(decision)));
  }
  if (decision.outcome === 'deny')
    return send(res, 403, errorBody('gavel_denied', decision.reasons[0]?.code ?? 'denied', messageOf(decision), gavelPart(decision)));
  if (decision.outcome === 'require_approval') {
    if (decision.approval) res.setHeader('x-gavel-approval-id', decision.approval.id);
    const message = `${messageOf(decision)}; retry with x-gavel-approval-id once approved`;
    return send(res, 403, errorBody('gavel_approval_required', 'approval_required', message, gavelPart(decision)));
  }
  await forward(o, res, chat, decision, caller);
}

async function forward(o: GatewayOptions, res: ServerResponse, chat: ChatRequest, decision: Decision, caller: Caller): Promise<void> {
  const upstream = await fetch(new URL('/v1/chat/completions', o.upstream), {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(o.upstreamKey ? { authorization: `Bearer ${o.upstreamKey}` } : {}) },
    body: JSON.stringify(upstreamRequest(chat, decision)),
  });
  const text = await upstream.text();
  if (upstream.ok) {
    const usage = usageOf(text);
    // What the call really used settles the reservation; without it the reservation expires (README "Budgets").
    // A decision made without gavel reserved nothing: there is nothing to settle.
    if (usage && decision.model && !decision.offline) {
      await o.gavel
        .report(decision.decisionId, {
          subject: caller.id,
          team: caller.team,
          costCenter: caller.cost_center,
          model: decision.model,
          inputTokens: usage.prompt,
          outputTokens: usage.completion,
        })
        .catch((err: unknown) => o.onError?.('usage report', err));
    }
  }
  res.statusCode = upstream.status;
  res.setHeader('content-type', upstream.headers.get('content-type') ?? 'application/json');
  res.end(text);
}

function usageOf(text: string): { prompt: number; completion: number } | undefined {
  try {
    const usage = (JSON.parse(text) as { usage?: { prompt_tokens?: unknown; completion_tokens?: unknown } }).usage;
    const prompt = usage?.prompt_tokens;
    const completion = usage?.completion_tokens;
    return typeof prompt === 'number' && typeof completion === 'number' ? { prompt, completion } : undefined;
  } catch {
    return undefined;
  }
}

function gavelPart(d: Decision): Record<string, unknown> {
  return {
    decision_id: d.decisionId,
    outcome: d.outcome,
    reasons: d.reasons.map((r) => ({ code: r.code, message: r.message })),
    ...(d.approval ? { approval: { id: d.approval.id, expires_at: d.approval.expiresAt, approvers: d.approval.approvers } } : {}),
    ...(d.offline ? { offline: { mode: d.offline.mode, cause: d.offline.cause } } : {}),
  };
}

function messageOf(d: Decision): string {
  return d.reasons.map((r) => r.message).join('; ') || d.outcome;
}

/** OpenAI's error body shape, so OpenAI clients raise their usual errors; gavel's decision rides in it (`error.gavel`). */
function errorBody(type: string, code: string, message: string, gavel?: Record<string, unknown>): { error: Record<string, unknown> } {
  return { error: { message, type, code, param: null, ...(gavel ? { gavel } : {}) } };
}

function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return typeof v === 'string' && v !== '' ? v : undefined;
}

function send(res: ServerResponse, status: number, body: unknown): void {
  res.statusCode = status;
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify(body));
}

async function readJson(req: IncomingMessage, max: number): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > max) return undefined;
    chunks.push(chunk as Buffer);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    return undefined;
  }
}
