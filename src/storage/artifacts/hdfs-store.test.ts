// hdfs:// artifact store: the conformance suite against the WebHDFS test server (a namenode and a datanode on real
// ports, with real 307 redirects between them), plus what is particular to WebHDFS: the redirect dance, the user
// sent as user.name, atomic puts through .tmp/ and rename, and failures of either node.
import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { isAimassError } from '../../core/index.js';
import { assertCode, runArtifactStoreConformance } from '../../../test/support/artifact-store-conformance.js';
import { startWebHdfsServer, type TestWebHdfsServer } from '../../../test/support/webhdfs-server.js';
import { HdfsArtifactStore, openArtifactStore } from './index.js';
import { flipByte } from '../../../test/support/corrupt.js';

let hdfs: TestWebHdfsServer;
before(async () => {
  hdfs = await startWebHdfsServer();
});
after(async () => {
  await hdfs?.close();
});

let storeCount = 0;
function openStore(user = 'aimass'): HdfsArtifactStore {
  const { host } = new URL(hdfs.namenodeUrl);
  return openArtifactStore(`hdfs://${user}@${host}/user/aimass/artifacts-${++storeCount}`) as HdfsArtifactStore;
}

runArtifactStoreConformance('hdfs://', async () => {
  const store = openStore();
  return {
    store,
    corrupt: async (key) => {
      // Flip a byte of the stored file on the "datanode's disk", as block corruption would.
      await flipByte(hdfs.localPath(`${store.root}/${key}`));
    },
    cleanup: () => store.close(),
  };
});

describe('hdfs:// specifics', () => {
  it('writes through the namenode redirect to the datanode, into .tmp/, then renames into place as user.name', async () => {
    const store = openStore('alice');
    hdfs.requests.length = 0;
    await store.put('models/m.onnx', Buffer.from('weights'));
    const steps = hdfs.requests.map((r) => `${r.node} ${r.method} ${r.op} ${r.path.replace(/[0-9a-f-]{36}/, '<uuid>')}`);
    const root = store.root;
    assert.deepEqual(steps, [
      `namenode PUT CREATE ${root}/.tmp/<uuid>`,
      `datanode PUT CREATE ${root}/.tmp/<uuid>`,
      `namenode GET GETFILESTATUS ${root}/.tmp/<uuid>`,
      `namenode PUT CREATE ${root}/.tmp/<uuid>.sha256`,
      `datanode PUT CREATE ${root}/.tmp/<uuid>.sha256`,
      `namenode PUT MKDIRS ${root}/.sha256/models`,
      `namenode PUT RENAME ${root}/.tmp/<uuid>.sha256`,
      `namenode PUT MKDIRS ${root}/models`,
      `namenode PUT RENAME ${root}/.tmp/<uuid>`,
    ]);
    assert.ok(hdfs.requests.every((r) => r.user === 'alice'), 'every request names the user');

    hdfs.requests.length = 0;
    const body = await store.get('models/m.onnx');
    let text = '';
    for await (const chunk of body) text += chunk;
    assert.equal(text, 'weights');
    assert.deepEqual(
      hdfs.requests.map((r) => `${r.node} ${r.op}`),
      ['namenode OPEN', 'datanode OPEN'],
    );
    await store.close();
  });

  it('takes the user from the URI, else HADOOP_USER_NAME', () => {
    const saved = process.env.HADOOP_USER_NAME;
    try {
      process.env.HADOOP_USER_NAME = 'hadoop-env-user';
      assert.equal(new HdfsArtifactStore('hdfs://nn:9870/a').user, 'hadoop-env-user');
      assert.equal(new HdfsArtifactStore('hdfs://bob@nn:9870/a').user, 'bob');
    } finally {
      if (saved === undefined) delete process.env.HADOOP_USER_NAME;
      else process.env.HADOOP_USER_NAME = saved;
    }
    const store = new HdfsArtifactStore('webhdfs://nn/a/b/');
    assert.deepEqual([store.namenode, store.root], ['http://nn:9870', '/a/b']);
    for (const uri of ['hdfs://nn:9870', 'hdfs://nn:9870/', 'hdfs://u:pw@nn/a', 'hdfs://nn/a?x=1', 'hdfs://nn/a:b']) {
      assert.throws(() => openArtifactStore(uri), (e: unknown) => (e as { code?: string }).code === 'INVALID_ARGUMENT', uri);
    }
  });

  it('rejects keys with ":", which HDFS paths cannot hold', async () => {
    const store = openStore();
    await assertCode(store.put('models/v1:latest', Buffer.from('x')), 'INVALID_ARGUMENT', 'models/v1:latest', 'HDFS');
    await store.close();
  });

  it('a key cannot be both an object and a folder of objects', async () => {
    const store = openStore();
    await store.put('dir/inner', Buffer.from('x'));
    assert.equal(await store.head('dir'), null);
    await assertCode(store.get('dir'), 'NOT_FOUND', '"dir"');
    await store.delete('dir');
    assert.equal((await store.head('dir/inner'))?.size, 1);
    await assertCode(store.put('dir', Buffer.from('y')), 'CONFLICT', '"dir"', 'below it');
    await assertCode(store.put('dir/inner/deeper', Buffer.from('z')), 'CONFLICT', 'dir/inner/deeper', '"inner" above it');
    assert.equal((await store.head('dir/inner'))?.size, 1);
    assert.deepEqual(await readdir(hdfs.localPath(`${store.root}/.tmp`)), [], 'refused puts leave no temporary files');
    await store.close();
  });

  it('an unreachable namenode or datanode is UNAVAILABLE naming it', async () => {
    const down = openArtifactStore('hdfs://127.0.0.1:1/a');
    await assertCode(down.head('x'), 'UNAVAILABLE', '127.0.0.1:1');
    await down.close();

    // Last: the datanode dies in the middle of an upload, and the namenode keeps redirecting to it.
    const store = openStore();
    await store.put('before-datanode-stops', Buffer.from('x'));
    let sent = 0;
    const source = new Readable({
      read() {
        sent += 1;
        if (sent === 8) void hdfs.stopDatanode();
        if (sent > 64) this.push(null);
        else setTimeout(() => this.push(Buffer.alloc(256 * 1024, sent)), 5);
      },
    });
    await assert.rejects(store.put('interrupted-by-datanode', source), (e: unknown) => {
      assert.ok(isAimassError(e), `an AimassError, got ${String(e)}`);
      assert.equal(e.code, 'UNAVAILABLE', e.message);
      return true;
    });
    await assertCode(store.get('before-datanode-stops'), 'UNAVAILABLE', new URL(hdfs.datanodeUrl).host);
    assert.equal(await store.head('interrupted-by-datanode'), null);
    await assertCode(store.put('after', Buffer.from('x')), 'UNAVAILABLE', new URL(hdfs.datanodeUrl).host);
    await store.close();
  });
});
