import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gavelServices } from '../../src/transport/proto.js';
import { clients, toStruct, unary, unaryError, type Clients } from '../helpers/client.js';
import { tempDir } from '../helpers/paths.js';
import { startInProcess, type InProcessServer } from '../helpers/server.js';
import { coreOptions, echoInput } from '../ledger/fixtures.js';

/**
 * An input nested past --max-depth (default 64) is refused with input_too_deep
 * (INVALID_ARGUMENT), as input_json and as input_struct, however deep: never a
 * bare INTERNAL from the protobuf decoder, and the server keeps answering.
 *
 * protobufjs will not encode (nor, by default, decode) a message nested more
 * than 100 deep, and a Struct costs two message levels per JSON level, so the
 * deep Structs here are encoded by hand and sent as raw bytes.
 */
let srv: InProcessServer;
let c: Clients;
beforeAll(async () => {
  srv = await startInProcess(coreOptions(join(tempDir(), 'l.db')));
  c = clients(srv.address);
});
afterAll(async () => {
  c.close();
  await srv.stop();
});

const Decide = gavelServices().DecisionService.service.Decide!;

function varint(n: number): number[] {
  const out: number[] = [];
  while (n > 0x7f) {
    out.push((n & 0x7f) | 0x80);
    n >>>= 7;
  }
  out.push(n);
  return out;
}

/**
 * Wire bytes built from the inside out: each `wrap` puts a length-delimited
 * field (tag, optional leading bytes, length) around everything so far, without
 * copying it, so a 10 000-level message costs linear time.
 */
class Nest {
  private readonly chunks: Uint8Array[] = [];
  private size = 0;
  constructor(inner: Uint8Array = new Uint8Array(0)) {
    this.chunks.push(inner);
    this.size = inner.length;
  }
  /** `before` are complete fields written ahead of this one inside the same message. */
  wrap(tag: number, before: number[] = []): this {
    const prefix = Uint8Array.from([...before, tag, ...varint(this.size)]);
    this.chunks.push(prefix);
    this.size += prefix.length;
    return this;
  }
  bytes(): Buffer {
    return Buffer.concat([...this.chunks].reverse());
  }
}

const KEY_A = [0x0a, 0x01, 0x61]; // FieldsEntry.key = "a"

/** Struct `{"a":{"a":…{}}}`: `depth` objects. */
function nestedObjects(depth: number): Nest {
  const n = new Nest();
  for (let i = 1; i < depth; i++) n.wrap(0x2a).wrap(0x12, KEY_A).wrap(0x0a); // Value.struct_value, FieldsEntry.value, Struct.fields
  return n;
}

/** Struct `{"a":[[…[]]]}`: one object and `depth - 1` lists. */
function nestedLists(depth: number): Nest {
  const n = new Nest().wrap(0x32); // the innermost Value: an empty list_value
  for (let i = 2; i < depth; i++) n.wrap(0x0a).wrap(0x32); // ListValue.values, Value.list_value
  return n.wrap(0x12, KEY_A).wrap(0x0a);
}

/** A DecideRequest whose input_struct (field 3) is the given Struct bytes, after any fields already encoded. */
function decideRequest(struct: Buffer, head: Buffer = Buffer.alloc(0)): Buffer {
  return Buffer.concat([head, new Nest(struct).wrap(0x1a).bytes()]);
}

function rawDecide(request: Buffer): Promise<Record<string, any>> {
  const client = c.decision;
  return new Promise((resolve, reject) => {
    client.makeUnaryRequest(
      Decide.path,
      (b: Buffer) => b,
      Decide.responseDeserialize,
      request,
      new grpc.Metadata(),
      { deadline: Date.now() + 15_000 },
      (err, res) => (err ? reject(err) : resolve(res as Record<string, any>)),
    );
  });
}

async function rawDecideError(request: Buffer): Promise<grpc.ServiceError> {
  try {
    await rawDecide(request);
  } catch (err) {
    return err as grpc.ServiceError;
  }
  throw new Error('Decide succeeded but an error was expected');
}

