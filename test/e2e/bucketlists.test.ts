import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { GOOD_PASSWORD, startTestServer, uniqueName } from '../helpers/app.js';
import type { TestServer } from '../helpers/app.js';
import { apiInContext, browserSkipReason, launchBrowser, newContext, screenshot, signUpInContext, watch } from './browser.js';

describe('bucketlists in a browser', { skip: browserSkipReason() }, () => {
  let server: TestServer;
  let browser: Browser;
  before(async () => {
    browser = await launchBrowser(); // first: without Chromium, fail before a server is left running
    server = await startTestServer();
  });
  after(async () => {
    await browser?.close();
    await server?.close();
  });

  async function signedInPage(): Promise<{ context: BrowserContext; page: Page; problems: string[] }> {
    const context = await newContext(browser, server);
    await signUpInContext(context, uniqueName('Lists'), GOOD_PASSWORD);
    const page = await context.newPage();
    return { context, page, ...watch(page) };
  }

  /** The bucketlist names the page lists, in order. */
  async function listedNames(page: Page): Promise<string[]> {
    return page.locator('.rows .row__link').allTextContents();
  }

  it('creates, renames and deletes bucketlists', async () => {
    const { context, page, problems } = await signedInPage();
    await page.goto('/');
    await page.getByRole('link', { name: 'Go to your bucketlists' }).click();
    await page.getByRole('heading', { level: 1, name: 'Your bucketlists' }).waitFor();
    assert.equal(new URL(page.url()).pathname, '/bucketlists');
    await page.getByText('You have no bucketlists yet.').waitFor();

    // Create two.
    for (const name of ['Visit Kyoto', 'Learn to sail']) {
      await page.getByLabel('Name', { exact: true }).fill(name);
      await page.getByRole('button', { name: 'Create bucketlist' }).click();
      await page.getByRole('status').getByText(`Created “${name}”.`).waitFor();
    }
    await page.getByText('Showing 1–2 of 2 bucketlists.').waitFor();
    assert.deepEqual(await listedNames(page), ['Visit Kyoto', 'Learn to sail']);
    assert.equal(await page.getByLabel('Name', { exact: true }).inputValue(), '', 'the form is ready for the next one');

    // An empty name is refused before any request, next to the field.
    await page.getByRole('button', { name: 'Create bucketlist' }).click();
    await page.getByRole('alert').getByText('Enter a name.').waitFor();
    assert.equal(await page.getByLabel('Name', { exact: true }).getAttribute('aria-invalid'), 'true');

    // Rename: the accessible name says which one; Save returns focus to the Rename button.
    await page.getByRole('button', { name: 'Rename Learn to sail' }).click();
    const input = page.getByLabel('New name for the bucketlist “Learn to sail”');
    await input.fill('Learn to sail a catamaran');
    await page.getByRole('button', { name: 'Save' }).click();
    await page.getByRole('link', { name: 'Learn to sail a catamaran' }).waitFor();
    await page.getByRole('status').getByText('Renamed to “Learn to sail a catamaran”.').waitFor();
    assert.equal(await page.evaluate('document.activeElement.textContent'), 'Rename Learn to sail a catamaran');

    // Escape cancels a rename.
    await page.getByRole('button', { name: 'Rename Visit Kyoto' }).click();
    await page.getByLabel('New name for the bucketlist “Visit Kyoto”').fill('Something else');
    await page.keyboard.press('Escape');
    assert.deepEqual(await listedNames(page), ['Visit Kyoto', 'Learn to sail a catamaran']);
    await screenshot(page, 'e2e-bucketlists');

    // Delete asks first; Cancel keeps it, Yes deletes it.
    await page.getByRole('button', { name: 'Delete Visit Kyoto' }).click();
    await page.getByRole('button', { name: 'Cancel' }).click();
    assert.deepEqual(await listedNames(page), ['Visit Kyoto', 'Learn to sail a catamaran']);
    await page.getByRole('button', { name: 'Delete Visit Kyoto' }).click();
    await page.getByText('Delete the bucketlist “Visit Kyoto” and all its items? This cannot be undone.').waitFor();
    await page.getByRole('button', { name: 'Yes, delete' }).click();
    await page.getByRole('status').getByText('Deleted “Visit Kyoto”.').waitFor();
    assert.deepEqual(await listedNames(page), ['Learn to sail a catamaran']);

    // The server agrees, after a reload too.
    const stored = (await apiInContext(context, 'GET', '/api/bucketlists')) as { items: Array<{ name: string }> };
    assert.deepEqual(
      stored.items.map((b) => b.name),
      ['Learn to sail a catamaran'],
    );
    await page.reload();
    await page.getByText('Showing 1–1 of 1 bucketlist.').waitFor();
    assert.deepEqual(problems, []);
    await context.close();
  });

  it('shows a name the server refuses (a duplicate) next to the field', async () => {
    const { context, page, problems } = await signedInPage();
    await apiInContext(context, 'POST', '/api/bucketlists', { name: 'Only once' });
    await page.goto('/bucketlists');
    await page.getByRole('link', { name: 'Only once' }).waitFor();
    await page.getByLabel('Name', { exact: true }).fill('Only once');
    const [response] = await Promise.all([
      page.waitForResponse((r) => r.url().endsWith('/api/bucketlists') && r.request().method() === 'POST'),
      page.getByRole('button', { name: 'Create bucketlist' }).click(),
    ]);
    assert.ok(response.status() >= 400, `the API refused it (${response.status()})`);
    const error = page.locator('#new-bucketlist-error');
    await error.waitFor();
    assert.ok(((await error.textContent()) ?? '').length > 0);
    assert.equal(await page.getByLabel('Name', { exact: true }).inputValue(), 'Only once', 'what was typed is kept');
    assert.deepEqual(
      problems.filter((p) => !/status of 409/.test(p)),
      [],
    );
    await context.close();
  });

  it('searches and pages through bucketlists, with the state in the address', async () => {
    const { context, page, problems } = await signedInPage();
    for (let i = 1; i <= 12; i += 1) {
      await apiInContext(context, 'POST', '/api/bucketlists', { name: i % 4 === 0 ? `Sail trip ${i}` : `List ${String(i).padStart(2, '0')}` });
    }
    await page.goto('/bucketlists');
    await page.getByText('Showing 1–10 of 12 bucketlists.').waitFor();
    await page.getByText('Page 1 of 2').waitFor();
    assert.equal((await listedNames(page)).length, 10);

    await page.getByRole('link', { name: 'Next page' }).click();
    await page.getByText('Showing 11–12 of 12 bucketlists.').waitFor();
    assert.equal(new URL(page.url()).search, '?page=2');
    assert.deepEqual(await listedNames(page), ['List 11', 'Sail trip 12']);
    assert.equal(await page.evaluate('document.activeElement.className'), 'summary', 'focus moves to the new results');

    await page.goBack();
    await page.getByText('Showing 1–10 of 12 bucketlists.').waitFor();

    await page.getByLabel('Search by name').fill('sail');
    await page.getByRole('button', { name: 'Search' }).click();
    await page.getByText('Showing 1–3 of 3 bucketlists matching “sail”.').waitFor();
    assert.deepEqual(await listedNames(page), ['Sail trip 4', 'Sail trip 8', 'Sail trip 12']);
    assert.equal(new URL(page.url()).search, '?q=sail');

    await page.reload();
    await page.getByText('Showing 1–3 of 3 bucketlists matching “sail”.').waitFor();
    assert.equal(await page.getByLabel('Search by name').inputValue(), 'sail');

    await page.getByLabel('Search by name').fill('nothing like this');
    await page.getByRole('button', { name: 'Search' }).click();
    await page.getByText('No bucketlists match “nothing like this”.').waitFor();
    await page.getByRole('link', { name: 'Clear search' }).click();
    await page.getByText('Showing 1–10 of 12 bucketlists.').waitFor();

    // Deleting the only row of the last page shows the page before it.
    await page.goto('/bucketlists?page=2');
    await page.getByText('Showing 11–12 of 12 bucketlists.').waitFor();
    for (const name of ['List 11', 'Sail trip 12']) {
      await page.getByRole('button', { name: `Delete ${name}` }).click();
      await page.getByRole('button', { name: 'Yes, delete' }).click();
      await page.getByRole('status').getByText(`Deleted “${name}”.`).waitFor();
    }
    await page.getByText('Showing 1–10 of 10 bucketlists.').waitFor();
    assert.equal(new URL(page.url()).search, '');
    assert.deepEqual(problems, []);
    await context.close();
  });

  it('opens a bucketlist to add, tick, rename and delete items, then deletes it', async () => {
    const { context, page, problems } = await signedInPage();
    const created = (await apiInContext(context, 'POST', '/api/bucketlists', { name: 'Weekend' })) as { id: number };
    await page.goto('/bucketlists');
    await page.getByRole('link', { name: 'Weekend' }).click();
    await page.getByRole('heading', { level: 1, name: 'Weekend' }).waitFor();
    assert.equal(new URL(page.url()).pathname, `/bucketlists/${created.id}`);
    assert.equal(await page.title(), 'Weekend · Gatehouse');
    await page.getByText('No items yet. Add the first one below.').waitFor();

    for (const name of ['Bake bread', 'Call grandma', 'Fix the bike']) {
      await page.getByLabel('New item').fill(name);
      await page.getByRole('button', { name: 'Add item' }).click();
      await page.getByRole('status').getByText(`Added “${name}”.`).waitFor();
    }
    await page.getByText('0 of 3 done.').waitFor();

    await page.getByLabel('Call grandma').check();
    await page.getByText('1 of 3 done.').waitFor();
    await screenshot(page, 'e2e-bucketlist');

    await page.getByRole('button', { name: 'Rename Fix the bike' }).click();
    await page.getByLabel('New name for the item “Fix the bike”').fill('Fix the bike brakes');
    await page.getByRole('button', { name: 'Save' }).click();
    await page.getByLabel('Fix the bike brakes').waitFor();

    await page.getByRole('button', { name: 'Delete Bake bread' }).click();
    await page.getByRole('button', { name: 'Yes, delete' }).click();
    await page.getByRole('status').getByText('Deleted “Bake bread”.').waitFor();
    await page.getByText('1 of 2 done.').waitFor();

    // What the page shows is what the server holds.
    await page.reload();
    await page.getByText('1 of 2 done.').waitFor();
    assert.equal(await page.getByLabel('Call grandma').isChecked(), true);
    assert.equal(await page.getByLabel('Fix the bike brakes').isChecked(), false);
    await page.getByLabel('Call grandma').uncheck();
    await page.getByText('0 of 2 done.').waitFor();
    const stored = (await apiInContext(context, 'GET', `/api/bucketlists/${created.id}`)) as { items: Array<{ name: string; done: boolean }> };
    assert.deepEqual(
      stored.items.map((i) => [i.name, i.done]),
      [
        ['Call grandma', false],
        ['Fix the bike brakes', false],
      ],
    );

    // Rename the bucketlist itself, then delete it.
    await page.getByRole('button', { name: 'Rename bucketlist' }).click();
    await page.getByLabel('New name').fill('Long weekend');
    await page.getByRole('button', { name: 'Save' }).click();
    await page.getByRole('heading', { level: 1, name: 'Long weekend' }).waitFor();
    await page.getByRole('button', { name: 'Delete bucketlist' }).click();
    await page.getByText('Delete “Long weekend” and its 2 items? This cannot be undone.').waitFor();
    await page.getByRole('button', { name: 'Yes, delete' }).click();
    await page.waitForURL(`${server.url}/bucketlists`);
    await page.getByRole('status').getByText('Deleted “Long weekend”.').waitFor();
    await page.getByText('You have no bucketlists yet.').waitFor();
    assert.deepEqual(problems, []);
    await context.close();
  });

  it("says so when a bucketlist does not exist or is someone else's", async () => {
    const other = await newContext(browser, server);
    await signUpInContext(other, uniqueName('Other'), GOOD_PASSWORD);
    const theirs = (await apiInContext(other, 'POST', '/api/bucketlists', { name: 'Private' })) as { id: number };
    await other.close();

    const { context, page, problems } = await signedInPage();
    await page.goto(`/bucketlists/${theirs.id}`);
    await page.getByRole('heading', { level: 1, name: 'Bucketlist not found' }).waitFor();
    await page.getByText('This bucketlist does not exist, or it is not yours.').waitFor();
    assert.ok(!(await page.content()).includes('Private'));
    assert.deepEqual(
      problems.filter((p) => !/status of 404/.test(p)),
      [],
    );
    await page.getByRole('link', { name: 'All bucketlists' }).click();
    await page.getByRole('heading', { level: 1, name: 'Your bucketlists' }).waitFor();
    await context.close();
  });

  it('shows a failed request with a way to try again', async () => {
    const { context, page, problems } = await signedInPage();
    await apiInContext(context, 'POST', '/api/bucketlists', { name: 'Still here' });
    // List requests fail as if the server were overloaded, until it recovers; then the retry goes through.
    let overloaded = true;
    await page.route('**/api/bucketlists?*', async (route) => {
      if (!overloaded) return route.continue();
      return route.fulfill({ status: 503, contentType: 'application/json', headers: { 'retry-after': '1' }, body: JSON.stringify({ error: { code: 'overloaded', message: 'The server is busy. Try again shortly.' } }) });
    });
    await page.goto('/bucketlists');
    await page.getByRole('alert').getByText('Could not load your bucketlists.').waitFor();
    await page.getByRole('alert').getByText('The server is busy. Try again shortly.').waitFor();
    overloaded = false;
    await page.getByRole('button', { name: 'Try again' }).click();
    await page.getByRole('link', { name: 'Still here' }).waitFor();
    assert.deepEqual(
      problems.filter((p) => !/status of 503/.test(p)),
      [],
    );
    await context.close();
  });
});
