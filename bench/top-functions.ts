/**
 * Where a CPU profile spent its time: the top functions by self time, and the same time grouped
 * by package. Reads the .cpuprofile files that `node --cpu-prof` writes (npm run bench -- --profile).
 *
 *   node --import tsx bench/top-functions.ts [FILE.cpuprofile …] [--top 20]
 *
 * Without a file, the newest profile in bench/results/profiles is read.
 */
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}

interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

export const PROFILE_DIR = resolve(fileURLToPath(new URL('.', import.meta.url)), 'results', 'profiles');
const ROOT = resolve(fileURLToPath(new URL('..', import.meta.url)));

function location(frame: CallFrame): string {
  if (!frame.url) return '';
  let url = frame.url.startsWith('file://') ? fileURLToPath(frame.url) : frame.url;
  const modules = url.lastIndexOf('node_modules/');
  if (modules >= 0) url = url.slice(modules + 'node_modules/'.length);
  else if (url.startsWith('/')) url = relative(ROOT, url);
  return `${url}:${frame.lineNumber + 1}`;
}

/** What a frame belongs to: a package, Gatehouse itself, Node's internals, or V8 bookkeeping. */
function category(frame: CallFrame): string {
  const name = frame.functionName;
  if (name === '(idle)' || name === '(program)' || name === '(garbage collector)') return name;
  const url = frame.url;
  if (!url) return '(native / V8)';
  if (url.startsWith('node:')) return 'node internals';
  const modules = url.lastIndexOf('node_modules/');
  if (modules >= 0) {
    const parts = url.slice(modules + 'node_modules/'.length).split('/');
    return parts[0]?.startsWith('@') ? `${parts[0]}/${parts[1] ?? ''}` : (parts[0] ?? url);
  }
  if (url.includes('/dist/src/') || url.includes('/src/')) return 'gatehouse';
  return url;
}

function ms(microseconds: number): string {
  return (microseconds / 1000).toFixed(1).padStart(9);
}

function percent(part: number, whole: number): string {
  return `${whole > 0 ? ((100 * part) / whole).toFixed(1) : '0.0'}%`.padStart(6);
}

/** A text report of one profile: top `top` functions by self time, then time per package. */
export function summarizeProfile(path: string, top = 20): string {
  const profile = JSON.parse(readFileSync(path, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  // Each sample lasts until the next one (as Chrome DevTools counts it).
  const selfTime = new Map<number, number>();
  for (let i = 0; i < profile.samples.length; i += 1) {
    const id = profile.samples[i] ?? 0;
    const duration = profile.timeDeltas[i + 1] ?? 0;
    selfTime.set(id, (selfTime.get(id) ?? 0) + duration);
  }
  const total = [...selfTime.values()].reduce((a, b) => a + b, 0);
  const busy = total - [...selfTime.entries()].filter(([id]) => byId.get(id)?.callFrame.functionName === '(idle)').reduce((a, [, t]) => a + t, 0);

  const keyOf = (frame: CallFrame) => `${frame.functionName || '(anonymous)'}\t${location(frame)}`;
  const self = new Map<string, number>();
  const inclusive = new Map<string, number>();
  const packages = new Map<string, number>();

  // Depth-first over the call tree; a function's inclusive time counts each sample once, even when recursive.
  const root = profile.nodes[0];
  const onPath = new Map<string, number>();
  const stack: Array<{ node: ProfileNode; leaving: boolean }> = root ? [{ node: root, leaving: false }] : [];
  while (stack.length > 0) {
    const { node, leaving } = stack.pop() as { node: ProfileNode; leaving: boolean };
    const key = keyOf(node.callFrame);
    if (leaving) {
      const count = (onPath.get(key) ?? 1) - 1;
      if (count === 0) onPath.delete(key);
      else onPath.set(key, count);
      continue;
    }
    onPath.set(key, (onPath.get(key) ?? 0) + 1);
    const time = selfTime.get(node.id) ?? 0;
    if (time > 0) {
      self.set(key, (self.get(key) ?? 0) + time);
      for (const pathKey of onPath.keys()) inclusive.set(pathKey, (inclusive.get(pathKey) ?? 0) + time);
      const group = category(node.callFrame);
      packages.set(group, (packages.get(group) ?? 0) + time);
    }
    stack.push({ node, leaving: true });
    for (const child of node.children ?? []) {
      const next = byId.get(child);
      if (next) stack.push({ node: next, leaving: false });
    }
  }

  const lines: string[] = [];
  lines.push(`${path}`);
  lines.push(`  ${(total / 1e6).toFixed(1)} s sampled, ${(busy / 1e6).toFixed(1)} s not idle; percentages are of the non-idle time.`);
  lines.push('');
  lines.push(`  ${'self ms'.padStart(9)} ${'self'.padStart(6)} ${'total'.padStart(6)}  function (location)`);
  const ranked = [...self.entries()].filter(([key]) => !key.startsWith('(idle)')).sort((a, b) => b[1] - a[1]);
  for (const [key, time] of ranked.slice(0, top)) {
    const [name, where] = key.split('\t');
    lines.push(`  ${ms(time)} ${percent(time, busy)} ${percent(inclusive.get(key) ?? 0, busy)}  ${name}${where ? ` (${where})` : ''}`);
  }
  lines.push('');
  lines.push(`  ${'self ms'.padStart(9)} ${'share'.padStart(6)}  by package`);
  for (const [group, time] of [...packages.entries()].filter(([g]) => g !== '(idle)').sort((a, b) => b[1] - a[1]).slice(0, 15)) {
    lines.push(`  ${ms(time)} ${percent(time, busy)}  ${group}`);
  }
  return lines.join('\n');
}

function newestProfile(): string | null {
  if (!existsSync(PROFILE_DIR)) return null;
  const files = readdirSync(PROFILE_DIR)
    .filter((f) => f.endsWith('.cpuprofile'))
    .map((f) => join(PROFILE_DIR, f))
    .sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs);
  return files[0] ?? null;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { values, positionals } = parseArgs({ options: { top: { type: 'string', default: '20' } }, allowPositionals: true });
  const files = positionals.length > 0 ? positionals : [newestProfile()].filter((f): f is string => f !== null);
  if (files.length === 0) {
    process.stderr.write(`no .cpuprofile given and none in ${PROFILE_DIR}; run npm run bench -- --profile first\n`);
    process.exit(2);
  }
  for (const file of files) process.stdout.write(`${summarizeProfile(file, Number(values.top))}\n\n`);
}
