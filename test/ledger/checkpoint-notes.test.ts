import { sign } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  CheckpointError,
  checkpointBody,
  ledgerOrigin,
  parseCheckpoint,
  signCheckpoint,
  verifyCheckpoint,
  type Checkpoint,
} from '../../src/ledger/checkpoint.js';
import { ephemeralKey, keyId, verifierOf, type SigningKey } from '../../src/ledger/keys.js';

/**
 * The signed-note form of a checkpoint, checked in-process: which signature line
 * counts, and what a malformed note is refused for. An auditor keeps these notes
 * off the machine, so the parser must accept exactly the notes the ledger signs
 * and nothing that merely looks like one.
 */

const ORIGIN = ledgerOrigin('11111111-2222-3333-4444-555555555555');
const HEAD = 'c0ffee'.repeat(10) + 'abcd';
const cp = (over: Partial<Checkpoint> = {}): Checkpoint => ({ origin: ORIGIN, size: 7, headHash: HEAD, time: '2026-01-02T03:04:05.000Z', ...over });

/** A signature line as signCheckpoint writes it, for `body`, by `key` under `name`. */
function signatureLine(body: string, key: SigningKey, name = key.name, prefix = '\u2014 '): string {
  const blob = Buffer.concat([keyId(key.name, key.publicKey), sign(null, Buffer.from(body), key.privateKey)]).toString('base64');
  return `${prefix}${name} ${blob}\n`;
}

describe('the note layout', () => {
  it('is origin, size, base64 head hash and time, a blank line, then one em-dash signature line', () => {
    const key = ephemeralKey(ORIGIN);
    const note = signCheckpoint(cp(), key);
    const lines = note.split('\n');
    expect(lines.slice(0, 5)).toEqual([ORIGIN, '7', Buffer.from(HEAD, 'hex').toString('base64'), 'time 2026-01-02T03:04:05.000Z', '']);
    expect(lines[5]).toMatch(new RegExp(`^\u2014 ${ORIGIN.replace(/[./]/g, '\\$&')} [A-Za-z0-9+/]+=*$`));
    expect(Buffer.from(lines[5]!.split(' ')[2]!, 'base64')).toHaveLength(68);
    expect(lines[6]).toBe('');
    expect(checkpointBody(cp())).toBe(`${lines.slice(0, 4).join('\n')}\n`);
  });

  it('round-trips through parse and verify', () => {
    const key = ephemeralKey(ORIGIN);
    const note = signCheckpoint(cp(), key);
    expect(verifyCheckpoint(note, verifierOf(key))).toEqual(cp());
    const parsed = parseCheckpoint(note);
    expect(parsed.body).toBe(checkpointBody(cp()));
    expect(parsed.signatures).toHaveLength(1);
    expect(parsed.signatures[0]!.name).toBe(ORIGIN);
  });

  it('a checkpoint of size 0 (an empty log) is well formed', () => {
    const key = ephemeralKey(ORIGIN);
    expect(verifyCheckpoint(signCheckpoint(cp({ size: 0 }), key), verifierOf(key)).size).toBe(0);
  });

  it('a body without a time line parses with an empty time', () => {
    const key = ephemeralKey(ORIGIN);
    const body = `${ORIGIN}\n3\n${Buffer.from(HEAD, 'hex').toString('base64')}\n`;
    const note = `${body}\n${signatureLine(body, key)}`;
    expect(verifyCheckpoint(note, verifierOf(key))).toEqual({ origin: ORIGIN, size: 3, headHash: HEAD, time: '' });
  });

  it('a fourth line that is not "time …" gives an empty time', () => {
    expect(parseCheckpoint(`${ORIGIN}\n3\n${Buffer.from(HEAD, 'hex').toString('base64')}\nclock 2026\n\n`).checkpoint.time).toBe('');
  });
});

describe('malformed notes are refused with the reason', () => {
  const b64 = Buffer.from(HEAD, 'hex').toString('base64');
  it.each([
    ['no blank line before the signatures', `${ORIGIN}\n7\n${b64}\ntime x\n`, /no signature block/],
    ['a blank first line', `\n\n${ORIGIN}\n7\n${b64}\n`, /body is malformed/],
    ['no origin', `\n7\n${b64}\ntime x\n\n`, /body is malformed/],
    ['a negative size', `${ORIGIN}\n-1\n${b64}\ntime x\n\n`, /body is malformed/],
    ['a fractional size', `${ORIGIN}\n1.5\n${b64}\ntime x\n\n`, /body is malformed/],
    ['a size past 2^53', `${ORIGIN}\n9007199254740993\n${b64}\ntime x\n\n`, /body is malformed/],
    ['a size that is not a number', `${ORIGIN}\nseven\n${b64}\ntime x\n\n`, /body is malformed/],
    ['no head hash', `${ORIGIN}\n7\n\n\n`, /body is malformed/],
    ['a head hash of 31 bytes', `${ORIGIN}\n7\n${Buffer.alloc(31, 1).toString('base64')}\ntime x\n\n`, /not 32 bytes/],
    ['a head hash of 33 bytes', `${ORIGIN}\n7\n${Buffer.alloc(33, 1).toString('base64')}\ntime x\n\n`, /not 32 bytes/],
  ])('%s', (_name, note, reason) => {
    expect(() => parseCheckpoint(note)).toThrow(CheckpointError);
    expect(() => parseCheckpoint(note)).toThrow(reason);
  });

  it('CheckpointError names itself', () => {
    expect(new CheckpointError('x').name).toBe('CheckpointError');
  });
});

