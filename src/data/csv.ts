// Streaming CSV/TSV reading: one record at a time with its line number, RFC 4180 quoting (quoted fields may
// hold delimiters, doubled quotes and newlines), so a large file goes through in bounded memory.
import { createReadStream } from 'node:fs';
import { AimassError } from '../core/index.js';

export interface CsvRecord {
  /** 1-based line number where the record starts. */
  line: number;
  fields: string[];
}

export interface CsvOptions {
  delimiter?: string;
}

const enum S {
  FieldStart,
  Unquoted,
  Quoted,
  /** Saw a quote inside a quoted field: a second quote is a literal, anything else ends the quoting. */
  QuoteInQuoted,
}

export async function* readCsv(path: string, o: CsvOptions = {}): AsyncGenerator<CsvRecord> {
  const delim = (o.delimiter ?? (path.endsWith('.tsv') ? '\t' : ',')).charCodeAt(0);
  const stream = createReadStream(path, { encoding: 'utf8', highWaterMark: 1 << 20 });
  let state = S.FieldStart;
  let field = '';
  let fields: string[] = [];
  let line = 1;
  let recordLine = 1;
  const endField = () => {
    fields.push(field.endsWith('\r') && state !== S.QuoteInQuoted ? field.slice(0, -1) : field);
    field = '';
  };
  let firstChunk = true;
  try {
    for await (const chunk of stream as AsyncIterable<string>) {
      const n = chunk.length;
      let start = 0; // start of the pending unquoted/quoted run in this chunk
      // Excel and Notepad start UTF-8 files with a byte order mark; it is not part of the first field.
      const from = firstChunk && chunk.charCodeAt(0) === 0xfeff ? 1 : 0;
      firstChunk = false;
      for (let i = from; i < n; i++) {
        const ch = chunk.charCodeAt(i);
        switch (state) {
          case S.FieldStart:
          case S.Unquoted:
            if (ch === delim || ch === 10) {
              if (state === S.Unquoted) field += chunk.slice(start, i);
              endField();
              state = S.FieldStart;
              if (ch === 10) {
                if (fields.length > 1 || fields[0] !== '') yield { line: recordLine, fields };
                fields = [];
                line++;
                recordLine = line;
              }
            } else if (ch === 34 && state === S.FieldStart) {
              state = S.Quoted;
              start = i + 1;
            } else if (state === S.FieldStart) {
              state = S.Unquoted;
              start = i;
            }
            break;
          case S.Quoted:
            if (ch === 34) {
              field += chunk.slice(start, i);
              state = S.QuoteInQuoted;
            } else if (ch === 10) line++;
            break;
          case S.QuoteInQuoted:
            if (ch === 34) {
              field += '"';
              state = S.Quoted;
              start = i + 1;
            } else if (ch === delim || ch === 10 || ch === 13) {
              if (ch === 13) break; // CRLF after a closing quote
              endField();
              state = S.FieldStart;
              if (ch === 10) {
                yield { line: recordLine, fields };
                fields = [];
                line++;
                recordLine = line;
              }
            } else {
              throw new AimassError('DATA_FORMAT', `${path}: line ${line}: unexpected character after a closing quote`, { path, line });
            }
            break;
        }
      }
      if ((state as S) === S.Unquoted || (state as S) === S.Quoted) field += chunk.slice(start);
    }
  } catch (e) {
    if (e instanceof AimassError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    throw new AimassError(code === 'ENOENT' ? 'NOT_FOUND' : 'DATA_FORMAT', `cannot read ${path}: ${(e as Error).message}`, { path });
  }
  if (state === S.Quoted) throw new AimassError('DATA_FORMAT', `${path}: line ${recordLine}: a quoted field is never closed`, { path, line: recordLine });
  if (state !== S.FieldStart || fields.length) {
    endField();
    if (fields.length > 1 || fields[0] !== '') yield { line: recordLine, fields };
  }
}
