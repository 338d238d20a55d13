// @database-independent: HTTP-layer behaviour only; the PostgreSQL stage does not run it again.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { chromium } from 'playwright-core';
import type { Browser } from 'playwright-core';
import { GOOD_PASSWORD, startTestServer, uniqueName } from '../helpers/app.js';
import type { TestServer } from '../helpers/app.js';

const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

interface OpenApi {
  paths: Record<string, Record<string, { responses?: Record<string, unknown>; requestBody?: unknown; parameters?: unknown[] }>>;
}

describe('API reference: /openapi.json and the /docs page', () => {
  let server: TestServer;
  let browser: Browser;
  before(async () => {
    server = await startTestServer();
    browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: ['--no-sandbox', '--disable-gpu'], headless: true });
  });
  after(async () => {
    await browser?.close();
    await server.close();
  });

  it('describes every resource and admin route with request and response schemas', async () => {
    const res = await server.client().get<OpenApi>('/openapi.json');
    assert.equal(res.status, 200);
    const { paths } = res.body;
    const expected: Array<[string, string, boolean]> = [
      ['/api/bucketlists', 'get', false],
      ['/api/bucketlists', 'post', true],
      ['/api/bucketlists/{id}', 'get', false],
      ['/api/bucketlists/{id}', 'put', true],
      ['/api/bucketlists/{id}', 'patch', true],
      ['/api/bucketlists/{id}', 'delete', false],
      ['/api/bucketlists/{id}/items', 'get', false],
      ['/api/bucketlists/{id}/items', 'post', true],
      ['/api/bucketlists/{id}/items/{item_id}', 'put', true],
      ['/api/bucketlists/{id}/items/{item_id}', 'patch', true],
      ['/api/bucketlists/{id}/items/{item_id}', 'delete', false],
      ['/api/admin/users', 'get', false],
      ['/api/admin/users/{id}', 'patch', true],
      ['/api/admin/audit', 'get', false],
    ];
    for (const [path, method, hasBody] of expected) {
      const operation = paths[path]?.[method];
      assert.ok(operation, `${method} ${path} is documented`);
      assert.ok(operation.responses && Object.keys(operation.responses).some((s) => s.startsWith('2')), `${method} ${path} has a success response`);
      assert.ok(operation.responses && '401' in operation.responses, `${method} ${path} documents 401`);
      if (hasBody) assert.ok(operation.requestBody, `${method} ${path} has a request body schema`);
    }
    assert.ok(!Object.keys(paths).some((p) => p.startsWith('/docs')), 'the docs page itself is not part of the API');
  });

  it('serves /docs publicly under the strict CSP and renders every route with no violations', async () => {
    const res = await server.client().get('/docs');
    assert.equal(res.status, 200);
    const csp = res.headers.get('content-security-policy') ?? '';
    assert.match(csp, /script-src 'self'(;|$)/);
    assert.match(csp, /style-src 'self'(;|$)/);
    assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);

    const context = await browser.newContext();
    const page = await context.newPage();
    const problems: string[] = [];
    page.on('pageerror', (error) => problems.push(`pageerror: ${error.message}`));
    page.on('console', (message) => {
      if (message.type() === 'error') problems.push(message.text());
    });
    await page.goto(`${server.url}/docs`);
    await page.waitForSelector('.opblock');
    const shown = await page.locator('.opblock-summary-path').allTextContents();
    for (const path of ['/api/bucketlists', '/api/bucketlists/{id}/items/{item_id}', '/api/admin/users/{id}', '/api/admin/audit', '/api/token']) {
      assert.ok(shown.includes(path), `${path} is on the page`);
    }
    assert.deepEqual(problems, [], 'no script errors or CSP violations');
    await context.close();
  });

  it('"Try it out" works with the browser session (it sends the CSRF header)', async () => {
    const context = await browser.newContext({ baseURL: server.url });
    const signup = await context.request.post('/signup', { data: { username: uniqueName('docs'), password: GOOD_PASSWORD } });
    assert.equal(signup.status(), 201);
    const page = await context.newPage();
    await page.goto('/docs');
    const operation = page.locator('#operations-bucketlists-post_api_bucketlists');
    await operation.locator('.opblock-summary').click();
    await operation.locator('.try-out__btn').click();
    await operation.locator('textarea.body-param__text').fill('{"name": "Made in the API reference"}');
    await operation.locator('.execute').click();
    const status = operation.locator('.live-responses-table .response-col_status').nth(1);
    await status.waitFor();
    assert.equal((await status.textContent())?.trim(), '201');
    const lists = await context.request.get('/api/bucketlists');
    assert.deepEqual(
      ((await lists.json()) as { items: Array<{ name: string }> }).items.map((l) => l.name),
      ['Made in the API reference'],
    );
    await context.close();
  });
});
