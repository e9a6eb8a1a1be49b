// A writer thread that speaks ThreadedLedger's protocol (src/ledger/writer-protocol.ts) by a
// script, for test/ledger/threaded-faults.test.ts: the faults a real writer cannot be made to show
// on demand (dying before it is ready, saying something else first, answering a call with another
// op, failing its close or dying in it). It opens no file; the scenario is `workerData.config.scenario`.
import { parentPort, workerData } from 'node:worker_threads';

const { scenario } = workerData.config;
const port = parentPort;
const ready = { type: 'ready', size: 0, headHash: '00'.repeat(32), health: { ok: true } };

if (scenario === 'throw-at-start') throw new Error('the scripted writer failed at start');
if (scenario === 'exit-at-start') process.exit(3);
if (scenario === 'health-first') port.postMessage({ type: 'health', health: { ok: true } });
else if (scenario === 'refused-at-start') port.postMessage({ type: 'failed', error: { code: 'ledger_in_use', message: 'held by pid 1' } });
else port.postMessage(ready);

/** What a call is answered with: the op it did not ask for (scenario wrong-op). */
const OTHER = { erase: { op: 'rows' }, checkpoint: { op: 'rows' }, rows: { op: 'checkpoint', note: 'n' }, extra: { op: 'checkpoint', note: 'n' } };

port.on('message', (m) => {
  if (scenario === 'silent') {
    // Hears a call and never answers it; a checkpoint call makes the thread fail (an uncaught error).
    if (m.type === 'call' && m.call.op === 'checkpoint') throw new Error('the scripted writer broke on a checkpoint');
    return;
  }
  if (scenario === 'wrong-op') {
    if (m.type === 'call') port.postMessage({ type: 'answered', id: m.id, ok: true, result: OTHER[m.call.op], size: 0, headHash: ready.headHash });
    if (m.type === 'call-now') {
      m.port.postMessage({ ok: true, result: OTHER[m.call.op], size: 0, headHash: ready.headHash });
      Atomics.store(m.signal, 0, 1);
      Atomics.notify(m.signal, 0);
    }
    if (m.type === 'close') {
      port.postMessage({ type: 'closed' });
      port.close();
    }
    return;
  }
  if (scenario === 'exit-on-close' && m.type === 'close') process.exit(0);
  if (scenario === 'close-fails' && m.type === 'close') {
    port.postMessage({ type: 'failed', error: { code: 'ledger_unavailable', message: 'the last checkpoint could not be signed' } });
    port.close();
  }
});
