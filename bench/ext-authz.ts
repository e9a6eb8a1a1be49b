/**
 * Envoy's ext_authz Check against gavel and against OPA's own gRPC PDP, opa-envoy-plugin, on the
 * same policy and input, each driven by ghz in its own process, interleaved round by round:
 *
 * - gavel serve (ledger file, durability normal, metering on), Check mapped by an ext-authz config
 *   that names the subject by headers (examples/envoy/ext-authz.yaml), recording every decision;
 * - opa-envoy-plugin (built from its repository snapshot: bench/README "ext_authz"), evaluating the
 *   Rego of policies/ai through bench/peer/envoy_authz.rego on the same mapping, with the sample's
 *   fixed context, its decision log on (console, to a file), with and without.
 *
 * Every server must allow the request before anything is measured. CPU per decision is the
 * server's CPU seconds (all threads) over the decisions answered. Then Envoy's added latency: the
 * stand-in upstream directly, through Envoy alone, and through Envoy asking gavel.
 *
 *   npx tsx bench/ext-authz.ts --seconds 10 --reps 3
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { closeSync, copyFileSync, mkdirSync, openSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { envoyServices } from '../src/transport/envoy/protos.js';
import { envoyBinary, envoyCluster, startEnvoy } from '../test/helpers/envoy.js';
import { startChild } from '../test/helpers/server.js';
import { numberFlag, readFlags, stringFlag } from './lib/args.js';
import { closedLoop, type LoopResult } from './lib/closed-loop.js';
import { cpuSeconds } from './lib/cpu.js';
import { findTool, type LoadRun, rssMb, runGhz } from './lib/go-tools.js';
import { describeMachine, machineLine } from './lib/machine.js';
import { freePort } from './lib/opa.js';
import { ROOT, tempDir } from './lib/paths.js';
import { stopProcess, watchdog } from './lib/process.js';
import { loadWorkload } from './lib/workload.js';

const flags = readFlags({ seconds: { type: 'string' }, reps: { type: 'string' }, part: { type: 'string' } });
/** check (ghz against gavel and the peer), envoy (Envoy's added latency), or both (default). */
const part = stringFlag(flags, 'part') ?? 'both';
const seconds = numberFlag(flags, 'seconds', 10, { min: 1 });
const reps = numberFlag(flags, 'reps', 3, { min: 1, integer: true });
watchdog(reps * 14 * (seconds + 30) + 300, 'bench/ext-authz.ts');

const ghz = findTool('ghz', 'GHZ');
const peer = findTool('opa-envoy-plugin', 'OPA_ENVOY_PLUGIN');
if (!ghz) throw new Error('ghz is missing: go install github.com/bojand/ghz/cmd/ghz@latest');
const temp = tempDir('gavel-bench-ext-authz-');
process.on('exit', () => temp.remove());
const dir = temp.path;
const XDS = join(dirname(createRequire(import.meta.url).resolve('@grpc/grpc-js-xds/package.json')), 'deps');
const IMPORTS = ['envoy-api', 'googleapis', 'xds', 'protoc-gen-validate'].map((d) => join(XDS, d));

// The same CheckRequest as Envoy sends it (with_request_body), for 256 subjects so budgets stay far.
const sample = loadWorkload({ subjects: 256 }).inputs;
const checks = sample.map((input) => {
  const s = input.subject as Record<string, string>;
  return {
    attributes: {
      request: {
        http: {
          method: 'POST',
          path: '/v1/chat/completions',
          headers: {
            'x-request-id': 'bench',
            'x-gavel-subject': s.id,
            'x-gavel-roles': 'employee',
            'x-gavel-team': s.team,
            'x-gavel-cost-center': s.cost_center,
          },
          body: JSON.stringify({
            model: 'standard-m',
            max_tokens: 512,
            messages: [{ role: 'user', content: 'Summarise the attached meeting notes in three bullet points.' }],
          }),
        },
      },
    },
  };
});
const dataFile = join(dir, 'checks.json');
writeFileSync(dataFile, JSON.stringify(checks));

