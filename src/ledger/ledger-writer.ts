import { serveWriter } from './writer-worker.js';

// The writer thread with nothing beside appends, erasures and checkpoints (writer-entry.mjs).
serveWriter();
