// Runs the test S3 server (s3rver) in its own process for bench:registry, so its memory is not counted in the
// benchmark's RSS. Prints one JSON line with the endpoint, then serves until stdin closes.
import { startS3Server } from '../test/support/s3-server.js';

const server = await startS3Server([process.argv[2] ?? 'bench']);
process.stdout.write(`${JSON.stringify({ endpoint: server.endpoint })}\n`);
process.stdin.resume();
process.stdin.on('end', () => void server.close().then(() => process.exit(0)));
