import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { matchAppRoute } from '../../src/server/pages/app-routes.js';
import { jsonForScript, renderAppPage } from '../../src/server/pages/app-shell.js';

const INDEX = '<html><head><title>Gatehouse</title></head><body><div id="root"><!--gatehouse:app--></div><!--gatehouse:data--></body></html>';
const user = (username: string) => ({ id: 1, username, email: null, role: 'user', created_at: '2026-01-01T00:00:00.000Z' });

describe('the app shell the server renders', () => {
  it('escapes the username in the greeting and the header', () => {
    const html = renderAppPage(INDEX, { name: 'home' }, user('<img src=x onerror=alert(1)>&"\''));
    assert.ok(html.includes('Welcome, &lt;img src=x onerror=alert(1)&gt;&amp;&quot;&#39;!'));
    assert.ok(!html.includes('<img'));
  });

  it('keeps the bootstrap JSON inside its script element whatever the data holds', () => {
    const evil = '</script><script>alert(1)</script>\u2028';
    const html = renderAppPage(INDEX, { name: 'home' }, { ...user('x'), email: evil });
    const scripts = html.match(/<script/g) ?? [];
    assert.equal(scripts.length, 1, 'no second script element appears');
    const json = /<script type="application\/json" id="gatehouse-data">([^<]*)<\/script>/.exec(html)?.[1];
    assert.ok(json);
    assert.equal((JSON.parse(json) as { user: { email: string } }).user.email, evil, 'and it round-trips exactly');
    assert.equal(jsonForScript('a<b>&c'), '"a\\u003cb\\u003e\\u0026c"');
  });

  it('does not read $ patterns in the username as replacement syntax', () => {
    const html = renderAppPage(INDEX, { name: 'home' }, user("$&$'$`"));
    assert.ok(html.includes("Welcome, $&amp;$&#39;$`!"));
  });

  it('titles each page', () => {
    assert.match(renderAppPage(INDEX, { name: 'bucketlists' }, user('x')), /<title>Bucketlists · Gatehouse<\/title>/);
    assert.match(renderAppPage(INDEX, { name: 'bucketlist', id: 3 }, user('x')), /<title>Bucketlist · Gatehouse<\/title>/);
    assert.match(renderAppPage(INDEX, { name: 'account' }, user('x')), /<title>Account · Gatehouse<\/title>/);
  });

  it('lists the same navigation as the app, the current page marked', () => {
    const nav = (route: Parameters<typeof renderAppPage>[1]) => {
      const html = /<nav class="site-nav" aria-label="Main">([\s\S]*?)<\/nav>/.exec(renderAppPage(INDEX, route, user('x')))?.[1] ?? '';
      return [...html.matchAll(/<a href="([^"]+)"( aria-current="page")?>([^<]+)<\/a>/g)].map((m) => `${m[3]} ${m[1]}${m[2] ? ' (current)' : ''}`);
    };
    assert.deepEqual(nav({ name: 'home' }), ['Home / (current)', 'Bucketlists /bucketlists', 'Account /account']);
    assert.deepEqual(nav({ name: 'bucketlist', id: 3 }), ['Home /', 'Bucketlists /bucketlists (current)', 'Account /account']);
    assert.deepEqual(nav({ name: 'account' }), ['Home /', 'Bucketlists /bucketlists', 'Account /account (current)']);
  });

  it('knows the app routes and nothing else', () => {
    assert.deepEqual(matchAppRoute('/'), { name: 'home' });
    assert.deepEqual(matchAppRoute('/bucketlists'), { name: 'bucketlists' });
    assert.deepEqual(matchAppRoute('/bucketlists/42'), { name: 'bucketlist', id: 42 });
    assert.deepEqual(matchAppRoute('/account'), { name: 'account' });
    for (const path of ['/account/', '/Account', '/account/sessions', '/bucketlists/', '/bucketlists/0', '/bucketlists/-1', '/bucketlists/1.5', '/bucketlists/01', '/bucketlists/2147483648', '/bucketlists/1/items', '/x', '']) {
      assert.equal(matchAppRoute(path), null, path);
    }
  });
});
