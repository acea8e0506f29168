// The gate language: its grammar, tokenizer and parser, and every syntax error with its position.
//
//   gate       := expr                               a condition; top-level `and`s split it into rules
//   expr       := expr 'or' expr | expr 'and' expr | 'not' expr | '(' expr ')' | sum CMP sum
//   sum        := sum ('+' | '-') sum | sum ('*' | '/') sum | '-' sum | '(' sum ')' | NUMBER | metric
//   metric     := ['baseline' '.'] NAME ['[' CLASS ']']
//   CMP        := '>=' | '<=' | '>' | '<' | '==' | '!='      (one per comparison: `a < b < c` is an error)
//   NAME       := [A-Za-z_][A-Za-z0-9_]*                     (accuracy, f1_macro, p99_latency_ms, …)
//   CLASS      := any text up to ']' (trimmed), or a "quoted string" (with \" and \\) for names with ] or "
//
// Precedence, loosest first: or, and, not, comparison, + −, * /, unary −. Keywords are case-insensitive.
// Per-class metrics use brackets: `recall[stop]`, `f1["traffic light"]`, `recall[停止]`. Brackets (rather than
// `recall.stop`) keep `baseline.` the only dotted prefix and let class names hold dots, spaces and any script.
// Numbers are plain decimals (0.97, .5, 1e-3); write 0.97, not 97%. A # starts a comment to the end of the line,
// and newlines are spaces, so a gate can be written one rule per line.
//
// parseGate() collects every error it can find in one pass (the parser resynchronizes after each), and throws one
// INVALID_SPEC whose details.problems has a line per error ("column 14: …") and details.syntaxErrors the
// positions (offset, 1-based line and column counted in characters).
// Imports core only.
import { AimassError } from '../core/index.js';

export type CompareOp = '>=' | '<=' | '>' | '<' | '==' | '!=';
export type ArithOp = '+' | '-' | '*' | '/';

export interface Span {
  start: number;
  end: number;
}

export type GateNode =
  | { type: 'or' | 'and'; left: GateNode; right: GateNode; span: Span }
  | { type: 'not'; operand: GateNode; span: Span }
  | { type: 'compare'; op: CompareOp; left: GateNode; right: GateNode; span: Span }
  | { type: 'arith'; op: ArithOp; left: GateNode; right: GateNode; span: Span }
  | { type: 'neg'; operand: GateNode; span: Span }
  | { type: 'number'; value: number; span: Span }
  | { type: 'metric'; name: string; className: string | null; baseline: boolean; span: Span }
  | { type: 'error'; span: Span };

export type MetricNode = Extract<GateNode, { type: 'metric' }>;

export interface GateRule {
  /** The rule's source text, as written. */
  text: string;
  node: GateNode;
  span: Span;
  /** True when the rule compares against `baseline.…`. */
  usesBaseline: boolean;
}

export interface Gate {
  text: string;
  expression: GateNode;
  /** The top-level conjuncts of the expression: `a and (b or c) and d` has three rules. */
  rules: GateRule[];
}

export interface GateSyntaxError {
  message: string;
  offset: number;
  line: number;
  column: number;
}

type TokenKind = 'number' | 'name' | 'class' | 'op' | '(' | ')' | '.' | 'and' | 'or' | 'not' | 'eof';

interface Token {
  kind: TokenKind;
  text: string;
  start: number;
  end: number;
  value?: number;
}

const COMPARE_OPS: readonly string[] = ['>=', '<=', '>', '<', '==', '!='];
const KEYWORDS: Record<string, TokenKind> = { and: 'and', or: 'or', not: 'not' };

function isNameStart(ch: string): boolean {
  return /[A-Za-z_]/.test(ch);
}

function isNamePart(ch: string): boolean {
  return /[A-Za-z0-9_]/.test(ch);
}

class ErrorList {
  readonly items: { message: string; offset: number }[] = [];
  add(offset: number, message: string): void {
    // One error per position: a resynchronizing parser can otherwise report the same spot twice.
    if (!this.items.some((e) => e.offset === offset)) this.items.push({ offset, message });
  }
}

