import { MessageChannel } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { newSalt, SALT_BYTES } from '../../src/lib/salt.js';

describe('newSalt', () => {
  it('hands out 16 random bytes at a time, none twice, across many refills of its pool', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 2_000; i++) {
      const salt = newSalt();
      expect(salt).toHaveLength(SALT_BYTES);
      seen.add(salt.toString('hex'));
    }
    expect(seen.size).toBe(2_000);
    // Random, not a counter or zeros: every byte value turns up in 32,000 bytes.
    const bytes = new Set<number>();
    for (const hex of seen) for (const b of Buffer.from(hex, 'hex')) bytes.add(b);
    expect(bytes.size).toBe(256);
  });

  it('each salt is a buffer of its own: changing or transferring one leaves the next untouched', async () => {
    const a = newSalt();
    const b = newSalt();
    expect(a.byteOffset).toBe(0);
    expect(a.buffer.byteLength).toBe(SALT_BYTES);
    const kept = Buffer.from(b);
    a.fill(0);
    expect(b.equals(kept)).toBe(true);
    const { port1, port2 } = new MessageChannel();
    const got = new Promise<Uint8Array>((resolve) => port2.once('message', resolve));
    port1.postMessage(b, [b.buffer as ArrayBuffer]);
    expect(Buffer.from(await got).equals(kept)).toBe(true);
    port1.close();
    expect(newSalt()).toHaveLength(SALT_BYTES);
  });
});
