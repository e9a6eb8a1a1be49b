import type { Command } from 'commander';
import { errorMessage } from '../lib/errors.js';
import { isPostgresUrl, redactUrl } from '../usage/postgres/config.js';
import { migrateDatabase } from '../usage/postgres/schema.js';
import { EXIT } from './exit.js';
import { intOption } from './options.js';

export function registerUsage(program: Command): void {
  const usage = program.command('usage').description('the shared usage store (PostgreSQL) that replicas meter budgets in');
  usage
    .command('migrate')
    .description("create or upgrade the usage store's schema ahead of a rollout (every replica also does so at start; running it twice changes nothing)")
    .option('--usage-store <url>', 'postgres://USER:PASS@HOST:PORT/DB (env GAVEL_USAGE_STORE)', process.env.GAVEL_USAGE_STORE)
    .option('--timeout <ms>', 'connection deadline', intOption, 5000)
    .option('--json', 'one JSON object instead of text')
    .addHelpText('after', '\nExample:\n  gavel usage migrate --usage-store postgres://gavel:secret@db.internal:5432/gavel?sslmode=verify-full')
    .action(async (o: { usageStore?: string; timeout: number; json?: boolean }, command: Command) => {
      if (!o.usageStore || !isPostgresUrl(o.usageStore)) {
        command.error('error: --usage-store (or GAVEL_USAGE_STORE) must be a postgres:// URL', { exitCode: EXIT.usage });
      }
      const where = redactUrl(o.usageStore!);
      try {
        const r = await migrateDatabase(o.usageStore!, o.timeout);
        if (o.json) process.stdout.write(`${JSON.stringify({ usage_store: where, from: r.from, to: r.to, applied: r.applied })}\n`);
        else if (r.applied.length === 0) process.stdout.write(`usage store ${where}: schema already at version ${r.to}\n`);
        else process.stdout.write(`usage store ${where}: schema migrated from version ${r.from} to ${r.to} (applied ${r.applied.join(', ')})\n`);
      } catch (err) {
        process.stderr.write(`gavel: usage store ${where} could not be migrated: ${errorMessage(err)}\n`);
        process.exit(EXIT.error);
      }
    });
}
