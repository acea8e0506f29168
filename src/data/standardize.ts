/**
 * Standardization of number columns, fitted on data and then applied (to the same rows or to new ones, e.g.
 * fitted on train and applied to test): z-score ((x − mean) / std), min-max ((x − min) / (max − min)) and robust
 * ((x − median) / IQR). Each is `(x − center) / scale`, so a fitted `Scaler` is two numbers per column, plain JSON
 * to save with a dataset or pipeline. A constant column (scale 0) gets scale 1, so it maps to 0 instead of NaN.
 * Nulls stay null.
 *
 * Unit conversion: every unit is `factor` and `offset` to its dimension's base unit (base = x·factor + offset),
 * so ms↔s, g↔kg and °F→°C are the same two-step formula; converting across dimensions is refused.
 */
import { AimassError } from '../core/index.js';
import { Moments, Reservoir } from './sketches.js';
import { type Row, type Schema, type Table, columnIndex, typedColumnIndex } from './table.js';

export const SCALING_METHODS = ['zscore', 'minmax', 'robust'] as const;
export type ScalingMethod = (typeof SCALING_METHODS)[number];

export interface ColumnScale {
  column: string;
  method: ScalingMethod;
  center: number;
  scale: number;
}

export interface Scaler {
  columns: ColumnScale[];
}

/** Fits `method` on the non-null values of `columns` (default: every number column). */
export function fitScaler(table: Table, method: ScalingMethod, columns?: string[]): Scaler {
  if (!(SCALING_METHODS as readonly string[]).includes(method)) {
    throw new AimassError('INVALID_ARGUMENT', `unknown scaling method "${method}"; use one of ${SCALING_METHODS.join(', ')}`);
  }
  const names = columns ?? table.schema.filter((c) => c.type === 'number').map((c) => c.name);
  return {
    columns: names.map((column) => {
      const j = typedColumnIndex(table.schema, column, ['number'], 'scaling');
      const m = new Moments();
      const q = new Reservoir();
      for (const row of table.rows) {
        const v = row[j];
        if (typeof v !== 'number') continue;
        m.add(v);
        if (method === 'robust') q.add(v);
      }
      let center = 0;
      let scale = 1;
      if (m.count) {
        if (method === 'zscore') [center, scale] = [m.mean, m.std];
        else if (method === 'minmax') [center, scale] = [m.min, m.max - m.min];
        else [center, scale] = [q.quantile(0.5), q.quantile(0.75) - q.quantile(0.25)];
      }
      return { column, method, center, scale: scale > 0 ? scale : 1 };
    }),
  };
}

/** A function applying `scaler` to rows of `schema` (a new row; nulls stay null), for streaming use. */
export function scaleRows(schema: Schema, scaler: Scaler): (row: Row) => Row {
  const cols = scaler.columns.map((c) => ({ j: typedColumnIndex(schema, c.column, ['number'], 'scaling'), center: c.center, scale: c.scale }));
  return (row) => {
    const out = row.slice();
    for (const { j, center, scale } of cols) {
      const v = out[j];
      if (typeof v === 'number') out[j] = (v - center) / scale;
    }
    return out;
  };
}

export function applyScaler(table: Table, scaler: Scaler): Table {
  const f = scaleRows(table.schema, scaler);
  return { ...table, rows: table.rows.map(f) };
}

/** The original value of a scaled one. */
export function unscale(value: number, s: ColumnScale): number {
  return value * s.scale + s.center;
}

// --- units -----------------------------------------------------------------------------------------------------

export interface Unit {
  dimension: 'time' | 'mass' | 'length' | 'temperature' | 'data';
  /** base = value × factor + offset */
  factor: number;
  offset?: number;
}

/** Base units: second, kilogram, metre, kelvin, byte. */
export const UNITS: Readonly<Record<string, Unit>> = {
  ns: { dimension: 'time', factor: 1e-9 },
  us: { dimension: 'time', factor: 1e-6 },
  ms: { dimension: 'time', factor: 1e-3 },
  s: { dimension: 'time', factor: 1 },
  min: { dimension: 'time', factor: 60 },
  h: { dimension: 'time', factor: 3600 },
  d: { dimension: 'time', factor: 86400 },
  mg: { dimension: 'mass', factor: 1e-6 },
  g: { dimension: 'mass', factor: 1e-3 },
  kg: { dimension: 'mass', factor: 1 },
  t: { dimension: 'mass', factor: 1000 },
  oz: { dimension: 'mass', factor: 0.028349523125 },
  lb: { dimension: 'mass', factor: 0.45359237 },
  mm: { dimension: 'length', factor: 1e-3 },
  cm: { dimension: 'length', factor: 1e-2 },
  m: { dimension: 'length', factor: 1 },
  km: { dimension: 'length', factor: 1000 },
  in: { dimension: 'length', factor: 0.0254 },
  ft: { dimension: 'length', factor: 0.3048 },
  mi: { dimension: 'length', factor: 1609.344 },
  K: { dimension: 'temperature', factor: 1 },
  C: { dimension: 'temperature', factor: 1, offset: 273.15 },
  F: { dimension: 'temperature', factor: 5 / 9, offset: 459.67 * (5 / 9) },
  B: { dimension: 'data', factor: 1 },
  kB: { dimension: 'data', factor: 1e3 },
  MB: { dimension: 'data', factor: 1e6 },
  GB: { dimension: 'data', factor: 1e9 },
  KiB: { dimension: 'data', factor: 1024 },
  MiB: { dimension: 'data', factor: 1024 ** 2 },
  GiB: { dimension: 'data', factor: 1024 ** 3 },
};

const ALIASES: Record<string, string> = { '°C': 'C', '°F': 'F', degC: 'C', degF: 'F', sec: 's', µs: 'us', hr: 'h', day: 'd' };

function unitOf(name: string): Unit {
  const u = UNITS[ALIASES[name] ?? name];
  if (!u) throw new AimassError('INVALID_ARGUMENT', `unknown unit "${name}"; known units: ${Object.keys(UNITS).join(', ')}`, { unit: name });
  return u;
}

/** A converter from unit `from` to unit `to` (same dimension). */
export function unitConverter(from: string, to: string): (value: number) => number {
  const a = unitOf(from);
  const b = unitOf(to);
  if (a.dimension !== b.dimension) throw new AimassError('INVALID_ARGUMENT', `cannot convert ${from} (${a.dimension}) to ${to} (${b.dimension})`, { from, to });
  const [fa, oa, fb, ob] = [a.factor, a.offset ?? 0, b.factor, b.offset ?? 0];
  return (v) => (v * fa + oa - ob) / fb;
}

export function convertUnit(value: number, from: string, to: string): number {
  return unitConverter(from, to)(value);
}

/** The table with number column `column` converted from `from` to `to` (nulls stay null). */
export function convertColumn(table: Table, column: string, from: string, to: string): Table {
  const j = columnIndex(table.schema, column);
  typedColumnIndex(table.schema, column, ['number'], 'unit conversion');
  const f = unitConverter(from, to);
  return {
    ...table,
    rows: table.rows.map((row) => {
      const v = row[j];
      if (typeof v !== 'number') return row;
      const out = row.slice();
      out[j] = f(v);
      return out;
    }),
  };
}
