import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { availableParallelism, cpus, release, totalmem } from 'node:os';

/** One line of the results table. `pass` is null where the row has no target or its inputs are missing. */
export interface Row {
  workload: string;
  metric: string;
  value: number | null;
  unit: string;
  target: string;
  pass: boolean | null;
  note?: string;
  /** Set when the measurement itself went wrong (errors, unexpected statuses): its value says nothing. */
  invalid?: string;
}

export interface Machine {
  nproc: number;
  cpuModel: string;
  memoryGb: number;
  kernel: string;
  node: string;
}

export function machine(): Machine {
  let cpuModel = cpus()[0]?.model ?? 'unknown';
  try {
    const match = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'));
    if (match?.[1]) cpuModel = match[1].trim();
  } catch {
    // Not Linux: os.cpus() is all there is.
  }
  return { nproc: availableParallelism(), cpuModel, memoryGb: Math.round((totalmem() / 2 ** 30) * 10) / 10, kernel: release(), node: process.version };
}

export function gitState(cwd: string): { commit: string | null; dirty: boolean | null } {
  try {
    const commit = execFileSync('git', ['rev-parse', 'HEAD'], { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    const status = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    return { commit, dirty: status.trim().length > 0 };
  } catch {
    return { commit: null, dirty: null };
  }
}

function formatValue(value: number | null, unit: string): string {
  if (value === null || !Number.isFinite(value)) return 'n/a';
  switch (unit) {
    case '%':
      return `${(value * 100).toFixed(1)} %`;
    case '×':
      return `${value.toFixed(2)} ×`;
    case 'ms':
      return `${value < 10 ? value.toFixed(2) : value.toFixed(1)} ms`;
    case 'MB':
      return `${value.toFixed(1)} MB`;
    case 'count':
      return String(Math.round(value));
    default:
      return `${value < 100 ? value.toFixed(1) : Math.round(value).toLocaleString('en-US')} ${unit}`;
  }
}

function verdict(row: Row): string {
  if (row.invalid) return 'INVALID';
  if (row.pass === null) return row.target ? 'n/a' : '';
  return row.pass ? 'PASS' : 'FAIL';
}

function noteOf(row: Row): string {
  return [row.invalid, row.note].filter(Boolean).join('; ');
}

/** The table as aligned plain text for the terminal. */
export function renderTable(rows: Row[]): string {
  const cells = rows.map((row) => [row.workload, row.metric, formatValue(row.value, row.unit), row.target, verdict(row), noteOf(row)]);
  const header = ['workload', 'metric', 'value', 'target', 'result', 'note'];
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => (c[i] ?? '').length)));
  const line = (c: string[]) =>
    c
      .map((cell, i) => (i === 2 ? cell.padStart(widths[i] ?? 0) : cell.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.map(line)].join('\n');
}

/** The same table in Markdown, for docs/benchmarks.md. */
export function renderMarkdown(rows: Row[]): string {
  const out = ['| workload | metric | value | target | result | note |', '|---|---|---:|---|---|---|'];
  for (const row of rows) out.push(`| ${row.workload} | ${row.metric} | ${formatValue(row.value, row.unit)} | ${row.target} | ${verdict(row)} | ${noteOf(row)} |`);
  return out.join('\n');
}

/** a / b, or null when either is missing or b is zero. */
export function ratio(a: number | null | undefined, b: number | null | undefined): number | null {
  if (a === null || a === undefined || b === null || b === undefined || b === 0) return null;
  return a / b;
}

export function atLeast(value: number | null, min: number): boolean | null {
  return value === null ? null : value >= min;
}

export function atMost(value: number | null, max: number): boolean | null {
  return value === null ? null : value <= max;
}
