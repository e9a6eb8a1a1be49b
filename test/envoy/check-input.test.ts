import { describe, expect, it } from 'vitest';
import { type CheckRequestMessage, checkInput, matchRoute } from '../../src/transport/envoy/check-input.js';
import { DEFAULT_EXT_AUTHZ_CONFIG, extAuthzConfig, parseExtAuthzConfig } from '../../src/transport/envoy/ext-authz-config.js';

/**
 * The CheckRequest → input mapping on requests shaped as Envoy sends them (attribute_context with
 * `with_request_body`, jwt_authn's metadata, mTLS principals), proto-loader's decoded form.
 */
const LIMITS = { maxInputBytes: 1024 * 1024, maxDepth: 64 };
const chatBody = JSON.stringify({
  model: 'standard-m',
  max_completion_tokens: 256,
  messages: [
    { role: 'system', content: 'be brief' },
    { role: 'user', content: 'Summarise this' },
  ],
});

function check(
  over: {
    method?: string;
    path?: string;
    headers?: Record<string, string>;
    body?: string;
    size?: number;
    principal?: string;
    jwt?: unknown;
    ext?: Record<string, string>;
  } = {},
): CheckRequestMessage {
  const body = over.body ?? chatBody;
  return {
    attributes: {
      source: { principal: over.principal ?? '' },
      request: {
        http: {
          id: '3177345136389089146',
          method: over.method ?? 'POST',
          path: over.path ?? '/v1/chat/completions',
          host: 'ai.internal',
          headers: { ':method': over.method ?? 'POST', 'content-type': 'application/json', 'x-request-id': 'envoy-req-1', ...over.headers },
          size: over.size ?? Buffer.byteLength(body),
          body,
          raw_body: Buffer.alloc(0),
          query: '',
        },
      },
      context_extensions: over.ext ?? {},
      metadata_context: over.jwt ? { filter_metadata: { 'envoy.filters.http.jwt_authn': over.jwt } } : { filter_metadata: {} },
    },
  };
}

/** google.protobuf.Struct as proto-loader decodes jwt_authn's payload_in_metadata. */
const jwtStruct = (claims: Record<string, string | string[]>) => ({
  fields: {
    jwt_payload: {
      kind: 'struct_value',
      struct_value: {
        fields: Object.fromEntries(
          Object.entries(claims).map(([k, v]) => [
            k,
            Array.isArray(v)
              ? { kind: 'list_value', list_value: { values: v.map((x) => ({ kind: 'string_value', string_value: x })) } }
              : { kind: 'string_value', string_value: v },
          ]),
        ),
      },
    },
  },
});

