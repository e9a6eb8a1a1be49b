#!/usr/bin/env node
// The gavel CLI. An installed package runs its compiled JavaScript (dist/); a checkout, which has
// src/ and needs no build step, runs the TypeScript sources through tsx (a dev dependency).
import { existsSync } from 'node:fs';

if (existsSync(new URL('../src/cli/main.ts', import.meta.url))) {
  const { runSource } = await import('../src/lib/run-source.mjs');
  await runSource(new URL('../src/cli/', import.meta.url), './main');
} else {
  await import('../dist/cli/main.js');
}
