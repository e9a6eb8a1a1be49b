// The parser's process runs plain JavaScript: the compiled child, or the TypeScript one through tsx (src/lib/run-source.mjs).
import { runSource } from '../lib/run-source.mjs';

await runSource(import.meta.url, './document-parser-child');
