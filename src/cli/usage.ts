import type { Command } from 'commander';
import { errorMessage } from '../lib/errors.js';
import { isPostgresUrl, redactUrl } from '../usage/postgres/config.js';
import type { MigrationResult } from '../usage/postgres/schema.js';
import { EXIT } from './exit.js';
import { intOption } from './options.js';

export function registerUsage(program: Command): void {
  const usage = program.command('usage').description('the shared usage store (PostgreSQL) that replicas meter budgets in');
  usage
    .command('migrate')
    .description(
      "create or upgrade the usage store's schema ahead of a rollout (every replica also does so at start), and create again any of its tables or indexes that were dropped; running it twice changes nothing",
    )
    .option('--state-store <url>', 'postgres://USER:PASS@HOST:PORT/DB (env GAVEL_STATE_STORE)', process.env.GAVEL_STATE_STORE)
    .option('--usage-store <url>', 'the former name of --state-store (env GAVEL_USAGE_STORE)', process.env.GAVEL_USAGE_STORE)
    .option('--timeout <ms>', 'connection deadline', intOption, 5000)
    .option('--json', 'one JSON object instead of text')
    .addHelpText('after', '\nExample:\n  gavel usage migrate --state-store postgres://gavel:secret@db.internal:5432/gavel?sslmode=verify-full')
    .action(async (given: { stateStore?: string; usageStore?: string; timeout: number; json?: boolean }, command: Command) => {
      const o = { ...given, usageStore: given.stateStore ?? given.usageStore };
      if (!o.usageStore || !isPostgresUrl(o.usageStore)) {
        command.error('error: --state-store (or GAVEL_STATE_STORE; formerly --usage-store) must be a postgres:// URL', { exitCode: EXIT.usage });
      }
      const where = redactUrl(o.usageStore!);
      try {
        // Loaded for this command alone: every gavel command, serve included, loads this file.
        const { migrateDatabase } = await import('../usage/postgres/schema.js');
        const r = await migrateDatabase(o.usageStore!, o.timeout);
        if (o.json) process.stdout.write(`${JSON.stringify({ usage_store: where, from: r.from, to: r.to, applied: r.applied, created: r.created })}\n`);
        else process.stdout.write(`${migrationSummary(where, r)}\n`);
      } catch (err) {
        process.stderr.write(`gavel: usage store ${where} could not be migrated: ${errorMessage(err)}\n`);
        process.exit(EXIT.error);
      }
    });
}

/** One line: the version, and what was created again (a dropped table comes back empty). */
function migrationSummary(where: string, r: MigrationResult): string {
  const version =
    r.applied.length === 0 ? `schema already at version ${r.to}` : `schema migrated from version ${r.from} to ${r.to} (applied ${r.applied.join(', ')})`;
  if (r.created.length === 0) return `usage store ${where}: ${version}`;
  return `usage store ${where}: ${version}; created again, empty: ${r.created.join(', ')} (grant the replicas' role its privileges on them if it does not own them)`;
}
