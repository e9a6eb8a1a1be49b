import pino, { type Logger } from 'pino';

/**
 * JSON logs with pino. Inputs, prompts and redacted values are never logged:
 * decisions are logged by id, outcome and reason codes only.
 */
export function createLogger(level = process.env.GAVEL_LOG_LEVEL ?? 'info', destination?: pino.DestinationStream): Logger {
  const options = { level, base: { service: 'gavel' }, timestamp: pino.stdTimeFunctions.isoTime };
  return destination ? pino(options, destination) : pino(options, pino.destination(2));
}

export { LogSink } from './log-sink.js';
export type { Logger };
