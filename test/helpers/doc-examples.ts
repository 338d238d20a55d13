/**
 * The shell examples of README.md and docs/*.md, run as a test (test/process/docs-examples.test.ts).
 *
 * The convention, as docs/api.md#examples states it for readers:
 * - A ```sh block is run. The blocks of one document run in order in one bash session
 *   (`bash -Eeuo pipefail`), so variables carry over from block to block; each document gets a fresh
 *   server and database, and starts by creating what it needs.
 * - A comment line right after a command, `# 201` or `# 201 {"id":1,…}`, states the HTTP status
 *   of the command's (last) curl request; with a JSON sample, the answer must also have every key
 *   the sample shows, and the error code it shows.
 * - A block whose info string names a file (```js file=check-token.mjs) is written to that file in
 *   the document's working directory before the blocks run.
 * - Every other block (console, ini, nginx, text, json, js, ts, python, none) is shown, not run.
 */
import { spawn } from 'node:child_process';
import { appendFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** A fenced block of a Markdown document. */
export interface Fence {
  /** The first word of the info string ("" when there is none). */
  lang: string;
  /** `key=value` words of the info string. */
  attrs: Record<string, string>;
  body: string;
  /** 1-based line number of the opening fence in the document. */
  line: number;
}

/** Fenced blocks (``` or ~~~, indented up to three spaces, as inside list items) in document order. */
export function fences(markdown: string): Fence[] {
  const lines = markdown.split('\n');
  const found: Fence[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^( {0,3})(`{3,}|~{3,})\s*([^`]*?)\s*$/.exec(lines[i] ?? '');
    if (!open) continue;
    const [, indent = '', marker = '', info = ''] = open;
    const closing = new RegExp(`^ {0,3}${marker[0] === '`' ? '`' : '~'}{${marker.length},}\\s*$`);
    const body: string[] = [];
    let j = i + 1;
    for (; j < lines.length && !closing.test(lines[j] ?? ''); j++) {
      const text = lines[j] ?? '';
      // Inside a list item the block's lines carry the fence's indentation; the content does not.
      body.push(text.startsWith(indent) ? text.slice(indent.length) : text.trimStart());
    }
    const words = info.split(/\s+/).filter(Boolean);
    const attrs: Record<string, string> = {};
    for (const word of words.slice(1)) {
      const eq = word.indexOf('=');
      if (eq > 0) attrs[word.slice(0, eq)] = word.slice(eq + 1);
    }
    found.push({ lang: words[0] ?? '', attrs, body: body.join('\n'), line: i + 1 });
    i = j;
  }
  return found;
}

/** Languages a block may be labelled with: `sh` runs, the rest are shown only. */
export const SHOWN_LANGUAGES = new Set(['', 'console', 'ini', 'nginx', 'text', 'json', 'js', 'ts', 'python']);

/** One command of a runnable block, as the document writes it. */
export interface Statement {
  id: number;
  /** 1-based position of its block among the document's ```sh blocks. */
  block: number;
  /** 1-based line in the document. */
  line: number;
  text: string;
  expect?: { status: number; sample: string };
}

export interface Plan {
  statements: Statement[];
  /** The bash lines to run after the prelude (URLs not yet rewritten). */
  script: string[];
  /** Blocks to write as files first: name → content. */
  files: Array<{ name: string; content: string }>;
}

