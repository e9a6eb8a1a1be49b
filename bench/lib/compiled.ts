import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { ROOT } from './paths.js';

/**
 * gavel's CLI as the installed package runs it: the sources compiled to dist/ (`npm run build`, built
 * afresh here so the bench measures this checkout), started as `node dist/cli/main.js`. A checkout's
 * bin/gavel.mjs runs the TypeScript through tsx, whose loader is not part of a deployed gavel.
 */
export function compiledCli(root = ROOT): string {
  execFileSync('npm', ['run', 'build', '--silent'], { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] });
  return join(root, 'dist/cli/main.js');
}
