/**
 * A real writer thread (serveWriter) with extras of its own, for test/ledger/threaded-calls.test.ts:
 * what a waited-for call can meet there (a result, a refusal, an append of its own, a slow one), and
 * the thread's resource limits as its starter set them.
 */
import { resourceLimits } from 'node:worker_threads';
import { serveWriter } from '../../../src/ledger/writer-worker.js';
import { GavelError } from '../../../src/lib/errors.js';
import { sampleRecord } from '../fixtures.js';

serveWriter({
  limits: () => resourceLimits,
  append: async (ledger, args) => (await ledger.append(sampleRecord({ decisionId: String(args) }))).seq,
  refuse: () => {
    throw new GavelError('invalid_erasure', 'the extra refused', { cause: Object.assign(new Error('why it refused'), { code: 'EWHY' }) });
  },
  sleep: (_ledger, args) => {
    const until = Date.now() + Number(args);
    while (Date.now() < until) {
      // Busy: the thread answers nothing meanwhile.
    }
    return 'slept';
  },
});
