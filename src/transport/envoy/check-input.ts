import { parseInputJson } from '../../engine/input.js';
import { isJsonObject, type JsonObject, type JsonValue } from '../../lib/json.js';
import type { DecideLimits, DecideRequest } from '../../runtime/faces.js';
import { structToJson } from '../struct.js';
import type { ExtAuthzConfig, RouteConfig, SubjectFields } from './ext-authz-config.js';

/** An Envoy CheckRequest as proto-loader decodes it (keepCase, defaults, oneofs): what gavel reads of it. */
export interface CheckRequestMessage {
  attributes?: {
    source?: { principal?: string } | null;
    request?: {
      http?: {
        id?: string;
        method?: string;
        headers?: Record<string, string>;
        path?: string;
        host?: string;
        query?: string;
        size?: number;
        body?: string;
        raw_body?: Uint8Array;
      } | null;
    } | null;
    context_extensions?: Record<string, string>;
    metadata_context?: { filter_metadata?: Record<string, unknown> } | null;
  } | null;
}

/** What a Check decides on: the input, the request id to record, and why it cannot be decided as sent. */
export interface CheckInput {
  input: JsonObject;
  /** Envoy's `x-request-id` (what the upstream sees too): recorded as the decision's request id. */
  requestId: string;
  /**
   * The body the route reads is not there whole: only a prefix (content_truncated), or not one JSON
   * object with unique keys (body_unreadable). Denied without evaluation, never decided on a part.
   */
  refusal?: DecideRequest['refusal'];
  /** The body as Envoy sent it (what ext_proc's body phase is matched against). */
  body: Buffer;
}

/** Struct depth accepted from Envoy's metadata (jwt claims are shallow). */
const MAX_METADATA_DEPTH = 16;

/**
 * gavel's input document for a Check (README "Behind Envoy"): the subject from the mTLS principal,
 * the jwt_authn claims or named headers; the action from the route (method and path) and, for model
 * calls, the JSON body's model and token limit; the body's messages, input, system or prompt as
 * content; Envoy's request id and context extensions in `context.envoy`.
 */
export function checkInput(req: CheckRequestMessage, config: ExtAuthzConfig, limits: DecideLimits): CheckInput {
  const attrs = req.attributes ?? {};
  const http = attrs.request?.http ?? {};
  const headers = lowerKeys(http.headers ?? {});
  const method = (http.method ?? '').toUpperCase();
  const rawPath = http.path ?? '';
  const [pathOnly = '', queryPart = ''] = rawPath.split('?', 2);
  const query = http.query || queryPart;
  const bodyBytes = http.raw_body && http.raw_body.length > 0 ? Buffer.from(http.raw_body) : Buffer.from(http.body ?? '', 'utf8');
  const truncated = headers['x-envoy-auth-partial-body'] === 'true' || (typeof http.size === 'number' && http.size > bodyBytes.length);
  // x-request-id is the id Envoy stamps on the request and passes upstream (HttpRequest.id is its stream's number).
  const requestId = headers['x-request-id'] || http.id || '';

  const subject = subjectOf(attrs, headers, config);
  const matched = matchRoute(config.routes, method, pathOnly);
  const readsBody = matched !== undefined && (matched.route.action === 'model.invoke' || matched.route.params === 'body');
  const parsed = readsBody && !truncated ? jsonBody(bodyBytes, limits) : undefined;
  const body = parsed && 'value' in parsed ? parsed.value : undefined;
  const refusal: CheckInput['refusal'] = !readsBody
    ? undefined
    : truncated
      ? {
          code: 'content_truncated',
          message: `Envoy sent ${bodyBytes.length} of the body's ${http.size ?? '?'} bytes: a request is never decided on a prefix (raise with_request_body.max_request_bytes)`,
        }
      : parsed && 'problem' in parsed
        ? { code: 'body_unreadable', message: `the body of ${method} ${pathOnly} is not one JSON object: ${parsed.problem}` }
        : undefined;
  const action = matched ? actionOf(matched.route, matched.segments, body, query) : { type: 'http.request', params: { method, path: pathOnly } };
  const content = matched?.route.action === 'model.invoke' && body ? contentOf(body) : undefined;
  const approval = headers[config.approval_header];
  const input: JsonObject = {
    ...(subject ? { subject } : {}),
    action,
    ...(content ? { content } : {}),
    context: {
      environment: config.environment,
      ...(approval ? { approval_id: approval } : {}),
      envoy: {
        request_id: requestId,
        method,
        path: pathOnly,
        host: http.host ?? '',
        context_extensions: { ...(attrs.context_extensions ?? {}) },
      },
    },
  };
  return { input, requestId, body: bodyBytes, ...(refusal ? { refusal } : {}) };
}

