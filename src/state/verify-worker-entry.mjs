// A worker thread runs plain JavaScript: register tsx (as bin/gavel.mjs does) so it can load the TypeScript check.
import { register } from 'tsx/esm/api';

register();
await import('./verify-worker.ts');
