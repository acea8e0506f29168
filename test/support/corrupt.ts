// Damages stored bytes behind a store's back, as disk rot would: flips one byte of a file in place.
import { open } from 'node:fs/promises';

export async function flipByte(file: string, offset = 10): Promise<void> {
  const handle = await open(file, 'r+');
  try {
    const byte = Buffer.alloc(1);
    await handle.read(byte, 0, 1, offset);
    byte[0] ^= 0xff;
    await handle.write(byte, 0, 1, offset);
  } finally {
    await handle.close();
  }
}
