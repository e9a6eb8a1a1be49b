import { chmodSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { intOption } from './options.js';

interface CertsDevOptions {
  out: string;
  trustDomain: string;
  days: number;
  force?: boolean;
}

const FILES = ['ca.pem', 'server.pem', 'server.key', 'gateway.pem', 'gateway.key', 'auditor.pem', 'auditor.key', 'access.yaml'];

export function registerCerts(program: Command): void {
  const certs = program.command('certs').description('certificates for mutual TLS');
  certs
    .command('dev')
    .description('create a development CA and server, gateway and auditor certificates, with an access file granting their roles')
    .requiredOption('--out <dir>', 'folder to write them to (created if missing)')
    .option('--trust-domain <name>', 'SPIFFE trust domain of the client identities', 'gavel.dev')
    .option('--days <n>', 'validity in days', intOption, 30)
    .option('--force', 'overwrite files already there')
    .addHelpText(
      'after',
      '\nExample:\n  gavel certs dev --out ./dev-certs\n  gavel serve --tls-cert dev-certs/server.pem --tls-key dev-certs/server.key --client-ca dev-certs/ca.pem --access dev-certs/access.yaml',
    )
    .action(certsDev);
}

async function certsDev(o: CertsDevOptions, command: Command): Promise<void> {
  const present = FILES.filter((f) => existsSync(join(o.out, f)));
  if (present.length > 0 && !o.force) command.error(`error: ${o.out} already has ${present.join(', ')}; pass --force to overwrite`, { exitCode: 2 });
  mkdirSync(o.out, { recursive: true });
  // Loaded here, not with the CLI: every other command (serve among them) starts without the X.509 library.
  const { createAuthority, issue } = await import('../lib/dev-certs.js');
  const ca = await createAuthority('gavel development CA', { days: o.days });
  const gateway = `spiffe://${o.trustDomain}/gateway/dev`;
  const auditor = `spiffe://${o.trustDomain}/auditor/dev`;
  const server = await issue(ca, { cn: 'localhost', dns: ['localhost'], ips: ['127.0.0.1', '::1'], usage: ['server'], days: o.days });
  const gw = await issue(ca, { cn: 'gateway', uris: [gateway], usage: ['client'], days: o.days });
  const au = await issue(ca, { cn: 'auditor', uris: [auditor], usage: ['client'], days: o.days });
  const write = (name: string, text: string, secret = false) => {
    writeFileSync(join(o.out, name), text, { mode: secret ? 0o600 : 0o644 });
    if (secret) chmodSync(join(o.out, name), 0o600);
  };
  // The CA's key is not written: nothing more can be issued under this CA, so a leaked folder is only these three.
  write('ca.pem', ca.cert);
  write('server.pem', server.cert);
  write('server.key', server.key, true);
  write('gateway.pem', gw.cert);
  write('gateway.key', gw.key, true);
  write('auditor.pem', au.cert);
  write('auditor.key', au.key, true);
  write(
    'access.yaml',
    `# Roles per client-certificate identity (gavel serve --access).
identities:
  - match: "spiffe://${o.trustDomain}/gateway/*"
    roles: [decide, report]
  - match: "spiffe://${o.trustDomain}/auditor/*"
    roles: [audit, audit-payloads]
`,
  );
  process.stdout.write(
    `wrote ${FILES.join(', ')} to ${o.out} (valid ${o.days} days; for development only)\n` +
      `  server:  localhost, 127.0.0.1, ::1\n  gateway: ${gateway} (decide, report)\n  auditor: ${auditor} (audit, audit-payloads)\n`,
  );
}
