import { inflateRawSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { engineConfig } from '../../src/engine/config.js';
import type { WasmEvaluator } from '../../src/engine/evaluator.js';
import { fromWire, toWire, type FromWorker, type ToWorker } from '../../src/engine/pool/protocol.js';
import { WorkerHandler } from '../../src/engine/pool/worker-handler.js';
import type { EvaluateRequest } from '../../src/engine/stages.js';
import { finishDeflate } from '../../src/lib/deflate-head.js';
import { GavelError } from '../../src/lib/errors.js';
import { bareEngine, type BareEngine } from '../helpers/bare-engine.js';
import { FIXTURE_BUNDLES } from '../helpers/paths.js';

/**
 * An evaluation worker's handling of the pool's messages (engine/pool/worker-handler.ts), driven on this
 * thread with the real fixtures bundle: what each message is answered with, what it keeps, and the faults
 * (a GavelError keeps its code across the boundary; anything else is internal; a drop is never answered).
 */

let core: BareEngine;
let echo: WasmEvaluator;
const limits = engineConfig();

beforeAll(() => {
  core = bareEngine(FIXTURE_BUNDLES, { defaultEntrypoint: 'fixtures/echo' });
  echo = core.policies.resolve('fixtures/echo');
});
afterAll(() => core.close());

function worker(): { send: (m: ToWorker) => FromWorker[] } {
  const handler = new WorkerHandler(limits, (m) => replies.push(m));
  let replies: FromWorker[] = [];
  return {
    send(m) {
      replies = [];
      handler.handle(m);
      return replies;
    },
  };
}

const load = (key: string): ToWorker => {
  const { wasm: _bytes, ...rest } = echo.bundle;
  return { t: 'load', load: { key, bundle: rest, module: echo.compiled } };
};
const input = (value: unknown) => ({ json: Buffer.from(JSON.stringify(value)) });
const prepare = (id: number, value: unknown = { result: { decision: 'allow' } }, extra: object = {}): ToWorker => ({
  t: 'prepare',
  id,
  req: { input: input(value), requestId: `r-${id}`, caller: 'test', ...extra },
});
const req: EvaluateRequest = { decisionId: 'd-1', entrypoint: 'fixtures/echo', nowMs: Date.parse('2026-12-06T10:00:00Z'), context: undefined };
const census = (w: ReturnType<typeof worker>) => w.send({ t: 'ping', id: 99 });

describe('WorkerHandler', () => {
  it('loads a bundle, prepares, evaluates and shadows a decision, and keeps its input until it is dropped', () => {
    const w = worker();
    expect(w.send(load('1:fixtures'))).toEqual([]);
    expect(census(w)).toEqual([{ t: 'pong', id: 99, census: { held: 0, bundles: 1 } }]);

    const [prepared] = w.send(prepare(7));
    expect(prepared).toMatchObject({ t: 'prepared', id: 7 });
    const value = (prepared as Extract<FromWorker, { t: 'prepared' }>).value;
    expect(Object.keys(value).sort()).toEqual(['binding', 'facts', 'header']);
    expect(value.header).toBeDefined();
    expect(census(w)).toEqual([{ t: 'pong', id: 99, census: { held: 1, bundles: 1 } }]);

    const [evaluated] = w.send({ t: 'evaluate', id: 7, key: '1:fixtures', req });
    expect(evaluated).toMatchObject({ t: 'evaluated', id: 7, value: { decision: 'allow' } });
    const { ms, value: result, head } = evaluated as Extract<FromWorker, { t: 'evaluated' }>;
    // The payload deflated on the worker but its closing brace, which the recording thread appends after the keys it adds;
    // sent as bytes and a length, not its text again.
    expect(result.record.payloadHead).toBeUndefined();
    expect(head.length).toBe(result.record.payloadJcs.length - 1);
    expect(inflateRawSync(finishDeflate(head.bytes, '}')).toString()).toBe(result.record.payloadJcs);
    // How long the evaluation took: a few milliseconds at most, never a clock reading.
    expect(ms).toBeGreaterThanOrEqual(0);
    expect(ms).toBeLessThan(250);
    // Kept after its evaluation: a decision whose usage went stale is evaluated again.
    expect(w.send({ t: 'evaluate', id: 7, key: '1:fixtures', req })).toMatchObject([{ t: 'evaluated', id: 7 }]);
    expect(w.send({ t: 'shadow', id: 7, key: '1:fixtures', req })).toEqual([{ t: 'shadowed', id: 7, value: { decision: 'allow', reasonCodes: [] } }]);

    expect(w.send({ t: 'drop', id: 7 })).toEqual([]);
    expect(census(w)).toEqual([{ t: 'pong', id: 99, census: { held: 0, bundles: 1 } }]);
    expect(w.send({ t: 'drop-bundle', key: '1:fixtures' })).toEqual([]);
    expect(census(w)).toEqual([{ t: 'pong', id: 99, census: { held: 0, bundles: 0 } }]);
  });

  it('a retry of a recorded request is prepared with the verdict on its input', () => {
    const w = worker();
    const [prepared] = w.send(prepare(3, { a: 1 }, { recall: { salt: '00', requestHash: 'not-this-one', hashedPaths: [] } }));
    expect((prepared as Extract<FromWorker, { t: 'prepared' }>).value.recalled).toEqual({ same: false });
  });

  it('answers a message it cannot carry out with its fault, under its id', () => {
    const w = worker();
    w.send(load('1:fixtures'));
    expect(w.send({ t: 'evaluate', id: 5, key: '1:fixtures', req })).toEqual([
      { t: 'fault', id: 5, fault: { code: 'internal', message: 'worker has no prepared decision 5', gavel: false } },
    ]);
    w.send(prepare(5));
    expect(w.send({ t: 'shadow', id: 5, key: '2:other', req })).toEqual([
      { t: 'fault', id: 5, fault: { code: 'internal', message: 'worker has no bundle 2:other', gavel: false } },
    ]);
    expect(w.send({ t: 'evaluate', id: 5, key: '2:other', req })).toEqual([
      { t: 'fault', id: 5, fault: { code: 'internal', message: 'worker has no bundle 2:other', gavel: false } },
    ]);
    const [bad] = w.send({ t: 'prepare', id: 6, req: { input: { json: Buffer.from('{not json') }, requestId: 'r-6', caller: 'test' } });
    expect(bad).toMatchObject({ t: 'fault', id: 6, fault: { code: 'invalid_input', gavel: true } });
    // Nothing kept for a decision that could not be prepared.
    expect(census(w)).toEqual([{ t: 'pong', id: 99, census: { held: 1, bundles: 1 } }]);
  });

  it('never answers a drop or a load, even one that fails', () => {
    const w = worker();
    expect(w.send({ t: 'drop', id: 404 })).toEqual([]);
    expect(w.send({ t: 'load', load: { key: 'k', bundle: echo.bundle, module: undefined as unknown as WebAssembly.Module } })).toEqual([]);
    expect(census(w)).toEqual([{ t: 'pong', id: 99, census: { held: 0, bundles: 0 } }]);
  });
});

describe('a fault across the boundary', () => {
  it('a GavelError keeps its code and message; anything else is internal, with its message', () => {
    const gavel = toWire(new GavelError('evaluation_unavailable', 'it trapped'));
    expect(gavel).toEqual({ code: 'evaluation_unavailable', message: 'it trapped', gavel: true });
    const back = fromWire(gavel);
    expect(back).toBeInstanceOf(GavelError);
    expect([(back as GavelError).code, back.message]).toEqual(['evaluation_unavailable', 'it trapped']);

    const plain = toWire(new TypeError('broken'));
    expect(plain).toEqual({ code: 'internal', message: 'broken', gavel: false });
    const again = fromWire(plain);
    expect(again).not.toBeInstanceOf(GavelError);
    expect(again.message).toBe('broken');
    expect(toWire('a string')).toEqual({ code: 'internal', message: 'a string', gavel: false });
  });
});
