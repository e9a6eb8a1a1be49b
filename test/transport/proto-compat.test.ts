import { join } from 'node:path';
import protobuf from 'protobufjs';
import { describe, expect, it } from 'vitest';
import { PROTO_FILES, PROTO_ROOT } from '../../src/transport/proto.js';

/**
 * Request types split off a shared one (buf lint's RPC_REQUEST_RESPONSE_UNIQUE) keep its fields,
 * numbers and types, so a client that still sends the old message is read the same.
 */
describe('split request types', () => {
  const root = new protobuf.Root();
  root.resolvePath = (_o, target) => join(PROTO_ROOT, target);
  root.loadSync(PROTO_FILES, { keepCase: true });
  const shape = (name: string) =>
    root
      .lookupType(name)
      .fieldsArray.map((f) => ({ name: f.name, id: f.id, type: f.type, repeated: f.repeated, oneof: f.partOf?.name ?? '' }))
      .sort((a, b) => a.id - b.id);

  it.each([
    // DecideStreamRequest has grown a field of its own since the split: a request's own traceparent.
    ['gavel.v1.DecideStreamRequest', 'gavel.v1.DecideRequest', ['traceparent']],
    ['gavel.v1.WatchApprovalRequest', 'gavel.v1.GetApprovalRequest', []],
  ])('%s has the fields of %s (and only the added %j beside them)', (split, shared, added) => {
    expect(shape(split).filter((f) => !added.includes(f.name))).toEqual(shape(shared));
    expect(shape(split).map((f) => f.name)).toEqual(expect.arrayContaining(added));
    expect(
      Math.min(
        ...shape(split)
          .filter((f) => added.includes(f.name))
          .map((f) => f.id),
        Number.POSITIVE_INFINITY,
      ),
    ).toBeGreaterThan(Math.max(...shape(shared).map((f) => f.id)));
    const old = root.lookupType(shared);
    const bytes = old.encode(old.fromObject({ policy: 'gavel/ai/decision', input_json: Buffer.from('{}'), request_id: 'r-1', approval_id: 'ap-1' })).finish();
    expect(root.lookupType(split).decode(bytes).toJSON()).toEqual(old.decode(bytes).toJSON());
  });
});
