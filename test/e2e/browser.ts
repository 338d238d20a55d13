/**
 * Shared pieces of the browser tests: Debian's Chromium driven by playwright-core, one browser per
 * test file, a page watcher that catches script errors and CSP violations, axe-core, screenshots.
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import type { Browser, BrowserContext, BrowserContextOptions, Page } from 'playwright-core';
import { TEST_OUTPUT } from '../helpers/app.js';
import type { TestServer } from '../helpers/app.js';

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

const ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

const WEB_BUILD = join(process.cwd(), 'web', 'dist', 'index.html');

/**
 * Why the browser suites cannot run here, for `describe(name, { skip })`; false when they can.
 * Without Chromium they are skipped with this message, unless GATEHOUSE_REQUIRE_SERVICES=1
 * (CI), where launchBrowser fails instead.
 */
export function browserSkipReason(): string | false {
  if (existsSync(CHROMIUM_PATH) || process.env.GATEHOUSE_REQUIRE_SERVICES === '1') return false;
  return `browser tests skipped: no Chromium at ${CHROMIUM_PATH} (apt-get install chromium, as .ci/run does, or set CHROMIUM_PATH)`;
}

/** Headless Chromium with a fresh temporary profile (playwright creates and deletes it). */
export async function launchBrowser(): Promise<Browser> {
  if (!existsSync(CHROMIUM_PATH)) throw new Error(`no Chromium at ${CHROMIUM_PATH}: apt-get install chromium (GATEHOUSE_REQUIRE_SERVICES=1 makes this a failure)`);
  if (!existsSync(WEB_BUILD)) throw new Error('web/dist/index.html is missing: run `npm run build` first (npm test does)');
  return chromium.launch({ executablePath: CHROMIUM_PATH, args: ARGS, headless: true });
}

/** A context on the test server; `bypassCSP` only for injecting axe. */
export async function newContext(browser: Browser, server: TestServer, options: BrowserContextOptions = {}): Promise<BrowserContext> {
  return browser.newContext({ baseURL: server.url, viewport: { width: 1024, height: 768 }, ...options });
}

/**
 * Everything a page reports that a person would call broken: uncaught errors, console errors
 * (which include CSP violations and failed loads). Assert `problems` is empty at the end.
 */
export function watch(page: Page): { problems: string[] } {
  const problems: string[] = [];
  page.on('pageerror', (error) => problems.push(`pageerror: ${error.message}`));
  page.on('console', (message) => {
    if (message.type() !== 'error') return;
    const text = message.text();
    // A form re-rendered with its 4xx status is expected, and Chromium logs each such response.
    if (/^Failed to load resource: the server responded with a status of (401|409|422)\b/.test(text)) return;
    problems.push(`console: ${text}`);
  });
  return { problems };
}

/** A new context signed in as `username` through the JSON login route (a browser session of its own). */
export async function signedInContext(browser: Browser, server: TestServer, username: string, password: string, options: BrowserContextOptions = {}): Promise<BrowserContext> {
  const context = await newContext(browser, server, options);
  const res = await context.request.post('/login', { data: { username, password } });
  if (res.status() !== 200) throw new Error(`login failed: ${res.status()} ${await res.text()}`);
  return context;
}

/** Sign up through the API inside a browser context, so its pages share the session cookies. */
export async function signUpInContext(context: BrowserContext, username: string, password: string): Promise<void> {
  const res = await context.request.post('/signup', { data: { username, password } });
  if (res.status() !== 201) throw new Error(`signup failed: ${res.status()} ${await res.text()}`);
}

/** Call the JSON API as the context's signed-in user (cookie + CSRF header, as the app does). */
export async function apiInContext(context: BrowserContext, method: string, path: string, data?: unknown): Promise<unknown> {
  const csrf = (await context.cookies()).find((c) => c.name === 'csrf_token')?.value ?? '';
  const res = await context.request.fetch(path, { method, headers: { 'x-csrf-token': csrf }, ...(data !== undefined ? { data } : {}) });
  if (res.status() >= 300) throw new Error(`${method} ${path}: ${res.status()} ${await res.text()}`);
  return res.status() === 204 ? undefined : res.json();
}

export const SCREENSHOTS = join(TEST_OUTPUT, 'screenshots');

/** A full-page screenshot under test-output/screenshots/ (git-ignored); `npm run screenshots` copies them to docs/. */
export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true, animations: 'disabled', caret: 'hide' });
}

let axeSource: string | undefined;

export interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: Array<{ target: unknown; failureSummary?: string }>;
}

/**
 * Run axe-core on the page (WCAG 2.0–2.2 A/AA rules and best practices) and return the serious
 * and critical violations. The page's context must bypass the CSP to accept the injected script.
 */
export async function seriousViolations(page: Page): Promise<AxeViolation[]> {
  axeSource ??= readFileSync(join(process.cwd(), 'node_modules', 'axe-core', 'axe.min.js'), 'utf8');
  await page.addScriptTag({ content: axeSource });
  const violations = await page.evaluate(async () => {
    // Runs in the page; the test project has no DOM types, so say what is used.
    const page = globalThis as unknown as { document: unknown; axe: { run: (context: unknown, options: object) => Promise<{ violations: AxeViolation[] }> } };
    const result = await page.axe.run(page.document, { resultTypes: ['violations'] });
    return result.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map((n) => ({ target: n.target, failureSummary: n.failureSummary })) }));
  });
  return violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
}

/** A readable failure message for axe violations. */
export function describeViolations(violations: AxeViolation[]): string {
  return violations.map((v) => `${v.impact} ${v.id}: ${v.help}\n${v.nodes.map((n) => `    ${JSON.stringify(n.target)} ${n.failureSummary ?? ''}`).join('\n')}`).join('\n');
}
