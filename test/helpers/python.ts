import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { ciIsSet } from './ci.js';
import { ROOT } from './paths.js';

/**
 * The Python that runs the Python client examples: `GAVEL_PYTHON`, else the virtualenv
 * `scripts/python-clients.sh` makes (`.cache/python`, examples/python/requirements.txt).
 */
export const PYTHON = process.env.GAVEL_PYTHON ?? join(ROOT, '.cache/python/bin/python');

/**
 * For `describe.skipIf(...)`: why the Python gRPC client cannot run here, or undefined.
 * Under CI it never gives a reason: `.ci/run` makes the virtualenv, and a missing one must fail.
 */
export function pythonUnavailable(): string | undefined {
  if (ciIsSet()) return undefined;
  if (!existsSync(PYTHON)) return `no ${PYTHON}: run bash scripts/python-clients.sh`;
  const probe = spawnSync(PYTHON, ['-c', 'import grpc, grpc_tools, grpc_status'], { encoding: 'utf8' });
  return probe.status === 0 ? undefined : `${PYTHON} lacks grpcio, grpcio-tools or grpcio-status: run bash scripts/python-clients.sh`;
}

/** Generates the Python messages and stubs of gavel's protos into `out` (grpc_tools' protoc). */
export function generatePython(out: string): void {
  mkdirSync(out, { recursive: true });
  const protos = readdirSync(join(ROOT, 'proto/gavel/v1')).map((f) => `proto/gavel/v1/${f}`);
  const r = spawnSync(PYTHON, ['-m', 'grpc_tools.protoc', '-I', 'proto', `--python_out=${out}`, `--grpc_python_out=${out}`, ...protos], {
    cwd: ROOT,
    encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(`grpc_tools.protoc failed: ${r.stderr}`);
}