function subjectOf(attrs: NonNullable<CheckRequestMessage['attributes']>, headers: Record<string, string>, config: ExtAuthzConfig): JsonObject | undefined {
  for (const source of config.subject.sources) {
    if (source === 'principal' && attrs.source?.principal) return { id: attrs.source.principal, type: config.subject.principal_type };
    if (source === 'jwt') {
      const claims = jwtClaims(attrs.metadata_context?.filter_metadata?.[config.subject.jwt_namespace], config.subject.jwt_payload_key);
      const subject = claims && fieldsFrom(config.subject.claims, (name) => claims[name]);
      if (subject) return subject;
    }
    if (source === 'headers') {
      const subject = fieldsFrom(config.subject.headers, (name) => (name ? headers[name] : undefined));
      if (subject) return subject;
    }
  }
  return undefined;
}

/** The claims jwt_authn put in the metadata: under `payload_in_metadata`'s key, or the first object there. */
function jwtClaims(struct: unknown, key: string): JsonObject | undefined {
  if (!struct) return undefined;
  let ns: JsonValue;
  try {
    ns = structToJson(struct as Parameters<typeof structToJson>[0], MAX_METADATA_DEPTH);
  } catch {
    return undefined;
  }
  if (!isJsonObject(ns)) return undefined;
  const payload = key ? ns[key] : Object.values(ns).find(isJsonObject);
  return isJsonObject(payload) ? payload : undefined;
}

function fieldsFrom(names: SubjectFields, read: (name: string) => JsonValue | undefined): JsonObject | undefined {
  const id = read(names.id);
  if (typeof id !== 'string' || id === '') return undefined;
  const out: JsonObject = { id, type: stringOr(read(names.type), 'user') };
  const roles = read(names.roles);
  if (Array.isArray(roles)) out.roles = roles.filter((r): r is string => typeof r === 'string');
  else if (typeof roles === 'string' && roles !== '') out.roles = roles.split(/[,\s]+/).filter(Boolean);
  for (const name of ['team', 'cost_center'] as const) {
    const value = read(names[name]);
    if (typeof value === 'string' && value !== '') out[name] = value;
  }
  return out;
}

function stringOr(value: JsonValue | undefined, fallback: string): string {
  return typeof value === 'string' && value !== '' ? value : fallback;
}

/** The first route whose method and path match, and the path's `{name}` segments. */
export function matchRoute(routes: readonly RouteConfig[], method: string, path: string): { route: RouteConfig; segments: Record<string, string> } | undefined {
  const parts = path.split('/');
  for (const route of routes) {
    if (route.method && route.method !== method) continue;
    const pattern = route.path.split('/');
    const wildcard = pattern.at(-1) === '*';
    if (wildcard ? parts.length < pattern.length - 1 : parts.length !== pattern.length) continue;
    const segments: Record<string, string> = {};
    const same = pattern.every((p, i) => {
      if (wildcard && i === pattern.length - 1) return true;
      const name = /^\{(\w+)\}$/.exec(p)?.[1];
      if (name) {
        segments[name] = decodeSegment(parts[i] ?? '');
        return segments[name] !== '';
      }
      return p === parts[i];
    });
    if (same) return { route, segments };
  }
  return undefined;
}

function decodeSegment(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

function actionOf(route: RouteConfig, segments: Record<string, string>, body: JsonObject | undefined, query: string): JsonObject {
  if (route.action === 'model.invoke') {
    const max = body?.max_tokens ?? body?.max_completion_tokens ?? body?.max_output_tokens;
    return {
      type: 'model.invoke',
      ...(typeof body?.model === 'string' ? { model: body.model } : {}),
      params: typeof max === 'number' ? { max_tokens: max } : {},
    };
  }
  const tool = route.tool && (/^\{(\w+)\}$/.exec(route.tool) ? segments[route.tool.slice(1, -1)] : route.tool);
  const params = route.params === 'body' ? (body ?? {}) : route.params === 'query' ? queryParams(query) : {};
  return { type: route.action, ...(tool ? { tool } : {}), params };
}

/** The body fields a model call sends as content: OpenAI's messages/input/prompt, Anthropic's messages and system. */
export const CONTENT_KEYS = ['messages', 'input', 'system', 'prompt'] as const;

function contentOf(body: JsonObject): JsonObject | undefined {
  const content: JsonObject = {};
  for (const key of CONTENT_KEYS) if (body[key] !== undefined) content[key] = body[key];
  return Object.keys(content).length > 0 ? content : undefined;
}

/** The body as gavel reads any input (UTF-8, one object, no duplicate keys, bounded); undefined when empty. */
function jsonBody(bytes: Buffer, limits: DecideLimits): { value: JsonObject } | { problem: string } | undefined {
  if (bytes.length === 0) return undefined;
  try {
    return { value: parseInputJson(bytes, limits) };
  } catch (err) {
    return { problem: (err as Error).message };
  }
}

function queryParams(query: string): JsonObject {
  const out: JsonObject = {};
  for (const [k, v] of new URLSearchParams(query)) out[k] = v;
  return out;
}

function lowerKeys(headers: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers)) out[k.toLowerCase()] = v;
  return out;
}
