// file:// artifact store: the conformance suite on a temp folder, plus what only a folder on disk can show (the
// layout, no escape outside the root, a killed writer leaving only a temporary file).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { assertCode, runArtifactStoreConformance } from '../../../test/support/artifact-store-conformance.js';
import { useTempDirs } from '../../../test/support/temp-dirs.js';
import { FileArtifactStore, openArtifactStore } from './index.js';
import { flipByte } from '../../../test/support/corrupt.js';

const tempDir = useTempDirs('file-store');

async function freshStore(): Promise<{ store: FileArtifactStore; root: string }> {
  const root = path.join(await tempDir(), 'artifacts');
  return { store: new FileArtifactStore(pathToFileURL(root).href), root };
}

runArtifactStoreConformance('file://', async () => {
  const { store, root } = await freshStore();
  return {
    store,
    corrupt: async (key) => {
      // Flip one byte in place, as disk rot would.
      const file = path.join(root, ...key.split('/'));
      await flipByte(file);
    },
    cleanup: () => store.close(),
  };
});

test('file://: objects are plain files at their key, sha256 records and temporaries live in reserved dot-folders', async () => {
  const { store, root } = await freshStore();
  const info = await store.put('models/m1/model.onnx', Buffer.from('onnx bytes'));
  assert.equal(await readFile(path.join(root, 'models', 'm1', 'model.onnx'), 'utf8'), 'onnx bytes');
  const record = JSON.parse(await readFile(path.join(root, '.sha256', 'models', 'm1', 'model.onnx'), 'utf8')) as { sha256: string };
  assert.equal(record.sha256, info.sha256);
  assert.deepEqual(await readdir(path.join(root, '.tmp')), [], 'no temporary files after a put');
  assert.deepEqual((await readdir(root)).sort(), ['.sha256', '.tmp', 'models']);

  // Deleting the last key of a folder removes the emptied folders too.
  await store.delete('models/m1/model.onnx');
  assert.deepEqual((await readdir(root)).sort(), ['.sha256', '.tmp']);
  assert.deepEqual(await readdir(path.join(root, '.sha256')), []);
});

test('file://: a sha256 record that no longer matches its file is not reported', async () => {
  const { store, root } = await freshStore();
  await store.put('a/b.bin', Buffer.from('first'));
  // Someone replaces the file behind the store's back (same size, new mtime).
  await writeFile(path.join(root, 'a', 'b.bin'), 'FIRST');
  const head = await store.head('a/b.bin');
  assert.equal(head?.size, 5);
  assert.equal(head?.sha256, undefined);
});

test('file://: keys cannot reach outside the root folder', async () => {
  const { store, root } = await freshStore();
  const outside = path.dirname(root);
  await mkdir(root, { recursive: true });
  const before = (await readdir(outside)).sort();
  for (const key of ['../escaped', 'a/../../escaped', '/tmp/escaped', '..\\escaped']) {
    await assertCode(store.put(key, Buffer.from('x')), 'INVALID_ARGUMENT', JSON.stringify(key));
  }
  assert.deepEqual((await readdir(outside)).sort(), before);
});

test('file://: a key cannot be both an object and a folder of objects', async () => {
  const { store } = await freshStore();
  await store.put('x/y', Buffer.from('1'));
  await assertCode(store.put('x', Buffer.from('2')), 'CONFLICT', '"x"');
  await assertCode(store.put('x/y/z', Buffer.from('3')), 'CONFLICT', 'x/y/z');
  assert.equal((await store.head('x/y'))?.size, 1);
});

test('file://: a writer killed mid-put leaves only a temporary file, never a partial object', async () => {
  const { root } = await freshStore();
  const uri = pathToFileURL(root).href;
  // A child process that starts a put from an endless source, says so once bytes have landed, and is then killed.
  const script = `
    import { Readable } from 'node:stream';
    import { openArtifactStore } from ${JSON.stringify(new URL('./index.ts', import.meta.url).href)};
    const store = openArtifactStore(${JSON.stringify(uri)});
    let sent = 0;
    const endless = new Readable({ read() { sent += 65536; this.push(Buffer.alloc(65536, 7)); if (sent === 4 * 65536) console.log('writing'); } });
    store.put('models/killed.bin', endless);
  `;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => d.toString().includes('writing') && resolve());
    child.on('exit', (code) => reject(new Error(`writer exited early with ${code}`)));
  });
  // Let some bytes reach the temporary file, then kill without any chance to clean up.
  for (let i = 0; i < 50; i++) {
    const temps = await readdir(path.join(root, '.tmp')).catch(() => []);
    if (temps.length > 0 && (await stat(path.join(root, '.tmp', temps[0]))).size > 0) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  child.kill('SIGKILL');
  await new Promise((resolve) => child.once('exit', resolve));

  const store = openArtifactStore(uri);
  assert.equal(await store.head('models/killed.bin'), null);
  const listed = [];
  for await (const info of store.list('')) listed.push(info.key);
  assert.deepEqual(listed, []);
  const temps = await readdir(path.join(root, '.tmp'));
  assert.equal(temps.length, 1, 'the killed put left its temporary file (removed by a later put once stale)');
  assert.ok((await stat(path.join(root, '.tmp', temps[0]))).size > 0);
  assert.ok(!(await readdir(root)).includes('models'), 'no object folder was created');
});

test('file://: URIs must be absolute file:// paths below the root', () => {
  for (const uri of ['file://relative/path', 'file:///', 'file:']) {
    assert.throws(() => openArtifactStore(uri), (e: unknown) => (e as { code?: string }).code === 'INVALID_ARGUMENT', uri);
  }
  const store = openArtifactStore('file:///var/tmp/aimass%20artifacts');
  assert.ok(store instanceof FileArtifactStore);
  assert.equal(store.root, '/var/tmp/aimass artifacts');
});
