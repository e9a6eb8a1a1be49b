import { describe, expect, it } from 'vitest';
import { RowChanged } from '../../src/engine/ledger.js';
import { appendItem, errorOf, itemRecord, wireError } from '../../src/ledger/writer-protocol.js';
import { deflateHead } from '../../src/lib/deflate-head.js';
import { sampleRecord } from './fixtures.js';
import { GavelError } from '../../src/lib/errors.js';

/**
 * A refusal crosses from the ledger's writer thread as data (wireError there, errorOf here): the
 * caller must get the error it would have got on one thread — a GavelError's stable code (what the
 * edge maps to a gRPC status), its cause's code, and a RowChanged cause as a RowChanged.
 */
const crossed = (err: unknown) => errorOf(structuredClone(wireError(err)));

describe('a writer refusal as it crosses threads', () => {
  it('keeps a GavelError with its code, message and a cause with its own code', () => {
    const cause = Object.assign(new Error('SQLITE_FULL: database or disk is full'), { code: 'SQLITE_FULL' });
    const err = crossed(new GavelError('ledger_unavailable', 'could not write', { cause }));
    expect(err).toBeInstanceOf(GavelError);
    expect(err).toMatchObject({ code: 'ledger_unavailable', message: 'could not write' });
    expect(err.cause).toBeInstanceOf(Error);
    expect(err.cause).toMatchObject({ code: 'SQLITE_FULL', message: 'SQLITE_FULL: database or disk is full' });
    expect(wireError(new GavelError('ledger_unavailable', 'could not write', { cause }))).toEqual({
      code: 'ledger_unavailable',
      message: 'could not write',
      cause: { code: 'SQLITE_FULL', message: 'SQLITE_FULL: database or disk is full' },
    });
  });

  it('keeps a RowChanged cause as one, with what it expected and found', () => {
    const err = crossed(new GavelError('ledger_unavailable', 'refused', { cause: new RowChanged('UPDATE t SET n = 1', 1, 0) }));
    expect(err.cause).toBeInstanceOf(RowChanged);
    expect(err.cause).toMatchObject({ sql: 'UPDATE t SET n = 1', expected: 1, actual: 0 });
  });

  it('a cause without a code or message, or a code that is not gavel’s, is carried as far as it is data', () => {
    expect(wireError(new Error('plain'))).toEqual({ message: 'plain' });
    expect(wireError(new Error('plain', { cause: 'a string' }))).toEqual({ message: 'plain' });
    // Strictly: no `code: undefined` member either.
    expect(wireError(new Error('plain', { cause: { message: 'no code' } }))).toStrictEqual({ message: 'plain', cause: { message: 'no code' } });
    expect(wireError(Object.assign(new Error('numbered'), { code: 5 }))).toEqual({ message: 'numbered' });
    expect(wireError('just a string')).toEqual({ message: 'just a string' });
    expect(wireError(undefined)).toEqual({ message: 'undefined' });
    // A code gavel does not know (SQLite's, Node's) leaves a plain Error, message kept, cause unchanged.
    const sqlite = crossed(Object.assign(new Error('SQLITE_BUSY: database is locked'), { code: 'SQLITE_BUSY' }));
    expect(sqlite).not.toBeInstanceOf(GavelError);
    expect(sqlite).toBeInstanceOf(Error);
    expect(sqlite.message).toBe('SQLITE_BUSY: database is locked');
    expect(errorOf({ message: 'toString', code: 'toString' })).not.toBeInstanceOf(GavelError);
    const noCode = errorOf({ message: 'no code', cause: { message: 'inner' } });
    expect(noCode).not.toBeInstanceOf(GavelError);
    expect(noCode.cause).toBeInstanceOf(Error);
    expect(noCode.cause).not.toHaveProperty('code');
    expect(errorOf({ message: 'bare' }).cause).toBeUndefined();
  });
});

describe('an append as it crosses to the writer thread', () => {
  const jcs = '{"input":{"a":1},"result":{"b":2},"usage":{"c":3}}';
  const head = deflateHead('{"input":{"a":1},"result":{"b":2}');

  it("carries the payload's head as bytes and a length, not its text, and the writer has it whole again", () => {
    // A Uint8Array salt: a Buffer crosses as one.
    const record = sampleRecord({ payloadJcs: jcs, payloadHead: head, salt: new Uint8Array(16).fill(3) });
    const item = structuredClone(appendItem(7, record, [], undefined));
    expect(item.record).not.toHaveProperty('payloadHead');
    expect(item.head).toEqual({ bytes: head.bytes, length: head.text.length });
    expect(itemRecord(item)).toEqual(record);
  });

  it('drops a head the payload no longer starts with, and leaves a record without one as it is', () => {
    const first = sampleRecord({ payloadJcs: `{"approval":{"d":4},${jcs.slice(1)}`, payloadHead: head });
    const item = appendItem(1, first, [], undefined);
    expect(item).not.toHaveProperty('head');
    expect(itemRecord(item)).not.toHaveProperty('payloadHead');
    // A record whose payload is a value, not its text: nothing for a head to start, none sent, none rebuilt.
    const valued = sampleRecord({ payloadHead: head });
    expect(appendItem(3, valued, [], undefined)).not.toHaveProperty('head');
    expect(itemRecord({ id: 3, record: sampleRecord(), head: { bytes: head.bytes, length: 5 }, writes: [] })).not.toHaveProperty('payloadHead');
    const plain = sampleRecord({ payloadJcs: jcs });
    expect(appendItem(2, plain, [], [plain]).record).toBe(plain);
    expect(itemRecord(appendItem(2, plain, [], [plain]))).toBe(plain);
  });
});