const expectTooDeep = (err: grpc.ServiceError) => {
  expect(err.code, err.details).toBe(grpc.status.INVALID_ARGUMENT);
  expect(err.metadata.get('gavel-error-code')).toEqual(['input_too_deep']);
  expect(err.details).toMatch(/over the limit of 64|deeper than the limit of 64/);
};

/** The server still answers, and nothing was recorded for the refusals. */
const stillAnswers = async (sizeBefore: number) => {
  expect(srv.core.parts.ledger.size).toBe(sizeBefore);
  const ok = await unary(c.decision, 'Decide', { input_json: Buffer.from(JSON.stringify(echoInput())) });
  expect(ok.decision).toBe('DECISION_ALLOW');
};

/** echoInput() through protobufjs's own encoder, then one more Struct occurrence (protobuf merges them) holding `extra`. */
const echoWith = (extra: Buffer) => decideRequest(extra, Decide.requestSerialize({ input_struct: toStruct(echoInput()), request_id: 'deep' }));

describe('a too-deep input is input_too_deep, not INTERNAL', () => {
  it.each([100, 10_000])('input_struct nested %i objects deep', async (depth) => {
    const before = srv.core.parts.ledger.size;
    expectTooDeep(await rawDecideError(decideRequest(nestedObjects(depth).bytes())));
    await stillAnswers(before);
  });

  it.each([100, 10_000])('input_struct nested %i lists deep', async (depth) => {
    const before = srv.core.parts.ledger.size;
    expectTooDeep(await rawDecideError(decideRequest(nestedLists(depth).bytes())));
    await stillAnswers(before);
  });

  it.each([100, 10_000])('input_json nested %i deep (objects, then arrays)', async (depth) => {
    const before = srv.core.parts.ledger.size;
    const objects = `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;
    expectTooDeep(await unaryError(c.decision, 'Decide', { input_json: Buffer.from(objects) }));
    const arrays = `{"a":${'['.repeat(depth)}${']'.repeat(depth)}}`;
    expectTooDeep(await unaryError(c.decision, 'Decide', { input_json: Buffer.from(arrays) }));
    await stillAnswers(before);
  });

  it('a Struct exactly at the limit (past protobufjs own nesting limit) is decided; one level more is refused', async () => {
    // echoInput() is depth 1; its field "deep" adds the nested objects below it.
    const atLimit = nestedObjects(63)
      .wrap(0x2a)
      .wrap(0x12, [0x0a, 0x04, ...Buffer.from('deep')])
      .wrap(0x0a);
    const res = await rawDecide(echoWith(atLimit.bytes()));
    expect(res.decision).toBe('DECISION_ALLOW');
    expect(res.request_id).toBe('deep');
    const overLimit = nestedObjects(64)
      .wrap(0x2a)
      .wrap(0x12, [0x0a, 0x04, ...Buffer.from('deep')])
      .wrap(0x0a);
    expectTooDeep(await rawDecideError(echoWith(overLimit.bytes())));
  });

  it('an input_struct with every kind of value arrives as the same JSON, and the policy and request id survive', async () => {
    const input = { ...echoInput(), extra: { n: 1.5, neg: -2, t: true, f: false, z: null, s: 'ü', l: [1, 'a', [], {}, [null]], o: {} } };
    const res = await unary(c.decision, 'Decide', { policy: 'fixtures/echo', input_struct: toStruct(input), request_id: 'kinds' });
    expect(res).toMatchObject({ decision: 'DECISION_ALLOW', request_id: 'kinds', entrypoint: 'fixtures/echo' });
    const stored = await unary(c.audit, 'GetDecision', { decision_id: res.decision_id });
    const payload = JSON.parse(stored.payload_json.toString()) as { input: Record<string, unknown> };
    const { context: _context, ...sent } = payload.input;
    expect(sent).toEqual(input);
  });

  it('a malformed input_struct is invalid_input', async () => {
    // A FieldsEntry whose length runs past the end of the Struct.
    const err = await rawDecideError(decideRequest(Buffer.from([0x0a, 0x09, ...KEY_A])));
    expect(err.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(err.metadata.get('gavel-error-code')).toEqual(['invalid_input']);
  });
});
