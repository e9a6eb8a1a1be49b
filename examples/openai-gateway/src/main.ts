import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { createClient, type FailMode, type FallbackPolicy } from '@gavel-pdp/client';
import type { Caller } from './chat.js';
import { startGateway } from './gateway.js';

const { values } = parseArgs({
  options: {
    listen: { type: 'string', default: '127.0.0.1:8080' },
    gavel: { type: 'string', default: '127.0.0.1:50051' },
    upstream: { type: 'string' },
    keys: { type: 'string' },
    'fail-mode': { type: 'string' },
    outbox: { type: 'string', default: 'gateway-outbox.jsonl' },
    'bundle-url': { type: 'string' },
    'bundle-key': { type: 'string' },
  },
});
const failMode = values['fail-mode'];
if (!values.upstream || !values.keys || (failMode !== undefined && !['closed', 'open', 'fallback'].includes(failMode))) {
  process.stderr.write(
    'usage: gavel-openai-gateway --upstream https://api.openai.com --keys keys.json [--listen 127.0.0.1:8080] [--gavel 127.0.0.1:50051]\n' +
      '         [--fail-mode closed|open|fallback --outbox gateway-outbox.jsonl [--bundle-url URL --bundle-key rsa.pub]]\n' +
      '  keys.json: {"<caller API key>": {"id": "alice", "type": "user", "roles": ["employee"], "team": "platform", "cost_center": "cc-100"}}\n' +
      '  --fail-mode: what to answer when gavel cannot be asked (default: 503); fallback evaluates the bundle gavel serves\n' +
      '    (--bundle-url, signed with --bundle-key) in this process: it needs the server package, @gavel-pdp/gavel\n' +
      '  UPSTREAM_API_KEY: the upstream key (never shown to callers)\n',
  );
  process.exit(2);
}
const keys = JSON.parse(readFileSync(values.keys, 'utf8')) as Record<string, Caller>;
const at = values.listen.lastIndexOf(':');
const fallback = failMode === 'fallback' ? await openFallback(values['bundle-url'], values['bundle-key']) : undefined;
const gavel = createClient({
  target: values.gavel,
  tls: 'insecure',
  caller: 'openai-gateway',
  ...(failMode ? { routes: { chat: { failMode: failMode as FailMode } }, outbox: { path: values.outbox } } : {}),
  ...(fallback ? { fallback } : {}),
});

/** The local copy of gavel's signed bundle (the server package's openFallbackPolicy), for --fail-mode fallback. */
async function openFallback(url: string | undefined, key: string | undefined): Promise<FallbackPolicy> {
  if (!url || !key) {
    process.stderr.write('gavel-openai-gateway: --fail-mode fallback needs --bundle-url and --bundle-key\n');
    process.exit(2);
  }
  const server = '@gavel-pdp/gavel';
  const gavelServer = (await import(server).catch(() => {
    process.stderr.write('gavel-openai-gateway: --fail-mode fallback needs the server package: npm install @gavel-pdp/gavel\n');
    process.exit(2);
  })) as { openFallbackPolicy(o: { urls: string[]; keys: Array<{ file: string }> }): Promise<FallbackPolicy> };
  return gavelServer.openFallbackPolicy({ urls: [url], keys: [{ file: key }] });
}
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
