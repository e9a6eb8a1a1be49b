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

/** The client identities written, each under spiffe://<trust domain>/<name>/dev, with the roles access.yaml grants it. */
const CLIENTS = [
  { name: 'gateway', roles: ['decide', 'report'], doc: 'an enforcement point' },
  { name: 'auditor', roles: ['audit', 'audit-payloads'], doc: 'reads the audit trail' },
  { name: 'approver', roles: ['approve', 'approve-on-behalf'], doc: 'an approval front end (gavel approvals --as PERSON)' },
  { name: 'admin', roles: ['admin', 'audit'], doc: 'an operator: ListBundles, Replay' },
] as const;

/** Approver roles of the people the README's examples name (a policy's role:finance-manager means what this says). */
const PEOPLE = `# Approver roles of people, named by a front end (approve-on-behalf) or signed in to the console.
people:
  - match: "mia"
    roles: [finance-manager]
  - match: "noah"
    roles: [finance-manager]
  - match: "tara"
    roles: [team-lead]
`;

const FILES = ['ca.pem', 'server.pem', 'server.key', ...CLIENTS.flatMap((c) => [`${c.name}.pem`, `${c.name}.key`]), 'access.yaml'];

export function registerCerts(program: Command): void {
  const certs = program.command('certs').description('certificates for mutual TLS');
  certs
    .command('dev')
    .description('create a development CA and server, gateway, auditor, approver and admin certificates, with an access file granting their roles')
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
  const server = await issue(ca, { cn: 'localhost', dns: ['localhost'], ips: ['127.0.0.1', '::1'], usage: ['server'], days: o.days });
  const write = (name: string, text: string, secret = false) => {
    writeFileSync(join(o.out, name), text, { mode: secret ? 0o600 : 0o644 });
    if (secret) chmodSync(join(o.out, name), 0o600);
  };
  // The CA's key is not written: nothing more can be issued under this CA, so a leaked folder is only these certificates.
  write('ca.pem', ca.cert);
  write('server.pem', server.cert);
  write('server.key', server.key, true);
  const id = (name: string) => `spiffe://${o.trustDomain}/${name}/dev`;
  for (const c of CLIENTS) {
    const pair = await issue(ca, { cn: c.name, uris: [id(c.name)], usage: ['client'], days: o.days });
    write(`${c.name}.pem`, pair.cert);
    write(`${c.name}.key`, pair.key, true);
  }
  // Under mutual TLS without an access file a certificate holds "decide" only: every other role is granted here.
  const rules = CLIENTS.map((c) => `  - match: "spiffe://${o.trustDomain}/${c.name}/*"   # ${c.doc}\n    roles: [${c.roles.join(', ')}]\n`);
  write('access.yaml', `# Roles per client-certificate identity (gavel serve --access).\nidentities:\n${rules.join('')}${PEOPLE}`);
  process.stdout.write(
    `wrote ${FILES.join(', ')} to ${o.out} (valid ${o.days} days; for development only)\n` +
      `  server:   localhost, 127.0.0.1, ::1\n` +
      CLIENTS.map((c) => `  ${`${c.name}:`.padEnd(9)} ${id(c.name)} (${c.roles.join(', ')})\n`).join(''),
  );
}
