// Generates the TypeScript types of the protos the client calls (PROTO_FILES, the list src/proto.ts
// loads) into src/gen/ (or the folder given as the first argument), with proto-loader's own generator
// and the options the client loads the protos with (src/proto.ts): keepCase, longs as numbers, enums
// as strings, defaults, oneofs.
// Run from anywhere: `node packages/client/scripts/gen-types.mjs [outDir]`. The generator names each
// file's source relative to the repository root ("Original file: proto/gavel/v1/…"), so it runs
// there, and the output is the same on every machine (test/gen-types.test.ts compares it byte for byte).
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const PROTO_FILES = ['gavel/v1/decision.proto', 'gavel/v1/usage.proto', 'gavel/v1/approval.proto', 'gavel/v1/audit.proto'];

const packageDir = fileURLToPath(new URL('..', import.meta.url));
const repoRoot = resolve(packageDir, '../..');
const outDir = resolve(process.argv[2] ?? resolve(packageDir, 'src/gen'));
const generator = createRequire(import.meta.url).resolve('@grpc/proto-loader/build/bin/proto-loader-gen-types.js');

const options = ['--keepCase', '--longs', 'Number', '--enums', 'String', '--defaults', '--oneofs', '--grpcLib', '@grpc/grpc-js'];
// NodeNext resolution needs the .js extension on relative imports.
const layout = ['--importFileExtension', '.js', '-I', 'proto', '-O', outDir];

// src/gen is replaced whole (a type whose message left the protos goes with it); any other folder must be new or empty.
const defaultOut = resolve(packageDir, 'src/gen');
if (outDir === defaultOut) rmSync(outDir, { recursive: true, force: true });
else if (existsSync(outDir) && readdirSync(outDir).length > 0) {
  console.error(`${outDir} is not empty: give a new or empty folder`);
  process.exit(2);
}
const run = spawnSync(process.execPath, [generator, ...options, ...layout, ...PROTO_FILES], { cwd: repoRoot, stdio: 'inherit' });
if (run.status !== 0) {
  console.error(`proto-loader-gen-types failed (exit ${run.status})`);
  process.exit(1);
}
console.log(`generated types of ${PROTO_FILES.length} protos into ${outDir}`);