function tokenize(text: string, errors: ErrorList): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  const push = (kind: TokenKind, start: number, end: number, value?: number) => {
    const t: Token = { kind, text: text.slice(start, end), start, end };
    if (value !== undefined) t.value = value;
    tokens.push(t);
  };
  while (i < text.length) {
    const ch = text[i];
    if (/\s/.test(ch)) {
      i++;
      continue;
    }
    const start = i;
    if (/[0-9]/.test(ch) || (ch === '.' && /[0-9]/.test(text[i + 1] ?? ''))) {
      const m = /^(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?/.exec(text.slice(i));
      let end = i + (m ? m[0].length : 1);
      if (end < text.length && /[A-Za-z0-9_.]/.test(text[end])) {
        while (end < text.length && /[A-Za-z0-9_.]/.test(text[end])) end++;
        errors.add(start, `"${text.slice(start, end)}" is not a number; write plain decimals such as 0.97 or 1e-3`);
        push('number', start, end, 0);
      } else if (text[end] === '%') {
        errors.add(end, `percent signs are not supported; write ${Number(text.slice(start, end)) / 100} instead of ${text.slice(start, end + 1)}`);
        push('number', start, end, Number(text.slice(start, end)) / 100);
        end++;
      } else {
        push('number', start, end, Number(text.slice(start, end)));
      }
      i = end;
      continue;
    }
    if (isNameStart(ch)) {
      while (i < text.length && isNamePart(text[i])) i++;
      const word = text.slice(start, i);
      push(KEYWORDS[word.toLowerCase()] ?? 'name', start, i);
      continue;
    }
    if (ch === '[') {
      i = lexClass(text, i, errors, tokens);
      continue;
    }
    const two = text.slice(i, i + 2);
    if (COMPARE_OPS.includes(two)) {
      push('op', start, i + 2);
      i += 2;
      continue;
    }
    if (two === '&&' || two === '||') {
      errors.add(start, `use ${two === '&&' ? 'and' : 'or'} instead of ${two}`);
      push(two === '&&' ? 'and' : 'or', start, i + 2);
      i += 2;
      continue;
    }
    if ('<>+-*/'.includes(ch)) {
      push('op', start, i + 1);
      i++;
      continue;
    }
    if (ch === '(' || ch === ')' || ch === '.') {
      push(ch, start, i + 1);
      i++;
      continue;
    }
    if (ch === '=') {
      errors.add(start, 'use == to compare for equality (a single = is not an operator)');
      push('op', start, i + 1);
      tokens[tokens.length - 1].text = '==';
      i++;
      continue;
    }
    if (ch === '!') {
      errors.add(start, 'use not instead of ! (!= is the only operator with !)');
      push('not', start, i + 1);
      i++;
      continue;
    }
    if (ch === ']') {
      errors.add(start, '] without a matching [');
      i++;
      continue;
    }
    if (ch === '#') {
      while (i < text.length && text[i] !== '\n') i++;
      continue;
    }
    // One error for a run of characters that start no token (a word in another script, stray punctuation).
    while (i < text.length && !/[\sA-Za-z0-9_.()[\]<>=!+\-*\/&|#"]/.test(text[i])) i++;
    const run = text.slice(start, Math.max(i, start + 1));
    i = Math.max(i, start + 1);
    if (/^[\p{L}\p{N}]+$/u.test(run)) {
      errors.add(start, `unexpected ${JSON.stringify(run)}; metric names are ASCII letters, digits and _, and a class name goes in brackets: recall[${run}]`);
      // Stands in for the word it probably meant to be, so the parser does not report the gap it leaves.
      push('name', start, i);
    } else {
      errors.add(start, `unexpected ${JSON.stringify(run)}; a gate has metric names, numbers, comparisons, + - * /, and, or, not and parentheses`);
    }
  }
  push('eof', text.length, text.length);
  return tokens;
}

/** Lexes `[name]` or `["quoted"]` starting at the `[`; returns the index after it. */
function lexClass(text: string, open: number, errors: ErrorList, tokens: Token[]): number {
  let i = open + 1;
  while (i < text.length && /[ \t]/.test(text[i])) i++;
  let name: string;
  if (text[i] === '"') {
    let out = '';
    let j = i + 1;
    for (; j < text.length && text[j] !== '"'; j++) {
      if (text[j] === '\\' && j + 1 < text.length) j++;
      out += text[j];
    }
    if (j >= text.length) {
      errors.add(i, 'unterminated "…" class name; close it with "');
      tokens.push({ kind: 'class', text: out, start: open, end: text.length });
      return text.length;
    }
    name = out;
    i = j + 1;
    while (i < text.length && /[ \t]/.test(text[i])) i++;
    if (text[i] !== ']') {
      errors.add(i, `expected ] after the quoted class name ${JSON.stringify(name)}`);
      const close = text.indexOf(']', i);
      const end = close < 0 ? text.length : close + 1;
      tokens.push({ kind: 'class', text: name, start: open, end });
      return end;
    }
  } else {
    const close = text.indexOf(']', open);
    const lineEnd = text.indexOf('\n', open);
    if (close < 0 || (lineEnd >= 0 && lineEnd < close)) {
      errors.add(open, 'unclosed [ : a per-class metric is written recall[class] or recall["class name"]');
      const end = lineEnd >= 0 ? lineEnd : text.length;
      tokens.push({ kind: 'class', text: text.slice(open + 1, end).trim(), start: open, end });
      return end;
    }
    name = text.slice(open + 1, close).trim();
    if (name.includes('[') || name.includes('"')) errors.add(open, `class names with [ or " must be quoted: ["…"], with \\" for a quote`);
    i = close;
  }
  if (name.length === 0) errors.add(open, 'empty [] : put a class name inside, e.g. recall[stop]');
  tokens.push({ kind: 'class', text: name, start: open, end: i + 1 });
  return i + 1;
}

function describeToken(t: Token): string {
  if (t.kind === 'eof') return 'the end of the gate';
  if (t.kind === 'class') return `[${t.text}]`;
  return JSON.stringify(t.text);
}

const INFIX: Record<string, { bp: number; kind: 'logic' | 'compare' | 'arith' }> = {
  or: { bp: 1, kind: 'logic' },
  and: { bp: 2, kind: 'logic' },
  '>=': { bp: 4, kind: 'compare' },
  '<=': { bp: 4, kind: 'compare' },
  '>': { bp: 4, kind: 'compare' },
  '<': { bp: 4, kind: 'compare' },
  '==': { bp: 4, kind: 'compare' },
  '!=': { bp: 4, kind: 'compare' },
  '+': { bp: 5, kind: 'arith' },
  '-': { bp: 5, kind: 'arith' },
  '*': { bp: 6, kind: 'arith' },
  '/': { bp: 6, kind: 'arith' },
};
const NOT_BP = 3;
const NEG_BP = 7;

class Parser {
  private pos = 0;
  constructor(
    private readonly tokens: Token[],
    private readonly errors: ErrorList,
  ) {}

  private peek(): Token {
    return this.tokens[this.pos];
  }

  private next(): Token {
    const t = this.tokens[this.pos];
    if (t.kind !== 'eof') this.pos++;
    return t;
  }

  private infixOf(t: Token): (typeof INFIX)[string] | undefined {
    if (t.kind === 'and' || t.kind === 'or') return INFIX[t.kind];
    if (t.kind === 'op') return INFIX[t.text];
    return undefined;
  }

  private startsOperand(t: Token): boolean {
    return t.kind === 'number' || t.kind === 'name' || t.kind === '(' || t.kind === 'not' || (t.kind === 'op' && t.text === '-');
  }

  parseGate(): GateNode {
    let node = this.parseExpr(0);
    for (;;) {
      const t = this.peek();
      if (t.kind === 'eof') return node;
      if (t.kind === ')') {
        this.errors.add(t.start, ') without a matching (');
        this.next();
        node = this.continueExpr(node, 0);
      } else if (this.startsOperand(t)) {
        this.errors.add(t.start, `expected and / or before ${describeToken(t)}: join rules with and`);
        const right = this.parseExpr(INFIX.and.bp);
        node = this.continueExpr({ type: 'and', left: node, right, span: { start: node.span.start, end: right.span.end } }, 0);
      } else {
        this.errors.add(t.start, `unexpected ${describeToken(t)}`);
        this.next();
      }
    }
  }

  private parseExpr(minBp: number): GateNode {
    return this.continueExpr(this.parsePrefix(), minBp);
  }

  private continueExpr(left: GateNode, minBp: number): GateNode {
    for (;;) {
      const t = this.peek();
      const info = this.infixOf(t);
      if (!info || info.bp <= minBp) return left;
      this.next();
      const right = this.parseExpr(info.bp);
      const span = { start: left.span.start, end: right.span.end };
      if (info.kind === 'logic') left = { type: t.kind as 'and' | 'or', left, right, span };
      else if (info.kind === 'compare') {
        left = { type: 'compare', op: t.text as CompareOp, left, right, span };
        // `a < b < c`: report it once, then read and drop the extra operand so no type error follows.
        while (this.peek().kind === 'op' && COMPARE_OPS.includes(this.peek().text)) {
          const extra = this.next();
          this.errors.add(extra.start, `comparisons cannot be chained; write a ${t.text} x and a ${extra.text} y instead`);
          this.parseExpr(info.bp);
        }
      } else left = { type: 'arith', op: t.text as ArithOp, left, right, span };
    }
  }

  private parsePrefix(): GateNode {
    const t = this.peek();
    switch (t.kind) {
      case 'number':
        this.next();
        return { type: 'number', value: t.value ?? 0, span: { start: t.start, end: t.end } };
      case 'not': {
        this.next();
        const operand = this.parseExpr(NOT_BP - 1);
        return { type: 'not', operand, span: { start: t.start, end: operand.span.end } };
      }
      case 'op':
        if (t.text === '-') {
          this.next();
          const operand = this.parseExpr(NEG_BP - 1);
          return { type: 'neg', operand, span: { start: t.start, end: operand.span.end } };
        }
        break;
      case '(': {
        this.next();
        const inner = this.parseExpr(0);
        const close = this.peek();
        if (close.kind === ')') {
          this.next();
          return { ...inner, span: { start: t.start, end: close.end } } as GateNode;
        }
        this.errors.add(close.start, `expected ) to close the ( at offset ${t.start}, found ${describeToken(close)}`);
        return inner;
      }
      case 'name':
        return this.parseMetric();
      case 'class':
        this.next();
        this.errors.add(t.start, `[${t.text}] needs a metric name before it, e.g. recall[${t.text}]`);
        return { type: 'error', span: { start: t.start, end: t.end } };
      default:
        break;
    }
    this.errors.add(t.start, `expected a metric name, a number, not or ( but found ${describeToken(t)}`);
    // Consume nothing that can continue or close an expression, so the caller resynchronizes on it.
    if (t.kind === '.') this.next();
    return { type: 'error', span: { start: t.start, end: t.start } };
  }

  private parseMetric(): GateNode {
    const first = this.next();
    let name = first.text;
    let baseline = false;
    let end = first.end;
    if (this.peek().kind === '.') {
      const dot = this.next();
      const field = this.peek();
      if (first.text !== 'baseline') {
        this.errors.add(dot.start, `"${first.text}." is not a prefix: only baseline.<metric> takes a dot; a per-class metric is written ${first.text}[class]`);
      }
      if (field.kind !== 'name') {
        this.errors.add(field.start, `expected a metric name after "${first.text}.", found ${describeToken(field)}`);
        return { type: 'error', span: { start: first.start, end: dot.end } };
      }
      this.next();
      baseline = first.text === 'baseline';
      name = field.text;
      end = field.end;
      if (this.peek().kind === '.') {
        this.errors.add(this.peek().start, 'a metric name has at most one dot (baseline.<metric>); per-class metrics use brackets: recall[class]');
        // Skip the rest of the dotted name so it is not read as a second rule.
        while (this.peek().kind === '.' || this.peek().kind === 'name' || this.peek().kind === 'number') end = this.next().end;
      }
    }
    let className: string | null = null;
    if (this.peek().kind === 'class') {
      const c = this.next();
      className = c.text;
      end = c.end;
    }
    return { type: 'metric', name, className, baseline, span: { start: first.start, end } };
  }
}

type ValueType = 'condition' | 'number' | 'error';

/** Checks that conditions and numbers are used where each belongs; returns the node's type. */
function typeCheck(node: GateNode, errors: ErrorList): ValueType {
  const need = (child: GateNode, want: 'condition' | 'number', where: string) => {
    const got = typeCheck(child, errors);
    if (got !== 'error' && got !== want) {
      errors.add(
        child.span.start,
        want === 'condition'
          ? `${where} needs a comparison such as accuracy >= 0.9, but found a number`
          : `${where} needs a number or a metric, but found a comparison`,
      );
    }
  };
  switch (node.type) {
    case 'and':
    case 'or':
      need(node.left, 'condition', node.type);
      need(node.right, 'condition', node.type);
      return 'condition';
    case 'not':
      need(node.operand, 'condition', 'not');
      return 'condition';
    case 'compare':
      need(node.left, 'number', `the left side of ${node.op}`);
      need(node.right, 'number', `the right side of ${node.op}`);
      return 'condition';
    case 'arith':
      need(node.left, 'number', `the left side of ${node.op}`);
      need(node.right, 'number', `the right side of ${node.op}`);
      return 'number';
    case 'neg':
      need(node.operand, 'number', 'unary -');
      return 'number';
    case 'number':
    case 'metric':
      return 'number';
    case 'error':
      return 'error';
  }
}

function positionOf(text: string, offset: number): { line: number; column: number } {
  const before = text.slice(0, offset);
  const line = before.split('\n').length;
  const lineStart = before.lastIndexOf('\n') + 1;
  return { line, column: Array.from(text.slice(lineStart, offset)).length + 1 };
}

export function formatSyntaxError(e: GateSyntaxError, multiline: boolean): string {
  return `${multiline ? `line ${e.line}, ` : ''}column ${e.column}: ${e.message}`;
}

export function mentionsBaseline(node: GateNode): boolean {
  switch (node.type) {
    case 'and':
    case 'or':
    case 'compare':
    case 'arith':
      return mentionsBaseline(node.left) || mentionsBaseline(node.right);
    case 'not':
    case 'neg':
      return mentionsBaseline(node.operand);
    case 'metric':
      return node.baseline;
    default:
      return false;
  }
}

/** Every metric reference in the expression, in source order. */
export function metricsIn(node: GateNode): MetricNode[] {
  switch (node.type) {
    case 'and':
    case 'or':
    case 'compare':
    case 'arith':
      return [...metricsIn(node.left), ...metricsIn(node.right)];
    case 'not':
    case 'neg':
      return metricsIn(node.operand);
    case 'metric':
      return [node];
    default:
      return [];
  }
}

function splitRules(node: GateNode, text: string): GateRule[] {
  if (node.type === 'and') return [...splitRules(node.left, text), ...splitRules(node.right, text)];
  return [{ text: text.slice(node.span.start, node.span.end).trim(), node, span: node.span, usesBaseline: mentionsBaseline(node) }];
}

/** Every syntax error in `text`, in source order; empty when the gate parses. */
export function gateSyntaxErrors(text: string): GateSyntaxError[] {
  return parseInternal(text).errors;
}

function parseInternal(text: string): { gate: Gate | null; errors: GateSyntaxError[] } {
  if (typeof text !== 'string') {
    return { gate: null, errors: [{ message: 'a gate is text, e.g. "accuracy >= 0.97 and min_class_recall >= 0.9"', offset: 0, line: 1, column: 1 }] };
  }
  const list = new ErrorList();
  const tokens = tokenize(text, list);
  let expression: GateNode;
  if (tokens.length === 1) {
    list.add(0, 'the gate is empty; write at least one rule, e.g. accuracy >= 0.97');
    expression = { type: 'error', span: { start: 0, end: 0 } };
  } else {
    expression = new Parser(tokens, list).parseGate();
    const type = typeCheck(expression, list);
    // Only when nothing else is wrong: after a syntax error this is usually an echo of it.
    if (type === 'number' && list.items.length === 0) list.add(expression.span.start, 'the gate must be a condition such as accuracy >= 0.97, but this is only a number');
  }
  const errors = list.items
    .sort((a, b) => a.offset - b.offset)
    .map((e) => ({ message: e.message, offset: e.offset, ...positionOf(text, e.offset) }));
  return { gate: errors.length ? null : { text, expression, rules: splitRules(expression, text) }, errors };
}

/** Parses a gate; on any syntax error throws INVALID_SPEC listing every one with its position. */
export function parseGate(text: string): Gate {
  const { gate, errors } = parseInternal(text);
  if (gate) return gate;
  const multiline = typeof text === 'string' && text.includes('\n');
  throw new AimassError('INVALID_SPEC', `the gate has ${errors.length} syntax error(s); fix each one listed and try again`, {
    problems: errors.map((e) => formatSyntaxError(e, multiline)),
    syntaxErrors: errors,
  });
}
