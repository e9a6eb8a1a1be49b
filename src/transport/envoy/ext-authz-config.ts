import { parse } from 'yaml';
import { GavelError } from '../../lib/errors.js';

/** Where a Check's subject comes from, tried in order (README "Behind Envoy"). */
export type SubjectSource = 'principal' | 'jwt' | 'headers';
export const SUBJECT_SOURCES: readonly SubjectSource[] = ['principal', 'jwt', 'headers'];

/** The action types a route maps to (the reference policy's names). */
export const ROUTE_ACTIONS = ['model.invoke', 'tool.call', 'data.export'] as const;
export type RouteAction = (typeof ROUTE_ACTIONS)[number];

/** The subject's fields, each read from a claim (jwt) or a header (headers). */
export interface SubjectFields {
  id: string;
  type: string;
  roles: string;
  team: string;
  cost_center: string;
}

export interface RouteConfig {
  /** An HTTP method, or absent for any. */
  method?: string;
  /** The path without its query: exact, `{name}` for one segment (e.g. /tools/{tool}), or a trailing `/*`. */
  path: string;
  action: RouteAction;
  /** tool.call: the tool, a literal or `{name}` of the path. */
  tool?: string;
  /** Where action.params come from for tool.call and data.export: the JSON body, the query string, or nowhere. */
  params: 'body' | 'query' | 'none';
}

export interface ExtAuthzConfig {
  subject: {
    sources: SubjectSource[];
    /** The type of a subject named by `source.principal` (a workload's SPIFFE id). */
    principal_type: string;
    /** The jwt_authn filter's metadata namespace, and the `payload_in_metadata` key ("" = the first there). */
    jwt_namespace: string;
    jwt_payload_key: string;
    claims: SubjectFields;
    headers: SubjectFields;
  };
  /** Matched in order; the first match wins. A request no route matches is decided as `http.request`. */
  routes: RouteConfig[];
  /** input.context.environment. */
  environment: string;
  /** The entrypoint ("" = the server's default). */
  policy: string;
  /** The header an approved retry names its approval with (as the gateway example's). */
  approval_header: string;
  /** Set on allow to the model gavel decided (a tier-down's); and, when named, the operator's route-override header too. */
  model_header: string;
  route_override_header: string;
  /** A denial whose every deny reason is one of these is 429 (a budget or a rate), not 403. */
  quota_reasons: string[];
  /**
   * Envoy runs gavel's ext_proc filter after ext_authz (README "Behind Envoy"): ext_authz lets a
   * REDACT on and ext_proc rewrites the body. false (the default): REDACT is 403 redaction_required,
   * since nothing would redact it.
   */
  ext_proc: boolean;
}

export const DEFAULT_EXT_AUTHZ_CONFIG: ExtAuthzConfig = {
  subject: {
    sources: ['principal', 'jwt'],
    principal_type: 'service',
    jwt_namespace: 'envoy.filters.http.jwt_authn',
    jwt_payload_key: '',
    claims: { id: 'sub', type: 'subject_type', roles: 'roles', team: 'team', cost_center: 'cost_center' },
    headers: { id: 'x-gavel-subject', type: 'x-gavel-subject-type', roles: 'x-gavel-roles', team: 'x-gavel-team', cost_center: 'x-gavel-cost-center' },
  },
  routes: [
    { method: 'POST', path: '/v1/chat/completions', action: 'model.invoke', params: 'body' },
    { method: 'POST', path: '/v1/completions', action: 'model.invoke', params: 'body' },
    { method: 'POST', path: '/v1/responses', action: 'model.invoke', params: 'body' },
    { method: 'POST', path: '/v1/messages', action: 'model.invoke', params: 'body' },
    { method: 'POST', path: '/v1/embeddings', action: 'model.invoke', params: 'body' },
  ],
  environment: 'prod',
  policy: '',
  approval_header: 'x-gavel-approval-id',
  model_header: 'x-gavel-model',
  route_override_header: '',
  quota_reasons: ['subject_budget_exhausted', 'team_budget_exhausted', 'cost_center_cap_exceeded', 'seat_spend_cap', 'tool_rate_limited'],
  ext_proc: false,
};

/** The file (`--ext-authz-config`), over the defaults; every problem at once, naming its key, or nothing. */
export function parseExtAuthzConfig(text: string, source = 'ext-authz config'): ExtAuthzConfig {
  let raw: unknown;
  try {
    raw = parse(text, { uniqueKeys: true }) ?? {};
  } catch (err) {
    throw new GavelError('config_invalid', `${source}: not YAML: ${(err as Error).message}`);
  }
  return extAuthzConfig(raw, source);
}

