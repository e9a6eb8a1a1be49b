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
    ['gavel.v1.DecideStreamRequest', 'gavel.v1.DecideRequest'],
    ['gavel.v1.WatchApprovalRequest', 'gavel.v1.GetApprovalRequest'],
  ])('%s has the fields of %s', (split, shared) => {
    expect(shape(split)).toEqual(shape(shared));
    const old = root.lookupType(shared);
    const bytes = old.encode(old.fromObject({ policy: 'gavel/ai/decision', input_json: Buffer.from('{}'), request_id: 'r-1', approval_id: 'ap-1' })).finish();
    expect(root.lookupType(split).decode(bytes).toJSON()).toEqual(old.decode(bytes).toJSON());
  });
});
