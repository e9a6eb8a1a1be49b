import { describe, expect, it } from 'vitest';
import { checkIdentityBounds, identityOf, MAX_HEADER_FIELD_BYTES } from '../../src/engine/identity.js';

/** The header fields that say who asked for what, read from the input as received, and their bound. */
describe('identityOf', () => {
  it('reads subject id and type, team, cost center, action type and the model (else the tool)', () => {
    const input = { subject: { id: 's', type: 'agent', team: 't', cost_center: 'c' }, action: { type: 'tool.call', tool: 'mail.send' } };
    expect(identityOf(input, { requestId: 'r', caller: 'k' })).toEqual({
      subjectId: 's',
      subjectType: 'agent',
      team: 't',
      costCenter: 'c',
      actionType: 'tool.call',
      resource: 'mail.send',
      requestId: 'r',
      caller: 'k',
    });
    expect(identityOf({ action: { type: 'model.invoke', model: 'm', tool: 'x' } }, { requestId: '', caller: '' }).resource).toBe('m');
  });
});

describe('checkIdentityBounds', () => {
  const ok = identityOf({}, { requestId: '', caller: '' });
  it.each([
    ['subjectId', 'subject.id'],
    ['subjectType', 'subject.type'],
    ['team', 'team'],
    ['costCenter', 'cost_center'],
    ['actionType', 'action.type'],
    ['resource', 'action.model / action.tool'],
    ['requestId', 'request_id'],
    ['caller', 'caller'],
  ] as const)('%s over the bound is refused naming %s, its size and the bound', (key, name) => {
    expect(() => checkIdentityBounds({ ...ok, [key]: 'x'.repeat(MAX_HEADER_FIELD_BYTES) })).not.toThrow();
    expect(() => checkIdentityBounds({ ...ok, [key]: 'x'.repeat(MAX_HEADER_FIELD_BYTES + 1) })).toThrow(
      expect.objectContaining({
        code: 'invalid_input',
        message: `${name} is ${MAX_HEADER_FIELD_BYTES + 1} bytes; at most ${MAX_HEADER_FIELD_BYTES} are recorded`,
      }),
    );
  });
});
