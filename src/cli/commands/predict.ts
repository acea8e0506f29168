/**
 * `aimass predict MODEL`: predictions for raw records from the command line — texts (`--text`), pictures
 * (`--image`), or a JSON Lines file of records (`--file`, `-` for stdin) — through the model's pipeline.json.
 * MODEL is `name` (production alias, else latest), `name@alias` or `name:version`. Runs the model in this process
 * from the configured registry, or, with `--url`, asks a running `aimass serve`.
 */
import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { request } from 'undici';
import { AimassError } from '../../core/index.js';
import { ModelCache, type Prediction, parseModelRef } from '../../serve/index.js';
import type { CliContext } from '../context.js';
import { emit, table } from '../output.js';
import { withRegistry } from './models.js';

interface PredictOptions {
  text: string[];
  image: string[];
  file?: string;
  topK: string;
  url?: string;
}

interface Answer {
  model: string;
  model_version: string;
  predictions: Prediction[];
}

const collect = (value: string, previous: string[]) => [...previous, value];

export function registerPredictCommand(program: Command, context: CliContext): void {
  program
    .command('predict')
    .description('predict labels for texts, pictures or records with a registered model')
    .argument('<model>', 'name (production alias, else latest), name@alias or name:version')
    .option('-t, --text <text>', 'a text to classify (repeatable)', collect, [])
    .option('-i, --image <file>', 'a PNG, JPEG or WebP picture to classify (repeatable)', collect, [])
    .option('-f, --file <records.jsonl>', 'one JSON record per line (a string, {"text"}, {"image": base64}, column values or an array); - reads stdin')
    .option('-k, --top-k <n>', 'classes listed per prediction', '3')
    .option('--url <url>', 'ask a running `aimass serve` at this URL instead of loading the model here')
    .addHelpText('after', '\nExamples:\n  aimass predict spam --text "cheap pills now"\n  aimass predict digits@production --image seven.png\n  aimass predict spam --file mails.jsonl --url http://127.0.0.1:8080')
    .action(async (model: string, o: PredictOptions, cmd: Command) => {
      parseModelRef(model); // a bad reference fails before anything is read
      const topK = Number(o.topK);
      if (!Number.isInteger(topK) || topK < 1) throw new AimassError('INVALID_ARGUMENT', `--top-k must be a positive whole number, got "${o.topK}"`);
      const { records, shown } = await readRecords(o);
      const answer = o.url ? await askServer(o.url, model, records, topK) : await predictHere(context, model, records, topK);
      emit(context, cmd, answer, () => render(answer, shown));
    });
}

/** The records to send and how each is named in the printed table. */
async function readRecords(o: PredictOptions): Promise<{ records: unknown[]; shown: string[] }> {
  const records: unknown[] = [];
  const shown: string[] = [];
  for (const t of o.text) {
    records.push(t);
    shown.push(t.length > 40 ? `${t.slice(0, 39)}…` : t);
  }
  for (const file of o.image) {
    let bytes: Buffer;
    try {
      bytes = await readFile(file);
    } catch (e) {
      throw new AimassError('NOT_FOUND', `cannot read --image ${file} (${(e as NodeJS.ErrnoException).code ?? String(e)})`, { file });
    }
    records.push({ image: bytes.toString('base64') });
    shown.push(file);
  }
  if (o.file !== undefined) {
    let text: string;
    try {
      text = o.file === '-' ? await readStdin() : await readFile(o.file, 'utf8');
    } catch (e) {
      throw new AimassError('NOT_FOUND', `cannot read --file ${o.file} (${(e as NodeJS.ErrnoException).code ?? String(e)})`, { file: o.file });
    }
    text.split('\n').forEach((line, i) => {
      if (line.trim() === '') return;
      try {
        records.push(JSON.parse(line));
      } catch (e) {
        throw new AimassError('DATA_FORMAT', `${o.file} line ${i + 1} is not JSON (${(e as Error).message})`, { file: o.file, line: i + 1 });
      }
      shown.push(`${o.file === '-' ? 'stdin' : o.file}:${i + 1}`);
    });
  }
  if (records.length === 0) throw new AimassError('INVALID_ARGUMENT', 'nothing to predict: give --text, --image or --file');
  return { records, shown };
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

async function predictHere(context: CliContext, model: string, records: unknown[], topK: number): Promise<Answer> {
  return withRegistry(context, async (registry) => {
    const cache = new ModelCache(registry, { workers: 1 });
    try {
      const r = await cache.predict(model, records, { topK });
      return { model: r.model, model_version: String(r.version), predictions: r.predictions };
    } finally {
      await cache.close();
    }
  });
}

async function askServer(url: string, model: string, records: unknown[], topK: number): Promise<Answer> {
  let target: URL;
  try {
    target = new URL(`api/v1/predict/${encodeURIComponent(model).replace(/%40/g, '@').replace(/%3A/g, ':')}`, url.endsWith('/') ? url : `${url}/`);
  } catch {
    throw new AimassError('INVALID_ARGUMENT', `--url "${url}" is not a URL; e.g. http://127.0.0.1:8080`);
  }
  let res;
  try {
    res = await request(target, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ inputs: records, top_k: topK }) });
  } catch (e) {
    throw new AimassError('UNAVAILABLE', `cannot reach ${target.origin} (${(e as Error).message}); is \`aimass serve\` running there?`, { url: target.origin });
  }
  const body = (await res.body.json().catch(() => undefined)) as (Answer & { error?: { code?: string; message?: string } }) | undefined;
  if (res.statusCode !== 200) {
    const e = body?.error;
    if (e?.code && e.message) throw AimassError.fromJSON(body);
    throw new AimassError('UNAVAILABLE', `${target.origin} answered ${res.statusCode} without an AI Mass error; is it \`aimass serve\`?`, { status: res.statusCode });
  }
  return body!;
}

function render(a: Answer, shown: string[]): string {
  const rows = a.predictions.map((p, i) => {
    if ('value' in p) return [shown[i] ?? String(i), Array.isArray(p.value) ? p.value.map((v) => v.toPrecision(4)).join(', ') : p.value.toPrecision(6), ''];
    return [shown[i] ?? String(i), p.label, p.score.toFixed(4), p.scores.slice(1).map((s) => `${s.label} ${s.score.toFixed(3)}`).join(', ')];
  });
  const regression = a.predictions.length > 0 && 'value' in a.predictions[0];
  return `${a.model} version ${a.model_version}\n${table(regression ? ['INPUT', 'VALUE', ''] : ['INPUT', 'LABEL', 'SCORE', 'NEXT'], rows)}`;
}
