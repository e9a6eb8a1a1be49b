import { type DocumentsJob, parseDocuments } from './documents.js';

/** The bundle document parser's process (`document-parser.ts`): parses each bundle's documents it is sent, in turn. */
const send = process.send?.bind(process);
if (!send) throw new Error('document-parser-child.ts runs as a child process with an IPC channel');
process.on('message', (job: DocumentsJob) => send(parseDocuments(job)));
// The server went away: nothing is waiting for an answer.
process.on('disconnect', () => process.exit(0));
