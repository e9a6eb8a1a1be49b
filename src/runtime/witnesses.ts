import type { Logger } from 'pino';
import { parseCheckpoint } from '../ledger/checkpoint.js';
import { storeCosignature } from '../ledger/cosignature-table.js';
import type { SqliteLedger } from '../ledger/sqlite.js';
import { consistencyProofOf } from '../ledger/proofs.js';
import type { WitnessStatus } from './faces.js';

export interface WitnessesConfig {
  /** The witnesses' base URLs (C2SP tlog-witness: `POST <url>/add-checkpoint`). */
  urls: string[];
  /** Deadline of one HTTP request (default 5000 ms). */
  timeoutMs?: number;
}

const SIZE_TYPE = 'text/x.tlog.size';
/** `— <name> <base64>`: a note signature line (C2SP signed-note); a cosignature's blob is key id(4) + time(8) + signature(64). */
const COSIGNATURE_LINE = /^\u2014 [^\s+]+ [A-Za-z0-9+/]+=*$/;
const COSIGNATURE_BYTES = 76;

/**
 * Sends each checkpoint the ledger signs to every configured witness (C2SP tlog-witness
 * `add-checkpoint`), with the consistency proof from the size the witness last cosigned, and
 * keeps each cosignature beside the checkpoint (ledger/cosignature-table.ts). A witness that
 * answers 409 names its size: the request is sent again once from there. One that has seen a
 * larger tree than this ledger, or refuses the proof (422), has seen another history, such as the
 * one an older copy of the file, restored, has forked from: that is logged as an error and shown
 * in health until the witness cosigns again. Submissions run one at a time per witness; a newer
 * checkpoint replaces one still waiting.
 */
export class WitnessSubmitter {
  private readonly states: WitnessStatus[];
  private readonly pending = new Map<string, { note: string; size: number }>();
  private readonly running = new Map<string, Promise<void>>();
  private readonly listeners = new Set<() => void>();
  private stopped = false;

  constructor(
    private readonly ledger: SqliteLedger,
    private readonly config: WitnessesConfig,
    private readonly log: Logger,
  ) {
    this.states = config.urls.map((url) => ({ url: url.replace(/\/+$/, ''), name: '', cosignedSize: 0 }));
    ledger.onCheckpoint((note, size) => void this.submit(note, size));
    // The latest checkpoint goes out at start too: a witness hears of a restored older copy before it signs anything new.
    const latest = ledger.latestCheckpoint();
    const size = latest ? rootSize(latest) : 0;
    if (latest && size > 0) void this.submit(latest, size);
  }

  get status(): readonly WitnessStatus[] {
    return this.states;
  }

  /** Called after each change of a witness's status. */
  onChange(listener: () => void): void {
    this.listeners.add(listener);
  }

  /** Queues `note` for every witness (the newest waiting one wins); returns when those in flight are done. */
  submit(note: string, size: number): Promise<void> {
    if (this.stopped) return Promise.resolve();
    for (const s of this.states) {
      this.pending.set(s.url, { note, size });
      if (!this.running.has(s.url)) {
        const run = this.drain(s).finally(() => this.running.delete(s.url));
        this.running.set(s.url, run);
      }
    }
    return this.settled();
  }

  /** Resolves when no submission is in flight. */
  async settled(): Promise<void> {
    while (this.running.size > 0) await Promise.allSettled([...this.running.values()]);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.pending.clear();
    await this.settled();
    this.listeners.clear();
  }

  private async drain(state: WitnessStatus): Promise<void> {
    for (let next = this.pending.get(state.url); next && !this.stopped; next = this.pending.get(state.url)) {
      this.pending.delete(state.url);
      const before = JSON.stringify(state);
      try {
        await this.send(state, next.note, next.size);
      } catch (err) {
        this.fail(state, 'error', `${(err as Error).message}`);
      }
      if (JSON.stringify(state) !== before) for (const l of this.listeners) l();
    }
  }

  private async send(state: WitnessStatus, note: string, size: number): Promise<void> {
    let old = Math.min(state.cosignedSize, size);
    for (let attempt = 0; attempt < 2; attempt++) {
      const proof = old === 0 || old === size ? [] : consistencyProofOf(this.ledger.db, old, size).hashes;
      const body = `old ${old}\n${proof.map((h) => `${Buffer.from(h, 'hex').toString('base64')}\n`).join('')}\n${note}`;
      const res = await fetch(`${state.url}/add-checkpoint`, { method: 'POST', body, signal: AbortSignal.timeout(this.config.timeoutMs ?? 5000) });
      const text = (await res.text()).slice(0, 4096);
      if (res.status === 200) return this.cosigned(state, size, text);
      if (res.status === 409 && res.headers.get('content-type')?.startsWith(SIZE_TYPE)) {
        const theirs = Number(text.trim());
        if (!Number.isSafeInteger(theirs) || theirs < 0) throw new Error(`the witness answered 409 with no size: ${JSON.stringify(text.slice(0, 80))}`);
        if (theirs > size) {
          return this.fail(
            state,
            'refused',
            `the witness has cosigned a tree of ${theirs} entries, past this ledger's ${size}: this file is an older copy of the ledger the witness saw`,
          );
        }
        state.cosignedSize = theirs;
        old = theirs;
        continue;
      }
      if (res.status === 422) return this.fail(state, 'refused', `the witness refused the checkpoint at size ${size}: ${text.trim()}`);
      throw new Error(`the witness answered ${res.status}: ${text.trim().slice(0, 200)}`);
    }
    throw new Error('the witness moved its size twice while this checkpoint was sent');
  }

  private cosigned(state: WitnessStatus, size: number, text: string): void {
    // Kept as answered when well formed; each is checked against its witness's key by whoever relies on it (audit verify --witness-key).
    const lines = text.split('\n').filter((l) => COSIGNATURE_LINE.test(l) && Buffer.from(l.split(' ')[2]!, 'base64').length === COSIGNATURE_BYTES);
    if (lines.length === 0) throw new Error('the witness answered 200 with no cosignature line');
    for (const line of lines) {
      const name = line.split(' ')[1]!;
      storeCosignature(this.ledger.db, size, name, line);
      state.name ||= name;
    }
    state.cosignedSize = Math.max(state.cosignedSize, size);
    if (state.refused) this.log.info({ witness: state.url, size }, 'the witness cosigns this ledger again');
    delete state.refused;
    delete state.error;
  }

  private fail(state: WitnessStatus, as: 'refused' | 'error', message: string): void {
    if (as === 'refused') {
      if (state.refused !== message) {
        this.log.error({ witness: state.url, reason: message }, "a witness refused this ledger's checkpoint: its history differs from what the witness saw");
      }
      state.refused = message;
    } else {
      if (state.error !== message) this.log.warn({ witness: state.url, reason: message }, 'a checkpoint could not be sent to a witness; the next one is');
      state.error = message;
    }
  }
}

/** The size of a checkpoint that signs a Merkle root; 0 for one from before the tree (a witness could not check it). */
function rootSize(note: string): number {
  try {
    const { checkpoint } = parseCheckpoint(note);
    return checkpoint.rootHash === undefined ? 0 : checkpoint.size;
  } catch {
    return 0;
  }
}
