// Runs a module of gavel from plain JavaScript (the bin, worker threads, child processes): its
// compiled JavaScript next to the caller when there is one (an installed package runs dist/), else
// its TypeScript source through tsx (a checkout, which needs no build step; tsx is a dev dependency).
import { existsSync } from 'node:fs';

/** Imports `<name>.js` beside `from` (a module URL), or `<name>.ts` through tsx when there is no `.js`. */
export async function runSource(from, name) {
  const compiled = new URL(`${name}.js`, from);
  if (existsSync(compiled)) return import(compiled.href);
  const { register } = await import('tsx/esm/api');
  register();
  return import(new URL(`${name}.ts`, from).href);
}
