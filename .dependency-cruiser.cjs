/**
 * Layering rules (README "Architecture"): arrows point down only.
 *   edges     cli/                        flags and display: imports the runtime and transport
 *             transport/                  gRPC: imports only the runtime's faces (runtime/faces.ts) and engine types
 *   runtime   runtime.ts, runtime/        the one object that picks adapters, wires them and owns the server's parts
 *   delivery  delivery/                   live and shadow bundle sets: bundles in, the engine's activation out
 *   core      engine/                     owns its ports (Ledger, DecisionMeter) and record types
 *   adapters  ledger/, usage/, bundles/   implement the engine's ports
 *   shared    lib/, log.ts                imports nothing of gavel
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
      to: { path: '^src/(ledger|usage|state|delivery|runtime|transport|cli)/|^src/runtime\\.ts$' },
    },
    {
      name: 'adapters-below-the-edges',
      severity: 'error',
      comment: 'Ledger and usage adapters know nothing of gRPC or the CLI.',
      from: { path: '^src/(ledger|usage)/' },
      to: { path: '^src/(transport|cli|runtime|delivery)/|^src/runtime\\.ts$' },
    },
    {
      name: 'state-below-the-edges',
      severity: 'error',
      comment: 'The state check reads the ledger and the usage tables; only the wiring and the edges use it, and no adapter.',
      from: { path: '^src/(state)/' },
      to: { path: '^src/(transport|cli|runtime|delivery)/|^src/runtime\\.ts$' },
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
      to: { path: '^src/(engine|ledger|usage|state|delivery|runtime|transport|cli)/|^src/runtime\\.ts$' },
    },
    {
      name: 'witness-stands-apart',
      severity: 'error',
      comment: "A witness is someone else's program: it knows the ledger's formats (checkpoints, keys, the Merkle tree) and nothing of gavel's runtime.",
      from: { path: '^src/witness/' },
      to: { path: '^src/(engine|usage|state|delivery|runtime|transport|cli|bundles)/|^src/runtime\\.ts$' },
    },
    { name: 'lib-imports-nothing-of-gavel', severity: 'error', comment: 'Shared helpers sit at the bottom.', from: { path: '^src/lib/' }, to: { path: '^src/(?!lib/)' } },
    {
      name: 'delivery-imports-no-edge',
      severity: 'error',
      comment: 'Delivery receives the engine and callbacks for health and metrics; it knows no edge, runtime or adapter state.',
      from: { path: '^src/delivery/' },
      to: { path: '^src/(transport|cli|runtime|state|ledger|usage)/|^src/runtime\\.ts$' },
    },
    {
      name: 'transport-uses-the-runtime-faces',
      severity: 'error',
      comment: 'gRPC services take the runtime faces (runtime/faces.ts) and engine types, never adapters or the state check.',
      from: { path: '^src/transport/' },
      to: { path: '^src/(ledger|usage|state|bundles|delivery|cli)/|^src/runtime/(?!faces\\.ts$)' },
    },
    {
      name: 'only-the-runtime-wires',
      severity: 'error',
      comment: 'The runtime is started by edges only; nothing below imports it.',
      from: { path: '^src/(engine|ledger|usage|bundles|state|delivery|lib)/' },
      to: { path: '^src/runtime(\\.ts$|/)' },
    },
    {
      name: 'edges-open-no-writer',
      severity: 'error',
      comment: 'Only the runtime opens a store that writes (the ledger, the usage stores): an edge asks the runtime.',
      from: { path: '^src/(cli|transport)/' },
      to: { path: '^src/ledger/(sqlite|threaded|approval-table)\\.ts$|^src/usage/(sqlite|postgres/store)\\.ts$' },
    },
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
