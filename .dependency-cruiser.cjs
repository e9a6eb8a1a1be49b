/**
 * Layering rules (README "Architecture"): arrows point down only.
 *   edges     transport/, cli/            may import anything below
 *   wiring    core.ts, log.ts             picks adapters
 *   adapters  ledger/, usage/, bundles/   implement the engine's ports
 *   core      engine/                     owns its ports (Ledger, DecisionMeter) and record types
 *   shared    lib/                        imports nothing of gavel
 * Type-only imports count: a port that lives in the wrong layer is a layering bug too.
 */
module.exports = {
  forbidden: [
    { name: 'no-cycles', severity: 'error', comment: 'No import cycles anywhere in src/.', from: { path: '^src/' }, to: { circular: true } },
    {
      name: 'engine-is-the-core',
      severity: 'error',
      comment: 'The engine owns the interfaces it consumes; adapters and edges import it, never the reverse.',
      from: { path: '^src/engine/' },
      to: { path: '^src/(ledger|usage|state|transport|cli)/|^src/core\\.ts$' },
    },
    {
      name: 'adapters-below-the-edges',
      severity: 'error',
      comment: 'Ledger and usage adapters know nothing of gRPC or the CLI.',
      from: { path: '^src/(ledger|usage)/' },
      to: { path: '^src/(transport|cli)/|^src/core\\.ts$' },
    },
    {
      name: 'state-below-the-edges',
      severity: 'error',
      comment: 'The state check reads the ledger and the usage tables; only the wiring and the edges use it, and no adapter.',
      from: { path: '^src/(state)/' },
      to: { path: '^src/(transport|cli)/|^src/core\\.ts$' },
    },
    {
      name: 'adapters-not-state',
      severity: 'error',
      from: { path: '^src/(ledger|usage|bundles)/' },
      to: { path: '^src/state/' },
    },
    { name: 'ledger-without-usage', severity: 'error', comment: 'The ledger does not know usage exists.', from: { path: '^src/ledger/' }, to: { path: '^src/usage/' } },
    {
      name: 'bundles-stand-alone',
      severity: 'error',
      comment: 'Bundles are loaded and verified without the engine, ledger, usage or edges.',
      from: { path: '^src/bundles/' },
      to: { path: '^src/(engine|ledger|usage|transport|cli)/|^src/core\\.ts$' },
    },
    { name: 'lib-imports-nothing-of-gavel', severity: 'error', comment: 'Shared helpers sit at the bottom.', from: { path: '^src/lib/' }, to: { path: '^src/(?!lib/)' } },
    { name: 'transport-not-cli', severity: 'error', comment: 'The two edges are independent.', from: { path: '^src/transport/' }, to: { path: '^src/cli/' } },
    { name: 'no-test-code-in-src', severity: 'error', from: { path: '^src/' }, to: { path: '^(test|bench|scripts)/' } },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { extensions: ['.ts', '.js'] },
  },
};
