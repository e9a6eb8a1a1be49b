import { describe, expect, it } from 'vitest';
import { checkHeaderBounds, headerFactsOf, MAX_HEADER_FIELD_BYTES } from '../../src/engine/header-facts.js';

/** The header fields that say who asked for what, read from the input as received, and their bound. */
describe('headerFactsOf', () => {
  it('reads subject id and type, team, cost center, action type and the model (else the tool)', () => {
    const input = { subject: { id: 's', type: 'agent', team: 't', cost_center: 'c' }, action: { type: 'tool.call', tool: 'mail.send' } };
    expect(headerFactsOf(input, { requestId: 'r', caller: 'k' })).toEqual({
      subjectId: 's',
      subjectType: 'agent',
      team: 't',
      costCenter: 'c',
      actionType: 'tool.call',
      resource: 'mail.send',
      requestId: 'r',
      caller: 'k',
    });
    expect(headerFactsOf({ action: { type: 'model.invoke', model: 'm', tool: 'x' } }, { requestId: '', caller: '' }).resource).toBe('m');
  });
});

describe('checkHeaderBounds', () => {
  const ok = headerFactsOf({}, { requestId: '', caller: '' });
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
    expect(() => checkHeaderBounds({ ...ok, [key]: 'x'.repeat(MAX_HEADER_FIELD_BYTES) })).not.toThrow();
    expect(() => checkHeaderBounds({ ...ok, [key]: 'x'.repeat(MAX_HEADER_FIELD_BYTES + 1) })).toThrow(
      expect.objectContaining({
        code: 'invalid_input',
        message: `${name} is ${MAX_HEADER_FIELD_BYTES + 1} bytes; at most ${MAX_HEADER_FIELD_BYTES} are recorded`,
      }),
    );
  });
});
