import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import { extAuthzConfig } from '../../src/transport/envoy/ext-authz-config.js';
import { envoyServices } from '../../src/transport/envoy/protos.js';
import { clients, unary, unaryError } from '../helpers/client.js';
import { BUNDLES, GAVEL_BIN, tempDir } from '../helpers/paths.js';
import { type InProcessServer, startInProcess } from '../helpers/server.js';

/** Where Check is served: the main listener by default, a listener of its own, or nowhere. */
const servers: InProcessServer[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await s.stop();
});

async function serve(extra: Parameters<typeof startInProcess>[1]): Promise<InProcessServer> {
  const s = await startInProcess({ bundles: BUNDLES, ledger: join(tempDir(), 'l.db') }, extra);
  servers.push(s);
  return s;
}

const checkRequest = {
  attributes: {
    request: {
      http: {
        method: 'POST',
        path: '/v1/chat/completions',
        headers: {
          'x-request-id': 'r-listener',
          'x-gavel-subject': 'alice',
          'x-gavel-roles': 'employee',
          'x-gavel-team': 'platform',
          'x-gavel-cost-center': 'cc-100',
        },
        body: JSON.stringify({ model: 'standard-m', max_tokens: 16, messages: [{ role: 'user', content: 'hi' }] }),
      },
    },
  },
};

function authorization(address: string): grpc.Client {
  const { Authorization } = envoyServices();
  return new Authorization(address, grpc.credentials.createInsecure());
}

describe('the ext_authz listener', () => {
  it('serves Check on the main listener by default, and also alone on --ext-authz-listen', async () => {
    const s = await serve({ extAuthz: extAuthzConfig({ subject: { sources: ['headers'] } }), extAuthzListen: '127.0.0.1:0' });
    expect(s.server.extAuthzPort).toBeGreaterThan(0);
    for (const [i, address] of [s.address, `127.0.0.1:${s.server.extAuthzPort}`].entries()) {
      const client = authorization(address);
      // Each Check its own x-request-id: one request id is one decision (idempotent Decide).
      const request = structuredClone(checkRequest);
      request.attributes.request.http.headers['x-request-id'] = `r-listener-${i}`;
      const res = await unary(client, 'Check', request);
      client.close();
      expect(res.status.code).toBe(0);
      expect(res.http_response).toBe('ok_response');
    }
    const recorded = [...s.core.audit.query({ kind: 'decision', order: 'asc', limit: 10 })];
    expect(recorded.map((e) => [e.requestId, e.subjectId, e.decision])).toEqual([
      ['r-listener-0', 'alice', 'allow'],
      ['r-listener-1', 'alice', 'allow'],
    ]);
    // Envoy's listener serves nothing of gavel's own API.
    const own = clients(`127.0.0.1:${s.server.extAuthzPort}`);
    expect((await unaryError(own.decision, 'Decide', { input_json: Buffer.from('{}') })).code).toBe(grpc.status.UNIMPLEMENTED);
    own.close();
  });

  it('--no-ext-authz: Check is not served', async () => {
    const s = await serve({ extAuthz: false });
    const client = authorization(s.address);
    expect((await unaryError(client, 'Check', checkRequest)).code).toBe(grpc.status.UNIMPLEMENTED);
    client.close();
    expect(s.server.extAuthzPort).toBeUndefined();
  });

  it('gavel serve refuses a bad --ext-authz-config before anything starts (exit 2, every problem named)', () => {
    const dir = tempDir();
    const file = join(dir, 'ext-authz.yaml');
    writeFileSync(file, 'routes:\n  - { path: nope, action: model.call }\next_proc: yes please\n');
    const run = spawnSync(process.execPath, [GAVEL_BIN, 'serve', '--listen', '127.0.0.1:0', '--ledger', join(dir, 'l.db'), '--ext-authz-config', file], {
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(run.status).toBe(2);
    expect(run.stderr).toContain(
      `--ext-authz-config ${file}: routes[0].path must start with /; routes[0].action must be one of model.invoke, tool.call, data.export; ext_proc must be true or false`,
    );
  });
});
