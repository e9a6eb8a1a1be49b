import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Witness } from './witness.js';

/** A request body past this is refused (a checkpoint note and 63 proof lines fit in a few KB). */
const MAX_BODY_BYTES = 64 * 1024;

/**
 * The witness over HTTP, as C2SP tlog-witness names it: `POST /add-checkpoint`. `GET /` answers
 * the witness's verifier key, so a log operator can check what to pin.
 */
export function startWitnessHttp(witness: Witness, verifierKey: string, host: string, port: number): Promise<{ server: Server; address: string }> {
  const server = createServer((req, res) => {
    const send = (status: number, body: string, contentType = 'text/plain; charset=utf-8') => {
      res.writeHead(status, { 'content-type': contentType, 'content-length': Buffer.byteLength(body) });
      res.end(body);
    };
    if (req.method === 'GET' && req.url === '/') return send(200, `${verifierKey}\n`);
    if (req.url !== '/add-checkpoint') return send(404, 'not found\n');
    if (req.method !== 'POST') return send(405, 'POST only\n');
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        send(400, 'request too large\n');
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (res.headersSent) return;
      try {
        const answer = witness.addCheckpoint(Buffer.concat(chunks).toString('utf8'));
        send(answer.status, answer.body, answer.contentType);
      } catch {
        send(500, 'internal error\n');
      }
    });
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      const a = server.address() as AddressInfo;
      resolve({ server, address: `${a.address}:${a.port}` });
    });
  });
}
