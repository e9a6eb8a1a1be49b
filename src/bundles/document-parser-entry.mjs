// The parser's process runs plain JavaScript: register tsx (as bin/gavel.mjs does) so it can load the TypeScript child.
import { register } from 'tsx/esm/api';

register();
await import('./document-parser-child.ts');
