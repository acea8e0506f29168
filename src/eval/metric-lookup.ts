// The metrics a report offers by name, for gates and for the HTML page: its scalar metrics, the latency fields
// (always known; null with a reason when the report has no latency) and, for classifiers, the per-class metrics
// written name[class]. A name that is not here is unknown, and a gate that uses it is an error, not a false.
// Imports nothing outside eval/ (this module's report types and latency names).
import { LATENCY_METRICS } from './latency.js';
import type { EvaluationReport, PerClassMetrics } from './report.js';

export type MetricValue = { value: number } | { value: null; reason: string };

/** Per-class metric names and the PerClassMetrics field behind each. */
export const PER_CLASS_METRICS = {
  precision: 'precision',
  recall: 'recall',
  f1: 'f1',
  support: 'support',
  roc_auc: 'rocAuc',
  average_precision: 'averagePrecision',
} as const satisfies Record<string, keyof PerClassMetrics>;

export interface MetricLookup {
  /** Scalar metric names, sorted. */
  scalars: string[];
  /** Per-class metric names (empty for regression). */
  perClass: string[];
  classNames: string[];
  /** undefined when the name (or class) is unknown. */
  get(name: string, className: string | null): MetricValue | undefined;
  /** Why a reference is unknown, with what to write instead; null when it is known. */
  whyUnknown(name: string, className: string | null): string | null;
  /** One line listing what is known, for error messages. */
  describeKnown(): string;
}

function hasOwn(o: object, key: string): boolean {
  return Object.prototype.hasOwnProperty.call(o, key);
}

export function metricLookup(report: EvaluationReport): MetricLookup {
  const scalars = new Map<string, MetricValue>();
  for (const [name, value] of Object.entries(report.metrics ?? {})) {
    scalars.set(
      name,
      typeof value === 'number' ? { value } : { value: null, reason: report.undefinedMetrics?.[name] ?? 'not computed for this report' },
    );
  }
  for (const [name, field] of Object.entries(LATENCY_METRICS)) {
    const v = report.latency?.[field];
    scalars.set(
      name,
      typeof v === 'number'
        ? { value: v }
        : { value: null, reason: report.latency ? `the report's latency has no ${field}` : 'the report has no latency fields; pass latency to evaluate()' },
    );
  }
  const classification = report.task !== 'regression';
  const classNames = classification ? report.classNames : [];
  const rows = new Map(classification ? report.perClass.map((r) => [r.className, r]) : []);
  const perClass = classification ? Object.keys(PER_CLASS_METRICS) : [];
  const scalarNames = [...scalars.keys()].sort();

  const get = (name: string, className: string | null): MetricValue | undefined => {
    if (className === null) return scalars.get(name);
    if (!classification || !hasOwn(PER_CLASS_METRICS, name)) return undefined;
    const row = rows.get(className);
    if (!row) return undefined;
    const v = row[PER_CLASS_METRICS[name as keyof typeof PER_CLASS_METRICS]];
    if (typeof v === 'number') return { value: v };
    return { value: null, reason: report.undefinedMetrics?.[`${name}[${className}]`] ?? 'undefined for this class' };
  };

  const whyUnknown = (name: string, className: string | null): string | null => {
    if (get(name, className) !== undefined) return null;
    if (className === null) {
      if (perClass.includes(name)) return `${name} is per class in a ${report.task} report: write ${name}[class]${scalars.has(`${name}_macro`) ? ` or ${name}_macro` : ''}`;
      return `unknown metric "${name}"`;
    }
    if (!classification) return `${name}[${className}]: a regression report has no per-class metrics`;
    if (!hasOwn(PER_CLASS_METRICS, name)) return `${name}[${className}]: ${name} has no per-class values; per-class metrics are ${perClass.join(', ')}`;
    return `${name}[${className}]: unknown class ${JSON.stringify(className)}; the classes are ${classNames.map((c) => JSON.stringify(c)).join(', ')}`;
  };

  const describeKnown = () => {
    const classes = classification ? `; per class, as name[class]: ${perClass.join(', ')}, for classes ${classNames.map((c) => JSON.stringify(c)).join(', ')}` : '';
    return `known metrics of this ${report.task} report: ${scalarNames.join(', ')}${classes}`;
  };

  return { scalars: scalarNames, perClass, classNames, get, whyUnknown, describeKnown };
}