// The peer's policy folder: the Rego of policies/ai (no tests), its data, the wrapper, the fixed context.
const policy = join(dir, 'peer-policy');
mkdirSync(join(policy, 'bench'), { recursive: true });
for (const f of readdirSync(join(ROOT, 'policies/ai')).filter((f) => f.endsWith('.rego') && !f.endsWith('_test.rego')))
  copyFileSync(join(ROOT, 'policies/ai', f), join(policy, f));
copyFileSync(join(ROOT, 'policies/ai/data.json'), join(policy, 'data.json'));
copyFileSync(join(ROOT, 'bench/peer/envoy_authz.rego'), join(policy, 'envoy_authz.rego'));
writeFileSync(join(policy, 'bench', 'data.json'), JSON.stringify({ context: (sample[0]!.context as object) ?? {} }));
const extAuthzConfig = join(ROOT, 'examples/envoy/ext-authz.yaml');

interface Server {
  name: string;
  address: string;
  pid: number | undefined;
  stop(): Promise<void>;
}

async function startGavel(extra: string[] = []): Promise<Server> {
  const srv = await startChild(['--ledger', join(dir, `ledger-${Date.now()}.db`), '--ext-authz-config', extAuthzConfig, ...extra]);
  return {
    name: 'gavel serve (ledger file, metering on)',
    address: srv.address,
    pid: srv.child.pid,
    stop: () => stopProcess(srv.child, srv.exited).then(() => undefined),
  };
}

async function startPeer(decisionLog: boolean): Promise<Server> {
  const grpcPort = await freePort();
  const log = join(dir, `peer-${Date.now()}.log`);
  const fd = openSync(log, 'w');
  const child: ChildProcess = spawn(
    peer!,
    [
      'run',
      '--server',
      '--addr',
      `127.0.0.1:${await freePort()}`,
      '--diagnostic-addr',
      `127.0.0.1:${await freePort()}`,
      '--log-level',
      'error',
      '--set',
      `plugins.envoy_ext_authz_grpc.addr=127.0.0.1:${grpcPort}`,
      '--set',
      'plugins.envoy_ext_authz_grpc.path=envoy/authz/result',
      '--set',
      `decision_logs.console=${decisionLog}`,
      policy,
    ],
    { stdio: ['ignore', fd, fd] },
  );
  closeSync(fd);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const address = `127.0.0.1:${grpcPort}`;
  return {
    name: `opa-envoy-plugin${decisionLog ? ', decision log to a file' : ', no decision log'}`,
    address,
    pid: child.pid,
    stop: () => stopProcess(child, exited).then(() => undefined),
  };
}

/** One Check, retried until the server answers it (start-up), which must allow it. */
async function checkAllows(address: string): Promise<void> {
  const { Authorization } = envoyServices();
  const client = new Authorization(address, grpc.credentials.createInsecure()) as unknown as {
    Check(r: unknown, o: grpc.CallOptions, cb: (e: grpc.ServiceError | null, r: { status: { code: number } }) => void): void;
    close(): void;
  };
  try {
    for (let i = 0; ; i++) {
      const got = await new Promise<{ status: { code: number } } | Error>((resolve) =>
        client.Check(checks[0], { deadline: Date.now() + 2_000 }, (e, r) => resolve(e ?? r)),
      );
      if (!(got instanceof Error)) {
        if (got.status.code !== 0) throw new Error(`${address} did not allow the bench request (status ${got.status.code})`);
        return;
      }
      if (i >= 100) throw got;
      await new Promise((r) => setTimeout(r, 200));
    }
  } finally {
    client.close();
  }
}

interface Row {
  server: string;
  inFlight: number;
  run: LoadRun;
  cpuMsPerDecision: number;
  rss: number | undefined;
}

