// After tsc: the plain JavaScript entry points under src/ (worker threads, the parser's process, run-source.mjs) go to dist/ beside the compiled modules.
import { copyFileSync, mkdirSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';

const files = readdirSync('src', { recursive: true }).filter((f) => /\.(mjs|css)$/.test(String(f)));
for (const f of files) {
  mkdirSync(dirname(join('dist', f)), { recursive: true });
  copyFileSync(join('src', f), join('dist', f));
}
console.log(`copied ${files.length} .mjs and .css files to dist/`);
