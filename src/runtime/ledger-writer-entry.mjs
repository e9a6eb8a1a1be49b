// The runtime's ledger writer thread runs plain JavaScript: the compiled module, or the TypeScript one through tsx (src/lib/run-source.mjs).
import { runSource } from '../lib/run-source.mjs';

await runSource(import.meta.url, './ledger-writer');
