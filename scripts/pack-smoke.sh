#!/usr/bin/env bash
# Both packages as a user gets them: `npm pack` of @gavel-pdp/gavel and @gavel-pdp/client (prepack
# builds each), installed from the tarballs into an empty project, then: `gavel --version`,
# `gavel serve` with no flags in that empty folder (the shipped reference bundles, its own ledger),
# a decision through the client from plain JavaScript, and the client's types checked from TypeScript.
set -euo pipefail
cd "$(dirname "$0")/.."
repo="$(pwd)"
work="$(mktemp -d)"
server_pid=""
cleanup() {
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

npm pack --silent --pack-destination "$work" > /dev/null
npm pack --silent -w packages/client --pack-destination "$work" > /dev/null
ls "$work"/*.tgz

mkdir "$work/app" && cd "$work/app"
npm init -y > /dev/null
# better-sqlite3 compiles against this Node's headers when no prebuilt binary can be downloaded (README, Quick start).
export npm_config_nodedir="${npm_config_nodedir:-$(dirname "$(dirname "$(command -v node)")")}"
npm install --silent --no-audit --no-fund "$work"/gavel-pdp-gavel-*.tgz "$work"/gavel-pdp-client-*.tgz
test ! -e node_modules/tsx || { echo "tsx was installed: it must be a dev dependency only" >&2; exit 1; }

echo "gavel --version: $(npx --no-install gavel --version)"

# The installed bin itself (not through npx, whose own process a kill would stop while the server went on running).
./node_modules/.bin/gavel serve --listen 127.0.0.1:0 --console-listen 127.0.0.1:0 > serve.log 2>&1 &
server_pid=$!
for _ in $(seq 1 60); do
  if grep -q '"gavel serving"' serve.log; then break; fi
  if ! kill -0 "$server_pid" 2>/dev/null; then cat serve.log >&2; exit 1; fi
  sleep 0.5
done
port="$(grep '"gavel serving"' serve.log | node -e 'process.stdin.on("data", (d) => console.log(JSON.parse(d).port))')"
echo "gavel serve (shipped bundles, ./data/ledger.db) on port $port"
# The console's stylesheet and script ship in the package (copied beside the compiled modules).
console_url="$(grep '"gavel serving"' serve.log | node -e 'process.stdin.on("data", (d) => console.log(JSON.parse(d).console))')"
for asset in console.css console.js; do
  curl -fsS "$console_url/assets/$asset" > /dev/null || { echo "console asset $asset missing from the package" >&2; exit 1; }
done
echo "console at $console_url serves its assets"

cat > smoke.mjs <<'JS'
import { createClient } from '@gavel-pdp/client';

const client = createClient({ target: process.argv[2], tls: 'insecure', caller: 'pack-smoke' });
const subject = { id: 'alice', type: 'user', roles: ['employee'], team: 'platform', cost_center: 'cc-100' };
const allowed = await client.decide({ subject, action: { type: 'model.invoke', model: 'standard-m', params: { max_tokens: 64 } }, content: { prompt: 'hi' } });
const denied = await client.decide({ subject, action: { type: 'model.invoke', model: 'frontier-xl' }, content: { prompt: 'hi' } });
client.close();
if (!allowed.isAllowed() || denied.outcome !== 'deny' || denied.receipt.seq <= allowed.receipt.seq) {
  console.error('unexpected decisions', allowed, denied);
  process.exit(1);
}
console.log(`client from JavaScript: ${allowed.outcome} (seq ${allowed.receipt.seq}), ${denied.outcome} ${denied.reasons[0].code} (seq ${denied.receipt.seq})`);
JS
node smoke.mjs "127.0.0.1:$port"

cat > smoke.ts <<'TS'
import { createClient, GavelError, type Decision } from '@gavel-pdp/client';

const client = createClient({ target: '127.0.0.1:50051', tls: 'insecure', caller: 'types' });
async function check(): Promise<string> {
  try {
    const d: Decision = await client.decide({ action: { type: 'model.invoke' } }, { deadlineMs: 500 });
    return d.outcome;
  } catch (err) {
    return err instanceof GavelError ? err.code : 'other';
  }
}
void check;
TS
cat > tsconfig.json <<'JSON'
{ "compilerOptions": { "module": "NodeNext", "moduleResolution": "NodeNext", "target": "ES2022", "strict": true, "noEmit": true, "skipLibCheck": false, "types": [] }, "files": ["smoke.ts"] }
JSON
node "$repo/node_modules/typescript/bin/tsc" -p tsconfig.json
echo "client types from TypeScript: ok"
# A fallback route: the installed server package's openFallbackPolicy (a bundle signed by the real
# opa, test/fixtures/bundles/signed/, with its test key) decides in the client while gavel is down.
cat > fallback.mjs <<'JS'
import { createClient } from '@gavel-pdp/client';
import { openFallbackPolicy } from '@gavel-pdp/gavel';
const [bundle, key] = process.argv.slice(2);
const client = createClient({
  target: '127.0.0.1:9', tls: 'insecure', retry: false, breaker: false,
  routes: { echo: { failMode: 'fallback' } }, outbox: { path: 'outbox.jsonl' },
  fallback: await openFallbackPolicy({ folder: bundle, keys: [{ file: key }] }),
});
const d = await client.decide({ subject: { id: 'a' }, action: { type: 'x' }, result: { decision: 'allow' } }, { route: 'echo', policy: 'fixtures/echo' });
await client.close().catch(() => undefined);
if (d.offline?.mode !== 'fallback' || d.policy.revision !== 'signed-rs256') { console.error('unexpected', d); process.exit(1); }
console.log(`fallback from the installed server package: ${d.outcome} by ${d.policy.revision} (offline ${d.offline.mode})`);
JS
node fallback.mjs "$repo/test/fixtures/bundles/signed/rs256.tar.gz" "$repo/test/fixtures/signing/rsa.pub"
cat > fallback.ts <<'TS'
import { createClient } from '@gavel-pdp/client';
import { openFallbackPolicy } from '@gavel-pdp/gavel';
export async function make() {
  return createClient({ target: 'x:1', tls: 'insecure', routes: { a: { failMode: 'fallback' } }, outbox: { path: 'o' }, fallback: await openFallbackPolicy({ urls: ['http://b/ai.tar.gz'], keys: [{ file: 'k.pub' }] }) });
}
TS
node -e 'const c=require("./tsconfig.json"); c.files=["fallback.ts"]; require("fs").writeFileSync("tsconfig.json", JSON.stringify(c))'
node "$repo/node_modules/typescript/bin/tsc" -p tsconfig.json
echo "fallback types (server package into client): ok"
kill "$server_pid"
wait "$server_pid" || true
server_pid=""
echo "pack smoke: ok"
