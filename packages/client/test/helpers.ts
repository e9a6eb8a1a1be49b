import pino from 'pino';
import { startRuntime, type Runtime, type RuntimeConfig } from '../../../src/runtime.js';
import { startServer, type RunningServer } from '../../../src/transport/server.js';
import { GavelError } from '../src/index.js';

export { freePort } from '../../../test/helpers/ports.js';

export interface ServerOnPort {
  core: Runtime;
  server: RunningServer;
  stop(): Promise<void>;
}

/** The real server, in this process, on a port chosen before it starts (test/helpers/server.ts picks its own). */
export async function serveOn(port: number, options: RuntimeConfig): Promise<ServerOnPort> {
  const log = pino({ level: 'silent' });
  const core = await startRuntime({ logger: log, ...options });
  const server = await startServer(core, { listen: `127.0.0.1:${port}`, log });
  return {
    core,
    server,
    stop: async () => {
      await server.shutdown(2000);
      await core.stop();
    },
  };
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** What a promise rejects with, which must be a GavelError. */
export async function refusal(p: Promise<unknown>): Promise<GavelError> {
  const err = await p.then(
    () => new Error('resolved, but a GavelError was expected'),
    (e: unknown) => e,
  );
  if (!(err instanceof GavelError)) throw err;
  return err;
}

/** The request ids of the decision entries a server recorded, oldest first. */
export function recordedRequestIds(core: Runtime): string[] {
  return [...core.audit.query({ kind: 'decision', order: 'asc' })].map((e) => e.requestId);
}
