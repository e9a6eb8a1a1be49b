// The writer thread of test/ledger/threaded-calls.test.ts (extras-writer.ts), run from plain JavaScript as gavel's own entries are.
import { runSource } from '../../../src/lib/run-source.mjs';

await runSource(import.meta.url, './extras-writer');
