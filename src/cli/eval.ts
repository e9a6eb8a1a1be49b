import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { startRuntime } from '../runtime.js';
import { timeOption } from './options.js';
import { DEFAULTS } from './settings.js';

interface EvalOptions {
  policy: string;
  input: string;
  bundles: string;
  ledger: string;
  now?: string;
}

export function registerEval(program: Command): void {
  program
    .command('eval')
    .description('evaluate one input locally through the same engine and print the decision as JSON')
    .requiredOption('--input <file|->', 'input document (JSON object), or - for stdin')
    .option('--policy <entrypoint>', 'entrypoint; default gavel/ai/decision', '')
    .option('--bundles <dir>', 'folder of OPA bundles', DEFAULTS.bundles)
    .option(
      '--ledger <file>',
      "record the decision in this ledger and read usage from it, as the server does (default: an in-memory ledger and no usage state: the input's own context.usage and context.history reach the policy)",
      ':memory:',
    )
    .option('--now <rfc3339>', 'evaluate as of this time (replay)', timeOption)
    .addHelpText(
      'after',
      '\nExamples:\n  gavel eval --input policies/ai/samples/employee-standard-allowed.json\n  echo \'{"subject":{"id":"a"}}\' | gavel eval --input -',
    )
    .action(run);
}

async function run(o: EvalOptions): Promise<void> {
  const text = o.input === '-' ? readFileSync(0) : readFileSync(o.input);
  const fixed = o.now ? new Date(o.now) : undefined;
  // Without a ledger file there is no usage state to read: metering would replace the input's
  // context.usage and context.history with zeros, so it is off and the input's own are used;
  // likewise no approval can be looked up, so the input's own context.approval reaches the policy.
  const metered = o.ledger !== ':memory:';
  // The same runtime `gavel serve` starts (eval decides once; it does not record a start set).
  const runtime = await startRuntime({
    bundles: o.bundles,
    ledger: o.ledger,
    ...(metered ? {} : { usage: false, approvals: false }),
    ...(fixed ? { now: () => fixed } : {}),
  });
  try {
    const input = unwrapSample(text);
    const d = await runtime.decide({ policy: o.policy, input: { json: input }, requestId: '', caller: 'cli' });
    process.stdout.write(`${JSON.stringify(d, null, 2)}\n`);
  } finally {
    await runtime.stop();
  }
}

/** Sample files wrap the input as {"name", "input", "expect"}; accept both shapes. */
function unwrapSample(bytes: Buffer): Buffer {
  try {
    const parsed: unknown = JSON.parse(bytes.toString('utf8'));
    if (typeof parsed === 'object' && parsed !== null && 'input' in parsed && 'expect' in parsed) {
      return Buffer.from(JSON.stringify((parsed as { input: unknown }).input));
    }
  } catch {
    // Not JSON: let the engine report it as invalid_input.
  }
  return bytes;
}
