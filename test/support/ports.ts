// Local TCP ports for tests and benches that start servers of their own.
import { createServer } from 'node:net';

/**
 * A free TCP port on 127.0.0.1, with nothing listening on it (the OS picks one; a tiny window remains in which
 * another process could take it).
 */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}
