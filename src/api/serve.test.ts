// `aimass serve` end to end, as a user runs it: the real executable on a fresh AIMASS_HOME, a free port, the API
// answering over HTTP, and a clean exit on SIGTERM. (The command lives in cli/; its subject is this API.)
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { test } from 'node:test';
import { request } from 'undici';
import { aimass, aimassBin, jsonOf } from '../../test/support/cli.js';
import { useTempDirs } from '../../test/support/temp-dirs.js';

const tempDir = useTempDirs('api-serve');

test('aimass serve logs its URL, answers over HTTP, and exits 0 on SIGTERM', async () => {
  const home = await tempDir();
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('AIMASS_')));
  const child = spawn(process.execPath, [aimassBin, 'serve', '--port', '0', '--max-request-bytes', '2KiB'], {
    env: { ...env, AIMASS_HOME: home, AIMASS_LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.setEncoding('utf8');
  try {
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no URL within 30 s; stderr:\n${stderr}`)), 30_000);
      child.stderr.on('data', (d: string) => {
        stderr += d;
        const m = /listening on (http:\/\/\S+)/.exec(stderr);
        if (m) {
          clearTimeout(timer);
          resolve(m[1]);
        }
      });
      child.once('exit', (code) => reject(new Error(`exited with ${code} before listening; stderr:\n${stderr}`)));
    });
    const health = await request(`${url}/healthz`);
    assert.deepEqual(await health.body.json(), { status: 'ok' });
    const models = await request(`${url}/api/v1/models`);
    assert.deepEqual(await models.body.json(), { models: [] });
    const metrics = await request(`${url}/metrics`);
    assert.equal(metrics.statusCode, 200);
    assert.match(await metrics.body.text(), /^# TYPE aimass_inference_requests_total counter$/m);
    const big = JSON.stringify({ inputs: [{ name: 'x', shape: [1000], datatype: 'FP32', data: Array(1000).fill(0.5) }] });
    const tooLarge = await request(`${url}/v2/models/any/infer`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: big });
    assert.equal(tooLarge.statusCode, 413);
    assert.match(((await tooLarge.body.json()) as { error: string }).error, /limit of 2048 bytes/);

    // the server also runs queued tasks on the embedded dispatcher: no separate worker needed
    assert.match(stderr, /running queued tasks \(1 at a time\)/);
    const done = jsonOf<{ state: string; result: unknown }>(await aimass(['--json', 'tasks', 'submit', 'noop', '--payload', '{"echo":"hi"}', '--wait'], { AIMASS_HOME: home }, 60_000));
    assert.equal(done.state, 'succeeded');

    const exited = once(child, 'exit');
    child.kill('SIGTERM');
    const [code] = await exited;
    assert.equal(code, 0, stderr);
    assert.match(stderr, /SIGTERM: finishing requests and tasks in flight and closing/);
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
  }
});

/** Runs `aimass serve --port 0 ARGS` on a fresh home; it must exit 1 saying `message`. */
async function serveRefuses(args: string[], message: RegExp): Promise<void> {
  const home = await tempDir();
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('AIMASS_')));
  const child = spawn(process.execPath, [aimassBin, 'serve', '--port', '0', ...args], { env: { ...env, AIMASS_HOME: home }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const [code] = await once(child, 'exit');
  assert.equal(code, 1, stderr);
  assert.match(stderr, message);
}

test('aimass serve refuses backup options without --backup-every', () => serveRefuses(['--backup-keep', '3'], /--backup-keep needs --backup-every/));

test('aimass serve refuses a --max-request-bytes that is not a size', () =>
  serveRefuses(['--max-request-bytes', 'lots'], /--max-request-bytes must be a size in bytes, e\.g\. 1000000, 512KiB or 16MiB, got "lots"/));

test('aimass serve refuses batching and worker options that are not whole numbers in range', () => serveRefuses(['--max-batch-size', '0'], /--max-batch-size must be a whole number ≥ 1, got "0"/));

test('aimass serve refuses --processes that is not a whole number ≥ 1 or auto', async () => {
  await serveRefuses(['--processes', '0'], /--processes must be a whole number ≥ 1 or auto \(one per core\), got "0"/);
  await serveRefuses(['--processes', 'many'], /--processes must be a whole number ≥ 1 or auto \(one per core\), got "many"/);
});

test('aimass serve with a backup target it cannot open exits 1 naming it, with one process or several', async () => {
  await serveRefuses(['--backup-every', '6h', '--backup-to', 'bogus://x'], /bogus/);
  await serveRefuses(['--processes', '2', '--backup-every', '6h', '--backup-to', 'bogus://x'], /bogus/);
});
