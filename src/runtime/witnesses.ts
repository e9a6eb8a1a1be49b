import type { Logger } from 'pino';
import { parseCheckpoint } from '../ledger/checkpoint.js';
import { cosignatureLineOf, witnessId, witnessKey } from '../ledger/cosignature.js';
import { cosignatureRow } from '../ledger/cosignature-table.js';
import type { VerifierKey } from '../ledger/keys.js';
import type { ServedLedger } from '../ledger/types.js';
import { consistencyProofOf } from '../ledger/proofs.js';
import type { WitnessStatus } from './faces.js';

export interface WitnessesConfig {
  /**
   * Each witness: its base URL (C2SP tlog-witness: `POST <url>/add-checkpoint`) and its cosignature
   * verifier key (`gavel witness pubkey`, C2SP vkey): a reply is kept only when it verifies with it.
   */
  witnesses: Array<{ url: string; key: string }>;
  /** Deadline of one HTTP request (default 5000 ms). */
  timeoutMs?: number;
}

/** A reply past this is not read on (a cosignature line is about 120 bytes). */
const MAX_REPLY_BYTES = 16 * 1024;

const SIZE_TYPE = 'text/x.tlog.size';

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
  private readonly keys: VerifierKey[];
  /** Aborts the requests in flight at stop. */
  private readonly abort = new AbortController();
  private readonly pending = new Map<string, { note: string; size: number }>();
  private readonly running = new Map<string, Promise<void>>();
  private readonly listeners = new Set<() => void>();
  private stopped = false;

  constructor(
    private readonly ledger: ServedLedger,
    private readonly config: WitnessesConfig,
    private readonly log: Logger,
  ) {
    this.states = config.witnesses.map((w) => ({ url: w.url.replace(/\/+$/, ''), name: '', cosignedSize: 0 }));
    this.keys = config.witnesses.map((w) => witnessKey(w.key));
    this.states.forEach((s, i) => {
      s.name = this.keys[i]!.name;
    });
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
        this.running.set(s.url, this.drain(s));
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
    this.abort.abort();
    await this.settled();
    this.listeners.clear();
  }

  private async drain(state: WitnessStatus): Promise<void> {
    const key = this.keys[this.states.indexOf(state)]!;
    for (let next = this.pending.get(state.url); next && !this.stopped; next = this.pending.get(state.url)) {
      this.pending.delete(state.url);
      const before = JSON.stringify(state);
      try {
        await this.send(state, key, next.note, next.size);
      } catch (err) {
        if (!this.stopped) this.fail(state, 'error', `${(err as Error).message}`);
      }
      if (JSON.stringify(state) !== before) for (const l of this.listeners) l();
    }
    // In the same step that found nothing pending: a submit from here on starts a new drain.
    this.running.delete(state.url);
  }

  private async send(state: WitnessStatus, key: VerifierKey, note: string, size: number): Promise<void> {
    let old = Math.min(state.cosignedSize, size);
    for (let attempt = 0; attempt < 2; attempt++) {
      const proof = old === 0 || old === size ? [] : consistencyProofOf(this.ledger.db, old, size).hashes;
      const body = `old ${old}\n${proof.map((h) => `${Buffer.from(h, 'hex').toString('base64')}\n`).join('')}\n${note}`;
      const signal = AbortSignal.any([AbortSignal.timeout(this.config.timeoutMs ?? 5000), this.abort.signal]);
      const res = await fetch(`${state.url}/add-checkpoint`, { method: 'POST', body, signal });
      const text = await readCapped(res, MAX_REPLY_BYTES);
      if (res.status === 200) return this.cosigned(state, key, note, size, text);
      if (res.status === 409 && res.headers.get('content-type')?.startsWith(SIZE_TYPE)) {
        const sizeLine = /^(0|[1-9]\d{0,15})\n?$/.exec(text);
        if (!sizeLine) throw new Error(`the witness answered 409 with no size: ${JSON.stringify(text.slice(0, 80))}`);
        const theirs = Number(sizeLine[1]);
        // Its size is ours and we sent ours: it holds another root at this size (C2SP v1.0 answers a fork so).
        if (theirs === size && old === size) {
          return this.fail(state, 'refused', `the witness has cosigned another tree of ${size} entries: the ledger's history differs from what it saw`);
        }
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

  private async cosigned(state: WitnessStatus, key: VerifierKey, note: string, size: number, text: string): Promise<void> {
    // C2SP tlog-witness: the client checks the reply against the witness key it trusts, and keeps that line only.
    const line = cosignatureLineOf(parseCheckpoint(note).body, text.split('\n'), key);
    if (!line) throw new Error(`the witness answered 200 with no cosignature that verifies with the key of ${key.name}`);
    await this.ledger.writeRows([cosignatureRow(size, witnessId(key), line)]);
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

/** The body's text, read up to `max` bytes (a witness cannot make the server read more). */
async function readCapped(res: Response, max: number): Promise<string> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  if (res.body) {
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      chunks.push(chunk);
      size += chunk.length;
      if (size > max) break;
    }
  }
  return Buffer.concat(chunks).subarray(0, max).toString('utf8');
}