describe('CheckRequest → input', () => {
  it('an OpenAI chat call: the model, the token limit and the messages; Envoy request id and context extensions carried', () => {
    const m = checkInput(check({ principal: 'spiffe://corp/ns/ai/sa/agent-7', ext: { tenant: 'acme' } }), DEFAULT_EXT_AUTHZ_CONFIG, LIMITS);
    expect(m.requestId).toBe('envoy-req-1');
    expect(m.refusal).toBeUndefined();
    expect(m.input).toEqual({
      subject: { id: 'spiffe://corp/ns/ai/sa/agent-7', type: 'service' },
      action: { type: 'model.invoke', model: 'standard-m', params: { max_tokens: 256 } },
      content: { messages: JSON.parse(chatBody).messages },
      context: {
        environment: 'prod',
        envoy: { request_id: 'envoy-req-1', method: 'POST', path: '/v1/chat/completions', host: 'ai.internal', context_extensions: { tenant: 'acme' } },
      },
    });
  });

  it('an Anthropic messages call: system and messages as content, max_tokens', () => {
    const body = JSON.stringify({ model: 'economy-s', max_tokens: 64, system: 'terse', messages: [{ role: 'user', content: [{ type: 'text', text: 'hi' }] }] });
    const m = checkInput(check({ path: '/v1/messages', body }), DEFAULT_EXT_AUTHZ_CONFIG, LIMITS);
    expect(m.input.action).toEqual({ type: 'model.invoke', model: 'economy-s', params: { max_tokens: 64 } });
    expect(m.input.content).toEqual({ system: 'terse', messages: [{ role: 'user', content: [{ type: 'text', text: 'hi' }] }] });
  });

  it('the subject from jwt_authn claims when there is no principal; from headers only when the operator lists them', () => {
    const jwt = jwtStruct({ sub: 'alice', roles: ['employee', 'ml-engineer'], team: 'platform', cost_center: 'cc-100' });
    const headers = { 'x-gavel-subject': 'mallory', 'x-gavel-roles': 'admin' };
    expect(checkInput(check({ jwt, headers }), DEFAULT_EXT_AUTHZ_CONFIG, LIMITS).input.subject).toEqual({
      id: 'alice',
      type: 'user',
      roles: ['employee', 'ml-engineer'],
      team: 'platform',
      cost_center: 'cc-100',
    });
    // Not listed by default: a caller's own headers never name the subject.
    expect(checkInput(check({ headers }), DEFAULT_EXT_AUTHZ_CONFIG, LIMITS).input.subject).toBeUndefined();
    const byHeaders = extAuthzConfig({ subject: { sources: ['headers'] } });
    expect(checkInput(check({ headers: { ...headers, 'x-gavel-team': 'ops' } }), byHeaders, LIMITS).input.subject).toEqual({
      id: 'mallory',
      type: 'user',
      roles: ['admin'],
      team: 'ops',
    });
    // The principal wins over claims in the default order.
    expect(checkInput(check({ jwt, principal: 'spiffe://corp/sa/x' }), DEFAULT_EXT_AUTHZ_CONFIG, LIMITS).input.subject).toMatchObject({
      id: 'spiffe://corp/sa/x',
    });
  });

  it('a truncated body is refused (content_truncated), never decided on its prefix, and no part of it is in the input', () => {
    const partial = chatBody.slice(0, 40);
    for (const m of [
      checkInput(check({ body: partial, size: Buffer.byteLength(chatBody) }), DEFAULT_EXT_AUTHZ_CONFIG, LIMITS),
      checkInput(check({ body: partial, size: 0, headers: { 'x-envoy-auth-partial-body': 'true' } }), DEFAULT_EXT_AUTHZ_CONFIG, LIMITS),
    ]) {
      expect(m.refusal).toMatchObject({ code: 'content_truncated' });
      expect(m.input.content).toBeUndefined();
      expect(m.input.action).toEqual({ type: 'model.invoke', params: {} });
    }
  });

  it('a body that is not one JSON object with unique keys is refused (body_unreadable): gavel and the upstream must read the same model', () => {
    for (const body of ['{"model":"standard-m","model":"frontier-xl","messages":[]}', 'not json', '[1,2]']) {
      const m = checkInput(check({ body }), DEFAULT_EXT_AUTHZ_CONFIG, LIMITS);
      expect([body, m.refusal?.code]).toEqual([body, 'body_unreadable']);
      expect(m.input.action).toEqual({ type: 'model.invoke', params: {} });
    }
    // A route that does not read the body decides without it.
    expect(checkInput(check({ method: 'GET', path: '/health', body: 'x' }), DEFAULT_EXT_AUTHZ_CONFIG, LIMITS).refusal).toBeUndefined();
  });

  it('routes: tool calls with the tool from the path and params from the body, exports with params from the query; unmapped requests as http.request', () => {
    const config = extAuthzConfig({
      routes: [
        { method: 'POST', path: '/tools/{tool}/invoke', action: 'tool.call', tool: '{tool}', params: 'body' },
        { method: 'GET', path: '/exports/*', action: 'data.export', params: 'query' },
      ],
    });
    const tool = checkInput(check({ path: '/tools/payments.transfer/invoke', body: '{"amount":2500}' }), config, LIMITS);
    expect(tool.input.action).toEqual({ type: 'tool.call', tool: 'payments.transfer', params: { amount: 2500 } });
    expect(tool.input.content).toBeUndefined();
    const exp = checkInput(check({ method: 'GET', path: '/exports/customers?category=customer_pii&framework=hipaa', body: '' }), config, LIMITS);
    expect(exp.input.action).toEqual({ type: 'data.export', params: { category: 'customer_pii', framework: 'hipaa' } });
    const other = checkInput(check({ method: 'DELETE', path: '/v1/files/f-1' }), config, LIMITS);
    expect(other.input.action).toEqual({ type: 'http.request', params: { method: 'DELETE', path: '/v1/files/f-1' } });
  });

  it('an approved retry names its approval by header', () => {
    expect(checkInput(check({ headers: { 'x-gavel-approval-id': 'ap-1' } }), DEFAULT_EXT_AUTHZ_CONFIG, LIMITS).input.context).toMatchObject({
      approval_id: 'ap-1',
    });
  });

  it('matchRoute: methods, {segments} (non-empty, decoded), trailing /*, first match wins', () => {
    const routes = extAuthzConfig({
      routes: [
        { path: '/a/{x}', action: 'data.export' },
        { method: 'POST', path: '/a/*', action: 'tool.call', tool: 'fixed' },
      ],
    }).routes;
    expect(matchRoute(routes, 'GET', '/a/b%20c')).toMatchObject({ segments: { x: 'b c' }, route: { action: 'data.export' } });
    expect(matchRoute(routes, 'POST', '/a/b/c')).toMatchObject({ route: { action: 'tool.call' } });
    expect(matchRoute(routes, 'GET', '/a/b/c')).toBeUndefined();
    expect(matchRoute(routes, 'GET', '/a/')).toBeUndefined();
  });
});

describe('--ext-authz-config', () => {
  it('fills defaults, and refuses a bad file all or nothing, naming every problem', () => {
    expect(parseExtAuthzConfig('')).toEqual(DEFAULT_EXT_AUTHZ_CONFIG);
    expect(parseExtAuthzConfig('route_override_header: X-Model-Route\n').route_override_header).toBe('x-model-route');
    const bad = () =>
      parseExtAuthzConfig(
        [
          'subject:',
          '  sources: [principal, cookies]',
          'routes:',
          '  - { path: tools, action: tool.run }',
          '  - { path: "/t/{name}", action: tool.call, tool: "{other}" }',
          'model_header: "bad header"',
          'colour: blue',
        ].join('\n'),
        'envoy.yaml',
      );
    expect(bad).toThrow(/^envoy\.yaml: /);
    try {
      bad();
    } catch (err) {
      const message = (err as Error).message;
      expect((err as { code: string }).code).toBe('config_invalid');
      for (const problem of [
        'subject.sources: cookies is not one of principal, jwt, headers',
        'routes[0].path must start with /',
        'routes[0].action must be one of model.invoke, tool.call, data.export',
        'routes[1].tool names {other}, which the path does not have',
        'model_header: bad header is not an HTTP header name',
        'colour is not a setting',
      ])
        expect(message).toContain(problem);
    }
    expect(() => parseExtAuthzConfig('a: [')).toThrow(/not YAML/);
    expect(() => parseExtAuthzConfig('policy: 1\npolicy: 2')).toThrow(/not YAML/);
  });
});