const starters: Array<() => Promise<Server>> = [() => startGavel(), ...(peer ? [() => startPeer(false), () => startPeer(true)] : [])];
const rows: Row[] = [];
for (let r = 0; r < (part === 'envoy' ? 0 : reps); r++) {
  for (const inFlight of [1, 32]) {
    for (const start of starters) {
      const server = await start();
      try {
        await checkAllows(server.address);
        const call = {
          address: server.address,
          call: 'envoy.service.auth.v3.Authorization.Check',
          dataFile,
          proto: 'envoy/service/auth/v3/external_auth.proto',
          importPaths: IMPORTS,
        };
        await runGhz(ghz, { ...call, concurrency: inFlight, seconds: 2 }); // warm-up
        const before = cpuSeconds(server.pid) ?? 0;
        const run = await runGhz(ghz, { ...call, concurrency: inFlight, seconds });
        const cpu = (cpuSeconds(server.pid) ?? 0) - before;
        rows.push({ server: server.name, inFlight, run, cpuMsPerDecision: run.ok > 0 ? (cpu * 1000) / run.ok : Number.NaN, rss: rssMb(server.pid) });
      } finally {
        await server.stop();
      }
    }
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
console.log(machineLine(describeMachine()));
if (part !== 'envoy') printChecks();

function printChecks(): void {
  console.log(
    `ghz, ${seconds} s windows after 2 s of warm-up, ${reps} interleaved repetitions, medians${peer ? '' : ' (opa-envoy-plugin not found: its rows are missing)'}\n`,
  );
  console.log('| server | in flight | Checks/s | vs opa-envoy-plugin | p50 ms | p99 ms | CPU ms/decision | RSS MB | errors |');
  console.log('|---|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const inFlight of [1, 32]) {
    const names = [...new Set(rows.map((x) => x.server))];
    const peerRps = median(rows.filter((x) => x.inFlight === inFlight && x.server === 'opa-envoy-plugin, decision log to a file').map((x) => x.run.rps));
    for (const name of names) {
      const rs = rows.filter((x) => x.inFlight === inFlight && x.server === name);
      const rps = median(rs.map((x) => x.run.rps));
      console.log(
        `| ${name} | ${inFlight} | ${rps.toFixed(0)} | ${Number.isFinite(peerRps) ? `${(rps / peerRps).toFixed(2)}x` : '–'} | ${median(rs.map((x) => x.run.p50)).toFixed(2)} | ${median(rs.map((x) => x.run.p99)).toFixed(2)} | ${median(rs.map((x) => x.cpuMsPerDecision)).toFixed(2)} | ${median(rs.map((x) => x.rss ?? Number.NaN)).toFixed(0)} | ${rs.reduce((a, x) => a + x.run.errors, 0)} |`,
      );
    }
  }
}

// Envoy's added latency: the stand-in upstream called directly, through Envoy alone, and through
// Envoy asking gavel (examples/envoy/envoy.yaml: ext_authz and ext_proc), closed loops of fetch in
// this process (the same client for every row), interleaved round by round.
const envoyBin = part === 'check' ? undefined : envoyBinary();
if (envoyBin) {
  const upstreamPort = await freePort();
  const upstream = createServer((req, res) => {
    req.resume();
    req.on('end', () => res.end('{"id":"stand-in","choices":[{"message":{"role":"assistant","content":"ok"}}]}'));
  });
  await new Promise<void>((resolve) => upstream.listen(upstreamPort, '127.0.0.1', resolve));
  // As examples/envoy runs it: Envoy reaches gavel over mutual TLS with `gavel certs dev`'s gateway identity.
  const certs = join(dir, 'dev-certs');
  execFileSync(process.execPath, [join(ROOT, 'bin/gavel.mjs'), 'certs', 'dev', '--out', certs], { stdio: 'ignore' });
  const gavel = await startGavel([
    '--tls-cert',
    join(certs, 'server.pem'),
    '--tls-key',
    join(certs, 'server.key'),
    '--client-ca',
    join(certs, 'ca.pem'),
    '--access',
    join(certs, 'access.yaml'),
  ]);
  const withGavel = await freePort();
  const authzOnly = await freePort();
  const plain = await freePort();
  const example = readFileSync(join(ROOT, 'examples/envoy/envoy.yaml'), 'utf8')
    .replaceAll('port_value: 50051', `port_value: ${Number(gavel.address.split(':')[1])}`)
    .replaceAll('port_value: 8081', `port_value: ${upstreamPort}`)
    .replaceAll('port_value: 9901', 'port_value: 0')
    .replaceAll('filename: dev-certs/', `filename: ${certs}/`);
  const envoys = [
    await startEnvoy(envoyBin, example.replaceAll('port_value: 10000', `port_value: ${withGavel}`)),
    // The same without the ext_proc filter: ext_authz alone (REDACT would be 403).
    await startEnvoy(
      envoyBin,
      example
        .replaceAll('port_value: 10000', `port_value: ${authzOnly}`)
        .replace(/ {18}- name: envoy\.filters\.http\.ext_proc[\s\S]*?message_timeout: 5s\n/, ''),
    ),
    await startEnvoy(envoyBin, plainEnvoy(plain, upstreamPort)),
  ];
  const body = JSON.stringify({
    model: 'standard-m',
    max_tokens: 512,
    messages: [{ role: 'user', content: 'Summarise the attached meeting notes in three bullet points.' }],
  });
  const call = (port: number, n: number) => {
    const s = sample[n % sample.length]!.subject as Record<string, string>;
    return fetch(`http://127.0.0.1:${port}/v1/chat/completions`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-gavel-subject': s.id!,
        'x-gavel-roles': 'employee',
        'x-gavel-team': s.team!,
        'x-gavel-cost-center': s.cost_center!,
      },
      body,
    }).then(async (r) => {
      const text = await r.text();
      if (r.status !== 200) {
        failures.set(port, (failures.get(port) ?? 0) + 1);
        firstFailure.set(port, firstFailure.get(port) ?? `HTTP ${r.status} ${text.slice(0, 200)}`);
      }
    });
  };
  const failures = new Map<number, number>();
  const firstFailure = new Map<number, string>();
  const targets: Array<[string, number]> = [
    ['upstream direct', upstreamPort],
    ['through Envoy alone', plain],
    ['through Envoy asking gavel (ext_authz)', authzOnly],
    ['through Envoy asking gavel (ext_authz + ext_proc)', withGavel],
  ];
  const latency = new Map<string, LoopResult[]>();
  for (const [, port] of targets) await closedLoop((n) => call(port, n), 4, 1); // warm-up
  for (let r = 0; r < reps; r++) {
    for (const inFlight of [1, 32]) {
      for (const [name, port] of targets) {
        const key = `${name}|${inFlight}`;
        latency.set(key, [...(latency.get(key) ?? []), await closedLoop((n) => call(port, n), inFlight, seconds)]);
      }
    }
  }
  for (const e of envoys) await e.stop();
  await gavel.stop();
  upstream.close();
  console.log(`\nEnvoy ${envoyVersion(envoyBin)}; fetch closed loops in the bench process, ${seconds} s windows, medians of ${reps}\n`);
  for (const [name, port] of targets)
    if (failures.get(port)) console.log(`${name}: ${failures.get(port)} answers were not 200, the first: ${firstFailure.get(port)}`);
  console.log('| path | in flight | requests/s | p50 ms | p99 ms |');
  console.log('|---|---:|---:|---:|---:|');
  for (const inFlight of [1, 32]) {
    for (const [name] of targets) {
      const rs = latency.get(`${name}|${inFlight}`)!;
      console.log(
        `| ${name} | ${inFlight} | ${median(rs.map((x) => x.perSecond)).toFixed(0)} | ${median(rs.map((x) => x.p50)).toFixed(2)} | ${median(rs.map((x) => x.p99)).toFixed(2)} |`,
      );
    }
  }
}
process.exit(0);

/** Envoy proxying to the upstream with no filter but the router. */
function plainEnvoy(listen: number, upstreamPort: number): string {
  return JSON.stringify({
    static_resources: {
      listeners: [
        {
          address: { socket_address: { address: '127.0.0.1', port_value: listen } },
          filter_chains: [
            {
              filters: [
                {
                  name: 'envoy.filters.network.http_connection_manager',
                  typed_config: {
                    '@type': 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
                    stat_prefix: 'plain',
                    route_config: { virtual_hosts: [{ name: 'all', domains: ['*'], routes: [{ match: { prefix: '/' }, route: { cluster: 'models' } }] }] },
                    http_filters: [
                      { name: 'envoy.filters.http.router', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router' } },
                    ],
                  },
                },
              ],
            },
          ],
        },
      ],
      clusters: [envoyCluster('models', upstreamPort)],
    },
    admin: { address: { socket_address: { address: '127.0.0.1', port_value: 0 } } },
  });
}

function envoyVersion(binary: string): string {
  return /version: \S+?\/([\d.]+)\//.exec(execFileSync(binary, ['--version'], { encoding: 'utf8' }))?.[1] ?? '?';
}
