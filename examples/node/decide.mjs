// Ask gavel for a decision from Node with @gavel-pdp/client, and read a refusal's stable code.
//   npm install @gavel-pdp/client
//   node decide.mjs 127.0.0.1:50051
import { createClient, GavelError } from '@gavel-pdp/client';

const gavel = createClient({ target: process.argv[2] ?? '127.0.0.1:50051', tls: 'insecure', caller: 'node-example' });

const d = await gavel.decide(
  {
    subject: { id: 'alice', type: 'user', roles: ['employee'], team: 'platform', cost_center: 'cc-100' },
    action: { type: 'model.invoke', model: 'standard-m', params: { max_tokens: 256 } },
    content: { prompt: 'Summarise this' },
  },
  { requestId: 'node-1' },
);
console.log(JSON.stringify({ decision: d.outcome, reasons: d.reasons.map((r) => r.code), decision_id: d.decisionId, seq: d.receipt.seq }));

// A refusal: a GavelError with gavel's stable code, read from the standard status details.
try {
  await gavel.decide(new TextEncoder().encode('[1, 2]'));
} catch (err) {
  if (!(err instanceof GavelError)) throw err;
  console.log(JSON.stringify({ status: err.grpcStatus, reason: err.code, retryable: err.retryable }));
}
await gavel.close();
