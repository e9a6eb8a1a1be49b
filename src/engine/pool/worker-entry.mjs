// A worker thread runs plain JavaScript: the compiled worker, or the TypeScript one through tsx (src/lib/run-source.mjs).
import { runSource } from '../../lib/run-source.mjs';

await runSource(import.meta.url, './worker');