describe('which signature line counts', () => {
  const key = ephemeralKey(ORIGIN);
  const verifier = verifierOf(key);
  const body = checkpointBody(cp());

  it('only a line that starts with the em dash and a space is a signature', () => {
    for (const prefix of ['- ', '-- ', '\u2013 ', '\u2014', ' \u2014 ']) {
      const note = `${body}\n${signatureLine(body, key, ORIGIN, prefix)}`;
      expect(parseCheckpoint(note).signatures).toEqual([]);
      expect(() => verifyCheckpoint(note, verifier)).toThrow(/has no signature by/);
    }
  });

  it('a valid signature under another name does not count', () => {
    const note = `${body}\n${signatureLine(body, key, 'gavel.ledger/someone-else')}`;
    expect(() => verifyCheckpoint(note, verifier)).toThrow(`checkpoint at size 7 has no signature by ${ORIGIN}`);
  });

  it('a line whose key id is not the key is skipped for a later line that is', () => {
    const other = ephemeralKey(ORIGIN);
    const note = `${body}\n${signatureLine(body, other)}${signatureLine(body, key)}`;
    expect(verifyCheckpoint(note, verifier)).toEqual(cp());
    // Alone, the other key's line is no signature by this key at all.
    expect(() => verifyCheckpoint(`${body}\n${signatureLine(body, other)}`, verifier)).toThrow(/has no signature by/);
  });

  it('a line of the wrong length is skipped for a later good one, and alone is no signature', () => {
    const good = signatureLine(body, key);
    const blob = Buffer.from(good.trim().split(' ')[2]!, 'base64');
    const short = `\u2014 ${ORIGIN} ${blob.subarray(0, 67).toString('base64')}\n`;
    const long = `\u2014 ${ORIGIN} ${Buffer.concat([blob, Buffer.from([0])]).toString('base64')}\n`;
    expect(verifyCheckpoint(`${body}\n${short}${long}${good}`, verifier)).toEqual(cp());
    expect(() => verifyCheckpoint(`${body}\n${short}`, verifier)).toThrow(/has no signature by/);
    expect(() => verifyCheckpoint(`${body}\n${long}`, verifier)).toThrow(/has no signature by/);
  });

  it('a right-looking line whose signature does not match the body is an invalid signature', () => {
    const note = `${body}\n${signatureLine(checkpointBody(cp({ size: 8 })), key)}`;
    expect(() => verifyCheckpoint(note, verifier)).toThrow('checkpoint at size 7 has an invalid signature');
  });

  it('a signature line without a blob is no signature', () => {
    expect(parseCheckpoint(`${body}\n\u2014 ${ORIGIN}\n`).signatures).toEqual([{ name: ORIGIN, blob: Buffer.alloc(0) }]);
    expect(() => verifyCheckpoint(`${body}\n\u2014 ${ORIGIN}\n`, verifier)).toThrow(/has no signature by/);
  });
});

describe('only the signature block holds signatures', () => {
  const key = ephemeralKey(ORIGIN);

  it('a body line that looks like a signature line is not one', () => {
    const body = `\u2014 ${ORIGIN} AAAA\n7\n${Buffer.from(HEAD, 'hex').toString('base64')}\ntime x\n`;
    const note = `${body}\n${signatureLine(body, key)}`;
    const parsed = parseCheckpoint(note);
    expect(parsed.checkpoint.origin).toBe(`\u2014 ${ORIGIN} AAAA`);
    expect(parsed.signatures).toHaveLength(1);
    expect(parsed.signatures[0]!.blob).toHaveLength(68);
  });

  it('the end of the body just before the blank line is not read as a signature', () => {
    const body = `${ORIGIN}\n7\n${Buffer.from(HEAD, 'hex').toString('base64')}\ntime \u2014 \n`;
    const note = `${body}\n${signatureLine(body, key)}`;
    const parsed = parseCheckpoint(note);
    expect(parsed.checkpoint.time).toBe('\u2014 ');
    expect(parsed.signatures.map((s) => s.name)).toEqual([ORIGIN]);
    expect(verifyCheckpoint(note, verifierOf(key)).time).toBe('\u2014 ');
  });
});
