/** Where a terminal prompt stands after some keys: still typing, or finished one way or another. */
export type PromptState =
  | { status: 'typing'; typed: string }
  /** Enter, or ^D after some characters. */
  | { status: 'submitted'; typed: string }
  /** ^C. */
  | { status: 'interrupted' }
  /** ^D on an empty line. */
  | { status: 'closed' };

const ESC = '\u001b';

/** Code points that are never part of a password: C0 controls, DEL and C1 controls. */
function isControl(char: string): boolean {
  const code = char.codePointAt(0) ?? 0;
  return code < 0x20 || (code >= 0x7f && code <= 0x9f);
}

/** How many code points after an ESC (at `start`) its escape sequence takes. */
function escapeLength(chars: string[], start: number): number {
  const introducer = chars[start];
  if (introducer === undefined) return 0;
  // SS3 (ESC O x: F1–F4, keypad) takes one more character, and so does Alt+key (ESC x).
  if (introducer !== '[') return introducer === 'O' && start + 1 < chars.length ? 2 : 1;
  // CSI (arrows, Home, Delete, …): parameter and intermediate bytes, then one final byte @–~.
  let i = start + 1;
  while (i < chars.length && !isFinalByte(chars[i] ?? '')) i += 1;
  return Math.min(i + 1, chars.length) - start;
}

function isFinalByte(char: string): boolean {
  const code = char.codePointAt(0) ?? 0;
  return code >= 0x40 && code <= 0x7e;
}

/**
 * Apply keys read from a terminal in raw mode to a prompt, as a line editor would: Enter submits;
 * Backspace (DEL or ^H) deletes one character (a code point, not a UTF-16 unit); ^U clears the
 * line; ^C interrupts; ^D submits, or closes on an empty line; escape sequences (arrow keys) and
 * other control characters are ignored, never stored. Keys after the prompt finished are ignored.
 *
 * @example applyKeys({ status: 'typing', typed: '' }, 'pw\u007fd\r') // { status: 'submitted', typed: 'pd' }
 */
export function applyKeys(state: PromptState, chunk: string): PromptState {
  if (state.status !== 'typing') return state;
  const chars = Array.from(chunk);
  let typed = Array.from(state.typed);
  for (let i = 0; i < chars.length; i += 1) {
    const char = chars[i] ?? '';
    if (char === '\r' || char === '\n') return { status: 'submitted', typed: typed.join('') };
    if (char === '\u0003') return { status: 'interrupted' };
    if (char === '\u0004') return typed.length === 0 ? { status: 'closed' } : { status: 'submitted', typed: typed.join('') };
    if (char === '\u007f' || char === '\b') typed = typed.slice(0, -1);
    else if (char === '\u0015') typed = [];
    else if (char === ESC) i += escapeLength(chars, i + 1);
    else if (!isControl(char)) typed.push(char);
  }
  return { status: 'typing', typed: typed.join('') };
}

/** The prompt ended without a password: ^C (exit 130, as a shell reports SIGINT) or ^D. */
export class PromptAbortedError extends Error {
  constructor(readonly exitCode: number) {
    super(exitCode === 130 ? 'cancelled' : 'no password given');
    this.name = 'PromptAbortedError';
  }
}

/** The password and its repetition differ. */
export class PasswordMismatchError extends Error {
  constructor() {
    super('the passwords do not match; nothing was changed');
    this.name = 'PasswordMismatchError';
  }
}

async function readPipedLine(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8').split(/\r?\n/)[0] ?? '';
}

/** One prompt on the terminal, without echo. */
function promptOnTerminal(prompt: string): Promise<string> {
  const stdin = process.stdin;
  // Raw (no echo) before the prompt shows: keys typed as soon as it appears must not be echoed.
  stdin.setRawMode(true);
  stdin.resume();
  stdin.setEncoding('utf8');
  process.stderr.write(prompt);
  return new Promise((resolve, reject) => {
    let state: PromptState = { status: 'typing', typed: '' };
    const finish = () => {
      stdin.off('data', onData);
      stdin.off('end', onEnd);
      stdin.setRawMode(false);
      stdin.pause();
      process.stderr.write('\n');
    };
    const onData = (chunk: string) => {
      state = applyKeys(state, chunk);
      if (state.status === 'typing') return;
      finish();
      if (state.status === 'submitted') resolve(state.typed);
      else reject(new PromptAbortedError(state.status === 'interrupted' ? 130 : 1));
    };
    // The terminal went away mid-prompt: no answer is coming, and exiting 0 would claim success.
    const onEnd = () => {
      finish();
      reject(new PromptAbortedError(1));
    };
    stdin.on('data', onData);
    stdin.once('end', onEnd);
  });
}

/**
 * A password from standard input: typed at a prompt without echo on a terminal, or the first line
 * of piped input. Never from argv, where other users of the machine could read it.
 */
export async function readPassword(prompt = 'Password: '): Promise<string> {
  return process.stdin.isTTY ? promptOnTerminal(prompt) : readPipedLine();
}

/**
 * A password being set: on a terminal it is typed twice, since nothing shows a typo and the
 * mistyped password would be stored; piped input is one line, as a script writes it.
 *
 * @example const password = await readNewPassword('New password: ', 'Repeat new password: ');
 */
export async function readNewPassword(prompt = 'Password: ', repeatPrompt = 'Repeat password: '): Promise<string> {
  if (!process.stdin.isTTY) return readPipedLine();
  const password = await promptOnTerminal(prompt);
  if ((await promptOnTerminal(repeatPrompt)) !== password) throw new PasswordMismatchError();
  return password;
}
