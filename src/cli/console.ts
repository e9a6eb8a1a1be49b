import type { Command } from 'commander';
import { errorMessage } from '../lib/errors.js';
import { createLogger, LogSink } from '../log.js';
import { openLedgerFileView } from '../runtime/ledger-view.js';
import { consoleSecretPath, loadConsoleSecret, mintLoginToken } from '../transport/console/login-link.js';
import { startConsole } from '../transport/console/server.js';
import { AccessPolicy } from '../transport/security/access-policy.js';
import { loadAccessFile } from '../transport/security/access-file.js';
import { TlsFiles } from '../transport/security/tls-files.js';
import { EXIT } from './exit.js';
import { addressOption, collect, intOption } from './options.js';
import { DEFAULTS } from './settings.js';

interface ConsoleFlags {
  ledger: string[];
  listen: string;
  secret?: string;
  pubkey: string[];
  access?: string;
  tlsCert?: string;
  tlsKey?: string;
  clientCa?: string;
  sessionMinutes?: number;
}

interface LoginFlags {
  identity: string;
  ledger: string;
  secret?: string;
  url?: string;
  minutes: number;
}

/**
 * `gavel console --ledger FILE…`: the console over ledger files, read-only (offline copies, several
 * replicas' ledgers merged by time). `gavel console login --identity ID`: a one-time sign-in link
 * for a console, signed with its secret (README "Console").
 */
export function registerConsole(program: Command): void {
  const cmd = program
    .command('console')
    // `gavel console login --ledger X`: X is login's, not the console's own --ledger.
    .enablePositionalOptions()
    .description("the auditor's web console over ledger files, read-only (a running server serves its own: gavel serve --console-listen)")
    .option('--ledger <file>', `ledger file, repeatable for several replicas (default ${DEFAULTS.ledger})`, collect, [] as string[])
    .option('--listen <host:port>', 'where the console listens (without --access: loopback only)', addressOption, '127.0.0.1:9480')
    .option('--secret <file>', 'the sign-in secret (default <first ledger>.console-secret, created when missing)')
    .option('--pubkey <key|file>', "a ledger's verifier key when its .key file is not beside it (the n-th for the n-th --ledger)", collect, [] as string[])
    .option('--access <file>', 'access file: roles of the people who sign in (identities:) and their approver roles (people:)')
    .option('--tls-cert <file>', 'serve HTTPS with this certificate')
    .option('--tls-key <file>', 'its key')
    .option('--client-ca <file>', 'also let browsers sign in with a client certificate from this CA')
    .option('--session-minutes <n>', 'how long a sign-in lasts (default 480)', intOption)
    .addHelpText(
      'after',
      '\nExamples:\n  gavel console --ledger eu.db --ledger us.db\n  gavel console login --identity alice@corp.example --ledger eu.db --url http://127.0.0.1:9480',
    )
    .action(async (o: ConsoleFlags, command: Command) => {
      const ledgers = o.ledger.length > 0 ? o.ledger : [DEFAULTS.ledger];
      if ((o.tlsCert === undefined) !== (o.tlsKey === undefined)) command.error('error: --tls-cert and --tls-key go together', { exitCode: EXIT.usage });
      const log = createLogger(undefined, new LogSink(1));
      try {
        const views = ledgers.map((path, i) => openLedgerFileView(path, o.pubkey[i]));
        const tls = o.tlsCert ? new TlsFiles({ certFile: o.tlsCert, keyFile: o.tlsKey!, ...(o.clientCa ? { clientCaFile: o.clientCa } : {}) }) : undefined;
        const web = await startConsole(
          { ledgers: views, readOnly: true },
          {
            listen: o.listen,
            secret: loadConsoleSecret(o.secret ?? consoleSecretPath(ledgers[0]!), true),
            access: o.access ? loadAccessFile(o.access) : AccessPolicy.everyone(),
            dev: o.access === undefined,
            ...(tls ? { tls } : {}),
            log,
            ...(o.sessionMinutes !== undefined ? { sessionMinutes: o.sessionMinutes } : {}),
          },
        );
        const stop = () =>
          void web.close().then(() => {
            for (const v of views) v.close();
            process.exit(EXIT.ok);
          });
        process.on('SIGTERM', stop);
        process.on('SIGINT', stop);
        log.info({ console: web.url, ledgers, access: o.access ?? 'development mode' }, 'gavel console serving (read-only)');
      } catch (err) {
        process.stderr.write(`gavel: ${errorMessage(err)}\n`);
        process.exit(EXIT.error);
      }
    });

  cmd
    .command('login')
    .description('print a one-time sign-in link for a console (valid a few minutes, usable once)')
    .requiredOption('--identity <id>', 'who signs in: their roles come from the access file')
    .option('--ledger <file>', 'the ledger of the console (its secret is <ledger>.console-secret)', DEFAULTS.ledger)
    .option('--secret <file>', 'the console secret, when not beside the ledger')
    .option('--url <url>', 'the console base URL (env GAVEL_CONSOLE_URL; else http://$GAVEL_CONSOLE_LISTEN)')
    .option('--minutes <n>', 'how long the link is valid (1 to 60)', intOption, 10)
    .action(async (o: LoginFlags, command: Command) => {
      const base = o.url ?? process.env.GAVEL_CONSOLE_URL ?? (process.env.GAVEL_CONSOLE_LISTEN ? `http://${process.env.GAVEL_CONSOLE_LISTEN}` : undefined);
      if (!base) command.error('error: pass --url (the console address), or set GAVEL_CONSOLE_URL', { exitCode: EXIT.usage });
      if (o.minutes < 1 || o.minutes > 60) command.error('error: --minutes must be 1 to 60', { exitCode: EXIT.usage });
      try {
        const secret = loadConsoleSecret(o.secret ?? consoleSecretPath(o.ledger), false);
        const token = await mintLoginToken(secret, o.identity, o.minutes * 60);
        process.stdout.write(`${new URL(`/login?token=${token}`, base!).toString()}\n`);
      } catch (err) {
        process.stderr.write(`gavel: ${errorMessage(err)}\n`);
        process.exit(EXIT.error);
      }
    });
}
