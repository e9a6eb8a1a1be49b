// A stand-in model server on 127.0.0.1:8081 for trying examples/envoy/envoy.yaml: it answers every
// request like a chat completion and prints what reached it (the model, the gavel headers, the body).
import { createServer } from 'node:http';

createServer((req, res) => {
  let body = '';
  req.on('data', (d) => (body += d));
  req.on('end', () => {
    console.log(JSON.stringify({ path: req.url, model: req.headers['x-gavel-model'] ?? null, decision: req.headers['x-gavel-decision-id'], body }));
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ id: 'stand-in', choices: [{ index: 0, message: { role: 'assistant', content: 'ok' } }] }));
  });
}).listen(Number(process.env.PORT ?? 8081), '127.0.0.1');
