import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { PartResult } from './result.js';
import { ROOT } from './paths.js';

/**
 * Runs one bench script in its own Node process (as pino's benchmarks do):
 * each part starts with a cold heap and JIT and cannot be slowed by garbage or
 * open handles another part left behind. The script writes its PartResult as
 * JSON to `out`; its progress lines go straight to this terminal. A part that
 * overruns `timeoutSeconds` is killed and reported as failed, so the run
 * always ends.
 */
export function runPart(script: string, args: string[], out: string, timeoutSeconds: number): Promise<PartResult> {
  const part = script.replace(/^bench\/|\.ts$/g, '');
  const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, script), ...args, '--out', out], { cwd: ROOT, stdio: ['ignore', 'inherit', 'inherit'] });
  return new Promise((resolve) => {
    // SIGTERM first, so the part can stop the server it started; SIGKILL if it does not go.
    let killed = false;
    const timer = setTimeout(() => {
      killed = true;
      child.kill('SIGTERM');
      setTimeout(() => child.kill('SIGKILL'), 10_000).unref();
    }, timeoutSeconds * 1000);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (code === 0 && existsSync(out)) {
        resolve(JSON.parse(readFileSync(out, 'utf8')) as PartResult);
        return;
      }
      const why = killed ? `stopped after ${timeoutSeconds} s` : `exit code ${String(code)}${signal ? `, signal ${signal}` : ''}`;
      resolve({ part, measurements: [], notes: [`FAILED (${why}); see the output above`] });
    });
  });
}