/** Checks a config object (from YAML or code) over the defaults. */
export function extAuthzConfig(raw: unknown, source = 'ext-authz config'): ExtAuthzConfig {
  const problems: string[] = [];
  const top = objectAt(raw, '', problems) ?? {};
  known(
    top,
    '',
    ['subject', 'routes', 'environment', 'policy', 'approval_header', 'model_header', 'route_override_header', 'quota_reasons', 'ext_proc'],
    problems,
  );
  const d = DEFAULT_EXT_AUTHZ_CONFIG;
  const s = objectAt(top.subject ?? {}, 'subject', problems) ?? {};
  known(s, 'subject.', ['sources', 'principal_type', 'jwt_namespace', 'jwt_payload_key', 'claims', 'headers'], problems);
  const sources = s.sources === undefined ? d.subject.sources : stringList(s.sources, 'subject.sources', problems);
  for (const x of sources)
    if (!(SUBJECT_SOURCES as readonly string[]).includes(x)) problems.push(`subject.sources: ${x} is not one of ${SUBJECT_SOURCES.join(', ')}`);
  const config: ExtAuthzConfig = {
    subject: {
      sources: sources as SubjectSource[],
      principal_type: text(s.principal_type, 'subject.principal_type', d.subject.principal_type, problems),
      jwt_namespace: text(s.jwt_namespace, 'subject.jwt_namespace', d.subject.jwt_namespace, problems),
      jwt_payload_key: text(s.jwt_payload_key, 'subject.jwt_payload_key', d.subject.jwt_payload_key, problems, true),
      claims: fields(s.claims, 'subject.claims', d.subject.claims, problems, false),
      headers: fields(s.headers, 'subject.headers', d.subject.headers, problems, true),
    },
    routes: top.routes === undefined ? d.routes : routes(top.routes, problems),
    environment: text(top.environment, 'environment', d.environment, problems),
    policy: text(top.policy, 'policy', d.policy, problems, true),
    approval_header: header(top.approval_header, 'approval_header', d.approval_header, problems, false),
    model_header: header(top.model_header, 'model_header', d.model_header, problems, false),
    route_override_header: header(top.route_override_header, 'route_override_header', d.route_override_header, problems, true),
    quota_reasons: top.quota_reasons === undefined ? d.quota_reasons : stringList(top.quota_reasons, 'quota_reasons', problems),
    ext_proc: flag(top.ext_proc, 'ext_proc', d.ext_proc, problems),
  };
  if (problems.length > 0) throw new GavelError('config_invalid', `${source}: ${problems.join('; ')}`);
  return config;
}

function routes(raw: unknown, problems: string[]): RouteConfig[] {
  if (!Array.isArray(raw)) {
    problems.push('routes must be a list');
    return [];
  }
  return raw.map((r, i) => {
    const key = `routes[${i}]`;
    const o = objectAt(r, key, problems) ?? {};
    known(o, `${key}.`, ['method', 'path', 'action', 'tool', 'params'], problems);
    const path = text(o.path, `${key}.path`, '', problems);
    if (!path.startsWith('/')) problems.push(`${key}.path must start with /`);
    const action = text(o.action, `${key}.action`, '', problems);
    if (!(ROUTE_ACTIONS as readonly string[]).includes(action)) problems.push(`${key}.action must be one of ${ROUTE_ACTIONS.join(', ')}`);
    const params = text(o.params, `${key}.params`, action === 'model.invoke' ? 'body' : 'none', problems);
    if (!['body', 'query', 'none'].includes(params)) problems.push(`${key}.params must be body, query or none`);
    const tool = o.tool === undefined ? undefined : text(o.tool, `${key}.tool`, '', problems);
    if (action === 'tool.call' && !tool) problems.push(`${key}.tool is required for tool.call (a name, or {segment} of the path)`);
    const segment = tool && /^\{(\w+)\}$/.exec(tool)?.[1];
    if (segment && !path.split('/').includes(`{${segment}}`)) problems.push(`${key}.tool names {${segment}}, which the path does not have`);
    const method = o.method === undefined ? undefined : text(o.method, `${key}.method`, '', problems).toUpperCase();
    return { ...(method ? { method } : {}), path, action: action as RouteAction, ...(tool ? { tool } : {}), params: params as RouteConfig['params'] };
  });
}

function fields(raw: unknown, key: string, defaults: SubjectFields, problems: string[], headers: boolean): SubjectFields {
  const o = raw === undefined ? {} : (objectAt(raw, key, problems) ?? {});
  known(o, `${key}.`, Object.keys(defaults), problems);
  const out = { ...defaults };
  for (const name of Object.keys(defaults) as Array<keyof SubjectFields>) {
    out[name] = headers
      ? header(o[name], `${key}.${name}`, defaults[name], problems, name !== 'id')
      : text(o[name], `${key}.${name}`, defaults[name], problems, name !== 'id');
  }
  return out;
}

function header(raw: unknown, key: string, fallback: string, problems: string[], emptyOk: boolean): string {
  const value = text(raw, key, fallback, problems, emptyOk).toLowerCase();
  if (value !== '' && !/^[a-z0-9!#$%&'*+.^_`|~-]+$/.test(value)) problems.push(`${key}: ${value} is not an HTTP header name`);
  return value;
}

function text(raw: unknown, key: string, fallback: string, problems: string[], emptyOk = false): string {
  if (raw === undefined) return fallback;
  if (typeof raw !== 'string' || (!emptyOk && raw === '')) {
    problems.push(`${key} must be a ${emptyOk ? '' : 'non-empty '}string`);
    return fallback;
  }
  return raw;
}

function flag(raw: unknown, key: string, fallback: boolean, problems: string[]): boolean {
  if (raw === undefined) return fallback;
  if (typeof raw !== 'boolean') problems.push(`${key} must be true or false`);
  return raw === true;
}

function stringList(raw: unknown, key: string, problems: string[]): string[] {
  if (!Array.isArray(raw) || raw.some((x) => typeof x !== 'string')) {
    problems.push(`${key} must be a list of strings`);
    return [];
  }
  return raw as string[];
}

function objectAt(raw: unknown, key: string, problems: string[]): Record<string, unknown> | undefined {
  if (typeof raw === 'object' && raw !== null && !Array.isArray(raw)) return raw as Record<string, unknown>;
  problems.push(`${key || 'the config'} must be a mapping`);
  return undefined;
}

function known(o: Record<string, unknown>, prefix: string, keys: string[], problems: string[]): void {
  for (const k of Object.keys(o)) if (!keys.includes(k)) problems.push(`${prefix}${k} is not a setting (known: ${keys.join(', ')})`);
}
