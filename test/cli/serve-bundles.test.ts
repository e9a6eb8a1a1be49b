import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { FIXTURE_BUNDLES, tempDir } from '../helpers/paths.js';
import { failedStart, runCli, servingLine, startChild } from '../helpers/server.js';

/** `gavel serve --bundle-url` against a local bundle server: start, restart while it is down, cache. */
it('serves a URL bundle; restarted while the bundle server is down it fails closed (exit 3) unless --bundle-cache holds a verified copy', async () => {
  const body = readFileSync(join(FIXTURE_BUNDLES, 'fixtures.tar.gz'));
  let up = true;
  const http = createServer((_req, res) => (up ? res.writeHead(200, { etag: '"v1"' }).end(body) : res.writeHead(503).end()));
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', () => r()));
  const url = `http://127.0.0.1:${(http.address() as { port: number }).port}/fx.tar.gz`;
  const empty = tempDir('gavel-empty-');
  const cache = tempDir('gavel-cache-');
  const args = (ledger: string, ...extra: string[]) => ['--bundles', empty, '--ledger', ledger, '--bundle-url', url, ...extra];
  try {
    const first = await startChild(args(join(tempDir(), 'a.db'), '--bundle-cache', cache));
    expect(servingLine<{ bundles: Array<{ name: string }> }>(first).bundles.map((b) => b.name)).toEqual(['fx']);
    first.child.kill('SIGTERM');
    const code = await first.exited;
    expect(code, `exit ${code} signal ${first.child.signalCode}; stdout: ${first.lines.join('\n')}`).toBe(0);

    up = false;
    const down = await runCli(['serve', ...args(join(tempDir(), 'b.db'))]);
    expect(down.code).toBe(3);
    expect(down.stderr).toContain('HTTP 503');

    const cached = await startChild(args(join(tempDir(), 'c.db'), '--bundle-cache', cache));
    try {
      expect(cached.lines.some((l) => l.includes('serving the cached verified copy'))).toBe(true);
      expect(servingLine<{ bundles: Array<{ name: string }> }>(cached).bundles.map((b) => b.name)).toEqual(['fx']);
    } finally {
      cached.child.kill('SIGTERM');
      await cached.exited;
    }
  } finally {
    http.close();
  }
});

it('a bundle URL that is not http(s), from the flag or GAVEL_BUNDLE_URLS, is a usage error; an unreadable token file is named', async () => {
  const base = ['serve', '--bundles', FIXTURE_BUNDLES, '--ledger', join(tempDir(), 'l.db')];
  for (const url of ['notaurl', 'file:///etc/passwd']) {
    const r = await runCli([...base, '--bundle-url', url]);
    expect(r.code, url).toBe(2);
    expect(r.stderr).toContain('must be an http:// or https:// URL');
  }
  const env = await failedStart(['--bundles', FIXTURE_BUNDLES, '--ledger', join(tempDir(), 'l.db')], { GAVEL_BUNDLE_URLS: 'ftp://bundles.example/ai.tar.gz' });
  expect(env).toContain('exited with 2');
  expect(env).toContain('GAVEL_BUNDLE_URLS');
  const token = await runCli([...base, '--bundle-url', 'http://127.0.0.1:1/ai.tar.gz', '--bundle-token-file', '/nonexistent/token']);
  expect(token.code).toBe(3);
  expect(token.stderr).toContain('--bundle-token-file /nonexistent/token cannot be read');
});
