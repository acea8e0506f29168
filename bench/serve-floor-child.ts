// The floor for bench:serve, in its own process: a Fastify route that parses the same JSON request (Fastify's
// default parser, no schema, no logging) and answers a constant body shaped like an OIP response, with no model
// behind it. What autocannon gets from it on this machine bounds what any JSON-over-HTTP server in Node can
// reach here. Prints one JSON line with its URL, then serves until stdin closes.
import Fastify from 'fastify';

const ANSWER = {
  model_name: 'floor',
  model_version: '1',
  outputs: [
    { name: 'logits', shape: [1, 10], datatype: 'FP32', data: Array.from({ length: 10 }, (_, i) => i / 10) },
    { name: 'probabilities', shape: [1, 10], datatype: 'FP32', data: Array.from({ length: 10 }, () => 0.1) },
  ],
};

const app = Fastify({ logger: false });
app.post('/infer', async (request) => {
  if (!Array.isArray((request.body as { inputs?: unknown }).inputs)) throw new Error('not an inference request');
  return ANSWER;
});
const url = await app.listen({ port: 0, host: '127.0.0.1' });
process.stdout.write(`${JSON.stringify({ url: `${url}/infer` })}\n`);
process.stdin.resume();
process.stdin.on('end', () => void app.close().then(() => process.exit(0)));
