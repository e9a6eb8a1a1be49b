// A worker thread runs plain JavaScript: the compiled check, or the TypeScript one through tsx (src/lib/run-source.mjs).
import { runSource } from '../lib/run-source.mjs';

await runSource(import.meta.url, './verify-worker');
