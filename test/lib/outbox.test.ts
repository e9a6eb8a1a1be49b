import { once } from 'node:events';
import { MessageChannel, type MessagePort } from 'node:worker_threads';
import { afterEach, describe, expect, it } from 'vitest';
import { Outbox } from '../../src/lib/outbox.js';

/**
 * lib/outbox.ts over a real MessageChannel: what one turn of the event loop puts in arrives as one list, in order;
 * housekeeping waits for the next message; a message the structured clone refuses fails alone.
 */

const channels: MessageChannel[] = [];
afterEach(() => {
  for (const c of channels.splice(0)) {
    c.port1.close();
    c.port2.close();
  }
});

/** An outbox posting on a fresh channel, what the far side received (each post a list), and what was refused. */
function channel() {
  const c = new MessageChannel();
  channels.push(c);
  const received: unknown[][] = [];
  const refused: Array<{ message: unknown; err: unknown }> = [];
  let posts = 0;
  c.port2.on('message', (list: unknown[]) => received.push(list));
  const outbox = new Outbox<unknown>(
    (messages, transfer) => {
      posts++;
      c.port1.postMessage(messages, transfer);
    },
    (message, err) => refused.push({ message, err }),
  );
  return { outbox, received, refused, posts: () => posts, far: c.port2 };
}

/** Until the far side has received `n` lists. */
async function lists(far: MessagePort, received: unknown[][], n: number): Promise<void> {
  while (received.length < n) await once(far, 'message');
}

const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('Outbox', () => {
  it('posts what one turn put in as one list, in order, and the next turn as another', async () => {
    const { outbox, received, posts, far } = channel();
    outbox.put('a');
    outbox.put('b');
    outbox.put('c');
    expect(outbox.size).toBe(3);
    expect(posts()).toBe(0);
    await lists(far, received, 1);
    expect(outbox.size).toBe(0);
    outbox.put('d');
    await lists(far, received, 2);
    expect(received).toEqual([['a', 'b', 'c'], ['d']]);
    expect(posts()).toBe(2);
  });

  it('transfers what each message names', async () => {
    const { outbox, received, far } = channel();
    const one = new Uint8Array([1, 2]);
    const two = new Uint8Array([3]);
    outbox.put({ bytes: one }, [one.buffer]);
    outbox.put({ bytes: two }, [two.buffer]);
    await lists(far, received, 1);
    expect(received[0]).toEqual([{ bytes: new Uint8Array([1, 2]) }, { bytes: new Uint8Array([3]) }]);
    // Transferred, not copied: this side's views are detached.
    expect([one.byteLength, two.byteLength]).toEqual([0, 0]);
  });

  it('holds a message put in later until the next one is sent, or until schedule() when nothing else comes', async () => {
    const { outbox, received, posts, far } = channel();
    outbox.later('drop 1');
    await turn();
    await turn();
    expect(posts()).toBe(0);
    expect(outbox.size).toBe(1);
    outbox.put('next');
    await lists(far, received, 1);
    expect(received).toEqual([['drop 1', 'next']]);

    outbox.later('drop 2');
    outbox.schedule();
    outbox.schedule();
    await lists(far, received, 2);
    expect(received[1]).toEqual(['drop 2']);
    expect(posts()).toBe(2);
  });

  it('schedules nothing when nothing waits, and send() posts at once', async () => {
    const { outbox, received, posts, far } = channel();
    outbox.schedule();
    await turn();
    expect(posts()).toBe(0);
    outbox.later('now');
    outbox.send();
    expect(posts()).toBe(1);
    await lists(far, received, 1);
    // The turn's scheduled send finds nothing left.
    outbox.put('then');
    outbox.send();
    await turn();
    expect(posts()).toBe(2);
    await lists(far, received, 2);
    expect(received).toEqual([['now'], ['then']]);
  });

  it('a message the structured clone refuses fails alone: the rest arrive, in order, their bytes transferred', async () => {
    const { outbox, received, refused, far } = channel();
    const bytes = new Uint8Array([7]);
    const bad = { run: () => 1 };
    outbox.put('first');
    outbox.put(bad);
    outbox.put({ bytes }, [bytes.buffer]);
    await lists(far, received, 2);
    await turn();
    expect(received).toEqual([['first'], [{ bytes: new Uint8Array([7]) }]]);
    expect(refused).toHaveLength(1);
    expect(refused[0]).toMatchObject({ message: bad, err: { name: 'DataCloneError' } });
    expect(bytes.byteLength).toBe(0);
  });
});
