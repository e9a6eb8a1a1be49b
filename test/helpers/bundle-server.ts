import { createHash } from 'node:crypto';
import { createServer } from 'node:http';

/** A bundle server on 127.0.0.1 serving one bundle with an ETag (304 when unchanged), as OPA's bundle plugin expects. */
export interface BundleServer {
  url: string;
  /** What is served from now on. */
  serve(body: Buffer): void;
  /** Requests answered with the bundle (200), not counting 304s. */
  readonly downloads: number;
  stop(): Promise<void>;
}

export async function startBundleServer(body: Buffer): Promise<BundleServer> {
  let current = body;
  let downloads = 0;
  const etag = () => `"${createHash('sha256').update(current).digest('hex').slice(0, 16)}"`;
  const server = createServer((req, res) => {
    if (req.headers['if-none-match'] === etag()) return void res.writeHead(304).end();
    downloads++;
    res.writeHead(200, { 'content-type': 'application/gzip', etag: etag() }).end(current);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}/bundles/ai.tar.gz`,
    serve: (next) => {
      current = next;
    },
    get downloads() {
      return downloads;
    },
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
