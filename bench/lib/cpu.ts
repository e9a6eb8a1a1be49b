import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

/**
 * CPU seconds (user + system) a process has used so far. On a 2-core box the
 * load generator and the server compete for the same cores, so every service
 * row reports how many cores each side burnt: it tells a server limit from a
 * client limit. Returns undefined where /proc is not available.
 */
export function cpuSeconds(pid?: number): number | undefined {
  if (pid === undefined || pid === process.pid) {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1e6;
  }
  return statCpuSeconds(`/proc/${pid}/stat`);
}

/**
 * CPU seconds of a process's main thread alone (for Node, the I/O thread that
 * answers gRPC, meters and writes the ledger; worker threads not counted).
 */
export function mainThreadCpuSeconds(pid: number | undefined): number | undefined {
  return pid === undefined ? undefined : statCpuSeconds(`/proc/${pid}/task/${pid}/stat`);
}

function statCpuSeconds(path: string): number | undefined {
  try {
    const stat = readFileSync(path, 'utf8');
    // Field 2 (comm) may contain spaces; everything after its closing ')' is space separated, starting at field 3.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const utime = Number(fields[11]);
    const stime = Number(fields[12]);
    return (utime + stime) / clockTicks();
  } catch {
    return undefined;
  }
}

let ticks: number | undefined;

function clockTicks(): number {
  if (ticks === undefined) {
    try {
      ticks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      ticks = 100;
    }
  }
  return ticks;
}

/** Cores used by each watched process between start() and stop(). */
export class CpuWindow {
  private readonly pids: Array<number | undefined>;
  private startCpu: Array<number | undefined> = [];
  private startWall = 0;

  constructor(pids: Array<number | undefined>) {
    this.pids = pids;
  }

  start(): void {
    this.startWall = performance.now();
    this.startCpu = this.pids.map((p) => cpuSeconds(p));
  }

  /** Cores (CPU seconds per wall second) per watched process, in constructor order. */
  stop(): Array<number | undefined> {
    const wall = (performance.now() - this.startWall) / 1000;
    return this.pids.map((p, i) => {
      const before = this.startCpu[i];
      const after = cpuSeconds(p);
      return before === undefined || after === undefined || wall <= 0 ? undefined : (after - before) / wall;
    });
  }
}
