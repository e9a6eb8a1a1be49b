import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { consoleSecretPath, loadConsoleSecret } from '../transport/console/login-link.js';
import { decisionLogConfig, type DecisionLogConfig } from '../transport/decision-log/config.js';

/** The HTTP edges `gavel serve` starts beside gRPC: the console and the decision-log exporter, from their flags. */

/** The console a running `gavel serve --console-listen` serves: its secret sits beside the ledger (an in-memory ledger gets one per start). */
export function consoleOptionsOf(listen: string, ledger: string, sessionMinutes: number | undefined) {
  const secret = ledger === ':memory:' ? randomBytes(32) : loadConsoleSecret(consoleSecretPath(ledger), true);
  return { listen, secret, ...(sessionMinutes !== undefined ? { sessionMinutes } : {}) };
}

/** `--decision-log-*` checked whole (a bad URL or batch stops the start); the cursor sits beside the ledger by default. */
export function decisionLogOf(o: { decisionLogUrl?: string; decisionLogCursor?: string; decisionLogBatch?: number; ledger: string }): DecisionLogConfig {
  return decisionLogConfig({
    url: o.decisionLogUrl!,
    cursorFile:
      o.decisionLogCursor ?? (o.ledger === ':memory:' ? join(tmpdir(), `gavel-decision-log-${process.pid}.cursor`) : `${o.ledger}.decision-log-cursor`),
    ...(o.decisionLogBatch !== undefined ? { batchEntries: o.decisionLogBatch } : {}),
  });
}
