import { Agent, request } from 'node:http';

/**
 * POSTs JSON over keep-alive HTTP/1.1 with at most `sockets` connections, one
 * per in-flight call at the benchmark's concurrency, so no call waits for a
 * socket and none pays a TCP handshake after warmup.
 */
export function jsonPoster(port: number, path: string, sockets: number): { post(body: Buffer): Promise<unknown>; close(): void } {
  const agent = new Agent({ keepAlive: true, maxSockets: sockets });
  return {
    post: (body) =>
      new Promise((resolve, reject) => {
        const req = request(
          { host: '127.0.0.1', port, path, method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': body.length } },
          (res) => {
            const chunks: Buffer[] = [];
            res.on('data', (c: Buffer) => chunks.push(c));
            res.on('end', () => {
              const text = Buffer.concat(chunks).toString('utf8');
              if (res.statusCode !== 200) reject(new Error(`HTTP ${String(res.statusCode)}: ${text.slice(0, 200)}`));
              else resolve(JSON.parse(text) as unknown);
            });
            res.on('error', reject);
          },
        );
        req.setTimeout(30_000, () => req.destroy(new Error('timeout')));
        req.on('error', reject);
        req.end(body);
      }),
    close: () => agent.destroy(),
  };
}
