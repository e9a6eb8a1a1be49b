import { RowChanged, type EntryRecord, type Receipt, type RowResult, type RowWrite } from '../engine/ledger.js';
import { ERROR_CODES, GavelError, type ErrorCode } from '../lib/errors.js';
import type { LedgerConfig } from './config.js';
import type { ErasureRequest, ErasureResult } from './erasure.js';
import type { MessagePort } from 'node:worker_threads';
import type { LedgerHealth } from './sqlite.js';
import { headFromWire, headOnWire, type HeadOnWire } from '../lib/deflate-head.js';

/** What the writer thread is started with. */
export interface WriterSetup {
  config: LedgerConfig;
}

/**
 * One append as it crosses to the writer thread: the record, its staged rows and the records chained
 * after it. The record's payload head (lib/deflate-head.ts) goes as `head`, without its text: that is
 * the start of the payload, which the record carries already.
 */
export interface AppendItem {
  id: number;
  record: Omit<EntryRecord, 'payloadHead'>;
  head?: HeadOnWire;
  writes: readonly RowWrite[];
  records?: readonly EntryRecord[];
}

/** The item that sends `record` (and what is staged with it) to the writer. */
export function appendItem(id: number, record: EntryRecord, writes: readonly RowWrite[], records: readonly EntryRecord[] | undefined): AppendItem {
  const { payloadHead, ...rest } = record;
  const head = payloadHead && rest.payloadJcs !== undefined ? headOnWire(payloadHead, rest.payloadJcs) : undefined;
  return { id, record: payloadHead ? rest : record, writes, ...(head ? { head } : {}), ...(records ? { records } : {}) };
}

/** The record an item sends, its payload head whole again. */
export function itemRecord(item: AppendItem): EntryRecord {
  const { record, head } = item;
  return head && record.payloadJcs !== undefined ? { ...record, payloadHead: headFromWire(head, record.payloadJcs) } : record;
}

/**
 * To the writer: appends gathered in one turn of the event loop (one message, one group commit), a
 * call, a call whose caller waits for it (answered on `port`, then `signal` set and notified), or close.
 */
export type ToWriter =
  | { type: 'append'; items: AppendItem[] }
  | { type: 'call'; id: number; call: WriterCall }
  | { type: 'call-now'; call: WriterCall; port: MessagePort; signal: Int32Array }
  | { type: 'close' };

/** A waited-for call's answer, on its own port. */
export type CalledNow = { ok: true; result: CallResult; size: number; headHash: string } | { ok: false; error: WireError };

/** What the writer does when asked, beside appending: an erasure (its entry signed there), a checkpoint now, work its starter named (writer-worker.ts). */
export type WriterCall =
  | { op: 'erase'; request: ErasureRequest; limit?: number; now?: Date }
  | { op: 'checkpoint' }
  | { op: 'rows'; writes: readonly RowWrite[] }
  | { op: 'extra'; name: string; args: unknown };
export type CallResult =
  | { op: 'erase'; result: ErasureResult }
  | { op: 'checkpoint'; note: string | undefined }
  | { op: 'rows' }
  | { op: 'extra'; result: unknown };

/**
 * A refusal as it crosses back: the stable code where there is one, the message, and its cause (a
 * RowChanged kept as one). One level of cause: the ledger refuses with a GavelError wrapping what failed.
 */
export interface WireError {
  code?: string;
  message: string;
  cause?: { code?: string; message: string; rowChanged?: { sql: string; expected: number; actual: number } };
}

export type AppendOutcome = { id: number; ok: true; receipt: Receipt; results: RowResult[] } | { id: number; ok: false; error: WireError };

/**
 * From the writer: it opened (the head it found), appends settled, a call answered, a checkpoint
 * signed (its note, for witnesses), its health changed, it closed, or it could not open or close.
 */
export type FromWriter =
  | { type: 'ready'; size: number; headHash: string; health: LedgerHealth }
  | { type: 'settled'; outcomes: AppendOutcome[]; size: number; headHash: string }
  | { type: 'answered'; id: number; ok: true; result: CallResult; size: number; headHash: string }
  | { type: 'answered'; id: number; ok: false; error: WireError }
  | { type: 'checkpoint'; note: string; size: number }
  | { type: 'health'; health: LedgerHealth }
  | { type: 'closed' }
  | { type: 'failed'; error: WireError };

export function wireError(err: unknown): WireError {
  const e = err as { code?: unknown; message?: unknown; cause?: unknown } | undefined;
  const cause = e?.cause as { code?: unknown; message?: unknown } | undefined;
  return {
    ...(typeof e?.code === 'string' ? { code: e.code } : {}),
    message: typeof e?.message === 'string' ? e.message : String(err),
    ...(cause && typeof cause.message === 'string'
      ? {
          cause: {
            ...(typeof cause.code === 'string' ? { code: cause.code } : {}),
            message: cause.message,
            ...(cause instanceof RowChanged ? { rowChanged: { sql: cause.sql, expected: cause.expected, actual: cause.actual } } : {}),
          },
        }
      : {}),
  };
}

/** A refusal from the writer as the error it was: a GavelError keeps its stable code, a RowChanged cause stays one. */
export function errorOf(e: WireError): Error {
  const c = e.cause;
  const cause = c?.rowChanged
    ? new RowChanged(c.rowChanged.sql, c.rowChanged.expected, c.rowChanged.actual)
    : c
      ? Object.assign(new Error(c.message), c.code ? { code: c.code } : {})
      : undefined;
  const options = cause ? { cause } : undefined;
  return e.code !== undefined && Object.hasOwn(ERROR_CODES, e.code) ? new GavelError(e.code as ErrorCode, e.message, options) : new Error(e.message, options);
}
