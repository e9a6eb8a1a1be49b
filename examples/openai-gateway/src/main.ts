import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { createClient } from '@gavel-pdp/client';
import type { Caller } from './chat.js';
import { startGateway } from './gateway.js';

const { values } = parseArgs({
  options: {
    listen: { type: 'string', default: '127.0.0.1:8080' },
    gavel: { type: 'string', default: '127.0.0.1:50051' },
    upstream: { type: 'string' },
    keys: { type: 'string' },
  },
});
if (!values.upstream || !values.keys) {
  process.stderr.write(
    'usage: gavel-openai-gateway --upstream https://api.openai.com --keys keys.json [--listen 127.0.0.1:8080] [--gavel 127.0.0.1:50051]\n' +
      '  keys.json: {"<caller API key>": {"id": "alice", "type": "user", "roles": ["employee"], "team": "platform", "cost_center": "cc-100"}}\n' +
      '  UPSTREAM_API_KEY: the upstream key (never shown to callers)\n',
  );
  process.exit(2);
}
const keys = JSON.parse(readFileSync(values.keys, 'utf8')) as Record<string, Caller>;
const at = values.listen.lastIndexOf(':');
const gavel = createClient({ target: values.gavel, tls: 'insecure', caller: 'openai-gateway' });
const gateway = await startGateway(
  {
    gavel,
    upstream: values.upstream,
    ...(process.env.UPSTREAM_API_KEY ? { upstreamKey: process.env.UPSTREAM_API_KEY } : {}),
    keys,
    onError: (what, err) => process.stderr.write(`gateway: ${what} failed: ${err instanceof Error ? err.message : String(err)}\n`),
  },
  { host: values.listen.slice(0, at), port: Number(values.listen.slice(at + 1)) },
);
process.stdout.write(`gavel-openai-gateway on http://${values.listen.slice(0, at)}:${gateway.port}/v1, asking gavel at ${values.gavel}\n`);
const stop = async () => {
  await gateway.close();
  await gavel.close();
  process.exit(0);
};
process.on('SIGINT', () => void stop());
process.on('SIGTERM', () => void stop());
