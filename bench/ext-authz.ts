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
 * server's CPU seconds (all threads) over the decisions answered.
 *
 *   npx tsx bench/ext-authz.ts --seconds 10 --reps 3
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, copyFileSync, mkdirSync, openSync, readdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { envoyServices } from '../src/transport/envoy/protos.js';
import { startChild } from '../test/helpers/server.js';
import { numberFlag, readFlags } from './lib/args.js';
import { cpuSeconds } from './lib/cpu.js';
import { findTool, type LoadRun, rssMb, runGhz } from './lib/go-tools.js';
import { describeMachine, machineLine } from './lib/machine.js';
import { freePort } from './lib/opa.js';
import { ROOT, tempDir } from './lib/paths.js';
import { stopProcess, watchdog } from './lib/process.js';
import { loadWorkload } from './lib/workload.js';

const flags = readFlags({ seconds: { type: 'string' }, reps: { type: 'string' } });
const seconds = numberFlag(flags, 'seconds', 10, { min: 1 });
const reps = numberFlag(flags, 'reps', 3, { min: 1, integer: true });
watchdog(reps * 8 * (seconds + 30) + 300, 'bench/ext-authz.ts');

const ghz = findTool('ghz', 'GHZ');
const peer = findTool('opa-envoy-plugin', 'OPA_ENVOY_PLUGIN');
if (!ghz) throw new Error('ghz is missing: go install github.com/bojand/ghz/cmd/ghz@latest');
const dir = tempDir('gavel-bench-ext-authz-').path;
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

async function startGavel(): Promise<Server> {
  const srv = await startChild(['--ledger', join(tempDir('gavel-bench-ea-').path, 'ledger.db'), '--ext-authz-config', extAuthzConfig]);
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

const starters: Array<() => Promise<Server>> = [startGavel, ...(peer ? [() => startPeer(false), () => startPeer(true)] : [])];
const rows: Row[] = [];
for (let r = 0; r < reps; r++) {
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
process.exit(0);