// Lines that close or continue a compound command: a marker command before them would change it
// (`if x` / `__at 3` / `then` would test __at instead of x).
const COMPOUND_WORDS = /^\s*(then|do|done|fi|else|elif|esac|\}|\)|;;)(\s|;|$)/;
// Lines that open one: their status is not a command's, and a check after them would join the condition.
const OPENS_COMPOUND = /^\s*(if|while|until|for|case|select)\b|(\bthen|\bdo|\bin|\{|\()\s*$/;
const STATUS_LINE = /^\s*#\s*(\d{3})\b(.*)$/;

/** Turn a document's runnable blocks into a script whose every command reports where it is. */
export function plan(document: string, markdown: string): Plan {
  const statements: Statement[] = [];
  const script: string[] = [];
  const files: Plan['files'] = [];
  let block = 0;
  for (const fence of fences(markdown)) {
    if (fence.attrs.file) files.push({ name: fence.attrs.file, content: fence.body.endsWith('\n') ? fence.body : `${fence.body}\n` });
    if (fence.lang !== 'sh') continue;
    block++;
    script.push(`# ${document}: block ${block}, line ${fence.line}`);
    const lines = fence.body.split('\n');
    // The statement a status line may follow: only one whose last line was the previous line.
    let last: Statement | undefined;
    for (let i = 0; i < lines.length; i++) {
      const text = lines[i] ?? '';
      const line = fence.line + 1 + i;
      const status = STATUS_LINE.exec(text);
      if (status) {
        const [, code = '', rest = ''] = status;
        const where = `${document}:${line}`;
        if (rest !== '' && !/^\s/.test(rest)) throw new Error(`${where}: a status line is "# 201" or "# 201 {sample}", not "${text.trim()}"`);
        if (!last) throw new Error(`${where}: the status line "${text.trim()}" does not directly follow a command`);
        if (last.expect) throw new Error(`${where}: a second status line for one command`);
        last.expect = { status: Number(code), sample: rest.trim() };
        script.push(`__expect ${last.id} ${code}`);
        continue;
      }
      if (text.trim() === '' || /^\s*#/.test(text) || COMPOUND_WORDS.test(text)) {
        last = undefined;
        script.push(text);
        continue;
      }
      const statement: Statement = { id: statements.length + 1, block, line, text };
      const body = [text];
      let heredoc = /(?<!<)<<-?(?!<)\s*(['"]?)([A-Za-z_][A-Za-z0-9_]*)\1/.exec(text)?.[2];
      while (i + 1 < lines.length && (heredoc !== undefined || continues(body[body.length - 1] ?? ''))) {
        const next = lines[++i] ?? '';
        body.push(next);
        if (heredoc !== undefined && next.replace(/^\t+/, '') === heredoc) heredoc = undefined;
      }
      statement.text = body.join('\n');
      statements.push(statement);
      script.push(`__at ${statement.id}`, ...body, ...(OPENS_COMPOUND.test(statement.text) ? [] : ['__done $?']));
      last = statement;
    }
  }
  return { statements, script, files };
}

/** A line that the shell reads on into the next one. */
function continues(line: string): boolean {
  return /(\\|\||&&|\|\|)\s*$/.test(line);
}

/** Defines `curl`, `npx` and `npm` for the examples, and the markers `__at` and `__expect`. */
const PRELUDE = fileURLToPath(new URL('./doc-examples-prelude.sh', import.meta.url));

/** `http://127.0.0.1:3000` and `http://localhost:3000`, as the documents write them, become the test server's address. */
export function rewriteAddress(text: string, url: string): string {
  return text.replace(/http:\/\/(127\.0\.0\.1|localhost):3000(?![0-9])/g, url);
}

/** Every key anywhere in a JSON value. */
function keysOf(value: unknown, into = new Set<string>()): Set<string> {
  if (Array.isArray(value)) for (const item of value) keysOf(item, into);
  else if (value !== null && typeof value === 'object') {
    for (const [key, inner] of Object.entries(value)) {
      into.add(key);
      keysOf(inner, into);
    }
  }
  return into;
}

/** What a stated sample promises that the answer does not keep, if anything. */
export function sampleProblem(sample: string, body: string): string | null {
  if (!sample.startsWith('{') && !sample.startsWith('[')) return null;
  let answer: unknown;
  try {
    answer = JSON.parse(body);
  } catch {
    return 'the sample is JSON but the answer is not';
  }
  const keys = keysOf(answer);
  const missing = [...sample.matchAll(/"([^"\\]+)"\s*:/g)].map((m) => m[1] ?? '').filter((key) => !keys.has(key));
  if (missing.length > 0) return `the answer lacks the key(s) ${[...new Set(missing)].map((k) => `"${k}"`).join(', ')} that the sample shows`;
  const code = /"code"\s*:\s*"([^"]+)"/.exec(sample)?.[1];
  if (code !== undefined) {
    const actual = (answer as { error?: { code?: unknown } }).error?.code;
    if (actual !== code) return `the sample shows the error code "${code}", the answer has ${JSON.stringify(actual)}`;
  }
  return null;
}

export interface RunOptions {
  /** The document's path, as messages name it. */
  document: string;
  markdown: string;
  /** The server the examples talk to. */
  url: string;
  /** The working directory of the session (written to; kept for inspection when a run fails). */
  dir: string;
  env: NodeJS.ProcessEnv;
  timeoutMs: number;
}

function indent(text: string, by = '    '): string {
  return text
    .split('\n')
    .map((line) => by + line)
    .join('\n');
}

function tail(text: string, lines: number): string {
  const all = text.trimEnd().split('\n');
  return (all.length > lines ? ['…', ...all.slice(-lines)] : all).join('\n');
}

/** `__expect` exits with this when a stated status was not the answer's. */
const STATUS_MISMATCH = 86;

/**
 * Run a document's ```sh blocks against `url`. Resolves to null when every command succeeded with
 * its stated status, else to a message naming the document, the block, the line and the command.
 */
export async function runExamples(options: RunOptions): Promise<string | null> {
  const { document, dir, url } = options;
  const { statements, script, files } = plan(document, options.markdown);
  for (const file of files) writeFileSync(join(dir, file.name), rewriteAddress(file.content, url));
  const scriptFile = join(dir, 'examples.sh');
  writeFileSync(scriptFile, `. '${PRELUDE.replace(/'/g, `'\\''`)}'\n${script.map((line) => rewriteAddress(line, url)).join('\n')}\n`);

  // Its own process group, so a timeout ends the commands it started too (curl, npx, node).
  const child = spawn('bash', ['-Eeuo', 'pipefail', scriptFile], { cwd: dir, env: options.env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let output = '';
  const collect = (chunk: Buffer) => {
    output += chunk.toString();
  };
  child.stdout.on('data', collect);
  child.stderr.on('data', collect);
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
  }, options.timeoutMs);
  const code = await new Promise<number | null>((resolve) => child.on('close', (exitCode) => resolve(exitCode)));
  clearTimeout(timer);
  appendFileSync(join(dir, 'output.log'), output);

  const state = join(dir, '.examples');
  const read = (name: string) => (existsSync(join(state, name)) ? readFileSync(join(state, name), 'utf8') : '');
  const byId = new Map(statements.map((s) => [s.id, s]));
  const describe = (statement: Statement | undefined) =>
    statement ? `${document}, sh block ${statement.block} (${document}:${statement.line}):\n${indent(statement.text)}` : `${document}, before its first command`;
  const problems: string[] = [];

  // Answers in the order they came; a status mismatch stopped the run at the last one.
  for (const row of read('answers').split('\n').filter(Boolean)) {
    const [id = '', got = ''] = row.split('\t');
    const statement = byId.get(Number(id));
    const expect = statement?.expect;
    if (!statement || !expect) continue;
    const body = read(`body.${id}`);
    if (got !== String(expect.status)) {
      const answered = got === 'none' ? 'it made no HTTP request' : `the server answered ${got}`;
      problems.push(`${describe(statement)}\n  states ${expect.status}, but ${answered}${body ? `:\n${indent(tail(body, 10))}` : ''}`);
      continue;
    }
    const problem = sampleProblem(expect.sample, body);
    if (problem) problems.push(`${describe(statement)}\n  ${problem}\n  sample: ${expect.sample}\n  answer: ${tail(body, 10)}`);
  }
  const current = byId.get(Number(read('current').trim()));
  if (timedOut) problems.push(`${describe(current)}\n  did not finish: the examples were stopped after ${options.timeoutMs} ms`);
  else if (code !== 0 && code !== STATUS_MISMATCH) {
    const [id, status, command] = read('failures').split('\n')[0]?.split('\t') ?? [];
    const failed = id !== undefined && id !== '' ? byId.get(Number(id)) : current;
    problems.push(`${describe(failed)}\n  failed with exit status ${status ?? String(code)}${command ? ` (at: ${command})` : ''}`);
  }
  if (problems.length === 0) return null;
  return `${problems.join('\n\n')}\n\nOutput of ${document}'s examples (all of it in ${join(dir, 'output.log')}):\n${indent(tail(output, 30))}`;
}
