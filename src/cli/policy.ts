import type { Command } from 'commander';
import { policyStatus } from '../ledger/policy-status.js';
import { openReadOnly } from './audit.js';
import { printable } from './table.js';
import { DEFAULTS } from './settings.js';

export function registerPolicy(program: Command): void {
  const policy = program.command('policy').description('which policy is live, from the ledger');
  policy
    .command('status')
    .description('bundles live (revision, digest, source, signer, since when) and bundles refused since, from the policy events in the ledger')
    .option('--ledger <file>', 'ledger file (env GAVEL_LEDGER)', DEFAULTS.ledger)
    .option('--json', 'one JSON object instead of text')
    .addHelpText('after', '\nExample:\n  gavel policy status --ledger ./data/ledger.db')
    .action((o: { ledger: string; json?: boolean }) => {
      const db = openReadOnly(o.ledger);
      const status = policyStatus(db);
      db.close();
      if (o.json) {
        process.stdout.write(`${JSON.stringify(status)}\n`);
        return;
      }
      const p = printable;
      if (status.active.length === 0) process.stdout.write('no bundle is live\n');
      for (const b of status.active) {
        process.stdout.write(
          `live  ${p(b.bundle)}  revision ${p(b.revision)}  ${p(b.digest.slice(0, 19))}…  since ${p(b.activatedAt)}  from ${p(b.source)}${b.signer ? `  signed by ${p(b.signer)}` : ''}\n`,
        );
        process.stdout.write(`      entrypoints ${b.entrypoints.map(p).join(', ')}\n`);
      }
      for (const r of status.refusals) process.stdout.write(`refused  ${p(r.bundle)}  at ${p(r.time)}  from ${p(r.source)}: ${p(r.reason)}\n`);
    });
}
