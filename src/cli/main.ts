import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { errorMessage } from '../lib/errors.js';
import { registerApprovals } from './approvals.js';
import { registerAudit } from './audit.js';
import { registerCerts } from './certs.js';
import { registerConfig } from './config.js';
import { registerConsole } from './console.js';
import { registerPolicy } from './policy.js';
import { registerEval } from './eval.js';
import { registerReplay } from './replay.js';
import { EXIT } from './exit.js';
import { registerServe } from './serve.js';
import { registerShadow } from './shadow.js';
import { registerUsage } from './usage.js';
import { registerWitness } from './witness.js';

/** The package's version: package.json sits two levels up from src/cli/ and from dist/cli/ alike. */
const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };

const program = new Command('gavel')
  .description('Policy decision point for AI usage: decide, record, audit.')
  .version(version)
  .enablePositionalOptions()
  .exitOverride()
  .configureOutput({ writeErr: (s) => process.stderr.write(s) })
  .addHelpText(
    'after',
    `
Examples:
  gavel serve --listen 127.0.0.1:50051 --bundles ./bundles --ledger ./data/ledger.db
  gavel serve --config gavel.yaml
  gavel config check gavel.yaml
  gavel eval --policy gavel/ai/decision --input request.json
  gavel audit verify --ledger ./data/ledger.db
  gavel replay --ledger ./data/ledger.db --bundle candidate.tar.gz --since 7d
  gavel audit query --subject alice --decision deny --since 24h
  gavel audit prove --decision ID > proof.json && gavel audit verify-proof proof.json --pubkey KEY
  gavel witness serve --name witness.example.org/w1 --log-key KEY
  gavel certs dev --out ./dev-certs
  gavel policy status --ledger ./data/ledger.db
  gavel shadow report --ledger ./data/ledger.db --since 24h
  gavel approvals list --state pending --approver-role finance-manager
  gavel usage migrate --usage-store postgres://gavel:secret@db:5432/gavel
  gavel console login --identity alice@corp.example --url http://127.0.0.1:9480`,
  );

registerServe(program);
registerEval(program);
registerReplay(program);
registerAudit(program);
registerCerts(program);
registerWitness(program);
registerConfig(program);
registerPolicy(program);
registerShadow(program);
registerApprovals(program);
registerUsage(program);
registerConsole(program);

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) process.exit(err.exitCode === 0 ? EXIT.ok : EXIT.usage);
  process.stderr.write(`gavel: ${errorMessage(err)}\n`);
  process.exit(EXIT.error);
}
