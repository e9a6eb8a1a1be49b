import type { ChildProcess } from 'node:child_process';

/** SIGTERM, then SIGKILL if the process has not gone after graceMs; resolves with its exit code. */
export async function stopProcess(child: ChildProcess, exited: Promise<number | null>, graceMs = 15_000): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
  child.kill('SIGTERM');
  let timer: NodeJS.Timeout | undefined;
  const killed = new Promise<null>((resolve) => {
    timer = setTimeout(() => {
      child.kill('SIGKILL');
      resolve(null);
    }, graceMs);
  });
  const code = await Promise.race([exited, killed]);
  clearTimeout(timer);
  return code;
}

/**
 * A last-resort limit for a whole bench script: if anything hangs (a server
 * that never answers, a stuck child), the script ends itself instead of
 * holding the run forever. `cleanup` runs first (synchronously: kill the
 * server it started), and also when run.ts stops the script with SIGTERM, so
 * no server outlives its benchmark. Unref'd so it never keeps a finished
 * script alive.
 */
export function watchdog(seconds: number, what: string, cleanup: () => void = () => {}): void {
  const give = (why: string) => {
    process.stderr.write(`${what}: ${why}; stopping\n`);
    cleanup();
    process.exit(3);
  };
  setTimeout(() => give(`still running after ${seconds} s`), seconds * 1000).unref();
  process.once('SIGTERM', () => give('SIGTERM'));
  process.once('SIGINT', () => give('SIGINT'));
}
