import { loadPolicy } from '@open-policy-agent/opa-wasm';
import { loadBundles } from '/work/main/src/bundles/loader.js';
import { loadWorkload } from '/work/main/bench/lib/workload.js';
const [b] = loadBundles('/work/main/bundles/ai.tar.gz');
const p = await loadPolicy(b!.wasm, { initial: 32, maximum: 2048 });
p.setData(b!.data);
const w = loadWorkload();
const full = w.inputs[0]!;
const noctx = { ...full, content: { prompt: '' } };
for (const [name, inp] of [['full', full], ['noctx', noctx]] as const) {
  for (let i = 0; i < 300; i++) p.evaluate(inp, 'gavel/ai/decision');
  const t = performance.now(); const n = 2000;
  for (let i = 0; i < n; i++) p.evaluate(inp, 'gavel/ai/decision');
  console.log(name, ((performance.now() - t) / n).toFixed(3), 'ms', JSON.stringify(inp).length, JSON.stringify(p.evaluate(inp,'gavel/ai/decision')).slice(0,200));
}
