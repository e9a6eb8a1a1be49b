import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { createAuthority, issue, type KeyPair, type LeafOptions, type Validity } from '../../src/lib/dev-certs.js';
import { clients, type Clients } from './client.js';
import { tempDir } from './paths.js';

const DAY = 24 * 60 * 60 * 1000;

/** A throwaway CA with a server certificate and named client certificates, written to a temp folder. */
export interface Pki {
  dir: string;
  caFile: string;
  serverCert: string;
  serverKey: string;
  caPem: Buffer;
  clients: Record<string, KeyPair>;
  /** A fresh server certificate (same names, new key and serial; valid now unless `validity` says otherwise), not written anywhere. */
  newServerPair(validity?: Validity): Promise<KeyPair>;
}

export type ClientSpec = Omit<LeafOptions, 'usage'> & { by?: 'other-ca' };

export async function buildPki(clientSpecs: Record<string, ClientSpec>): Promise<Pki> {
  const dir = tempDir('gavel-pki-');
  const ca = await createAuthority('gavel test CA');
  const other = await createAuthority('some other CA');
  const server = await issue(ca, { cn: 'localhost', dns: ['localhost'], ips: ['127.0.0.1'], usage: ['server'] });
  const files = { caFile: join(dir, 'ca.pem'), serverCert: join(dir, 'server.pem'), serverKey: join(dir, 'server.key') };
  writeFileSync(files.caFile, ca.cert);
  writeFileSync(files.serverCert, server.cert);
  writeFileSync(files.serverKey, server.key);
  const clients: Record<string, KeyPair> = {};
  for (const [name, spec] of Object.entries(clientSpecs)) {
    const { by, ...o } = spec;
    clients[name] = await issue(by === 'other-ca' ? other : ca, { ...o, usage: ['client'] });
  }
  return {
    dir,
    ...files,
    caPem: Buffer.from(ca.cert),
    clients,
    newServerPair: (validity = {}) => issue(ca, { cn: 'localhost', dns: ['localhost'], ips: ['127.0.0.1'], usage: ['server'], ...validity }),
  };
}

/** Validity that ended yesterday. */
export const EXPIRED = { notBefore: new Date(Date.now() - 10 * DAY), notAfter: new Date(Date.now() - DAY) };

/** Validity that starts tomorrow. */
export const NOT_YET_VALID = { notBefore: new Date(Date.now() + DAY), notAfter: new Date(Date.now() + 10 * DAY) };

/** Clients for the three gavel services over TLS, presenting `pair` (or no certificate). */
export function tlsClients(address: string, caPem: Buffer, pair?: KeyPair): Clients {
  const creds = pair ? grpc.credentials.createSsl(caPem, Buffer.from(pair.key), Buffer.from(pair.cert)) : grpc.credentials.createSsl(caPem);
  // The server certificate names localhost and 127.0.0.1; connect by address, check the name.
  return clients(address, creds, { 'grpc.ssl_target_name_override': 'localhost', 'grpc.default_authority': 'localhost' });
}
