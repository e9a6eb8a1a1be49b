// prepack: the package ships the .proto files it loads at run time in proto/ beside dist/
// (src/proto-root.ts looks there first): gavel's own and the vendored google.rpc ones, copied
// fresh from the repository's proto/ so a packed client always carries the protos it was built with.
import { cpSync, rmSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const from = fileURLToPath(new URL('../../../proto/', import.meta.url));
const to = fileURLToPath(new URL('../proto/', import.meta.url));

rmSync(to, { recursive: true, force: true });
for (const dir of ['gavel', 'google']) {
  cpSync(`${from}${dir}`, `${to}${dir}`, { recursive: true, filter: (src) => src.endsWith('.proto') || statSync(src).isDirectory() });
}
console.log(`copied gavel/ and google/ protos to ${to}`);
