/**
 * Forward authentication's settings and host patterns: FORWARD_AUTH_HOSTS, FORWARD_AUTH_RULES
 * and COOKIE_DOMAIN are validated at start (a ConfigError naming the variable), and the patterns
 * match as docs/forward-auth.md says — case-insensitive, port ignored, `*.example.com` at any
 * depth but never example.com itself.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { hostnameOf, matchesAnyHostPattern, matchesHostPattern, mostSpecificMatch, parseHostPattern } from '../../src/authz/host-patterns.js';
import { ConfigError, loadConfig } from '../../src/config.js';
import { safeNext } from '../../src/server/pages/next-path.js';

function configError(env: Record<string, string>): ConfigError {
  try {
    loadConfig(env);
  } catch (error) {
    assert.ok(error instanceof ConfigError, String(error));
    return error;
  }
  assert.fail(`no ConfigError for ${JSON.stringify(env)}`);
}

describe('host patterns', () => {
  it('normalizes entries: case, punycode, a trailing dot; keeps wildcards and IP addresses', () => {
    assert.equal(parseHostPattern(' App.Example.COM '), 'app.example.com');
    assert.equal(parseHostPattern('*.Example.ORG'), '*.example.org');
    assert.equal(parseHostPattern('app.example.com.'), 'app.example.com');
    assert.equal(parseHostPattern('bücher.example'), 'xn--bcher-kva.example');
    assert.equal(parseHostPattern('127.0.0.1'), '127.0.0.1');
    assert.equal(parseHostPattern('[::1]'), '[::1]');
    assert.equal(parseHostPattern('localhost'), 'localhost');
  });

  it('refuses what is not one host name: ports, schemes, paths, user info, stray or inner wildcards', () => {
    for (const entry of ['app.example.com:8443', 'app.example.com:', '[::1]:80', 'https://app.example.com', 'app.example.com/x', 'user@app.example.com', '*', '*.', '**.example.com', '*example.com', 'a.*.example.com', '*.*.example.com', '*.127.0.0.1', '*.[::1]', 'a b.example.com', 'a..example.com', '.example.com', 'app.example.com\\x', '']) {
      assert.throws(() => parseHostPattern(entry), Error, JSON.stringify(entry));
    }
  });

  it('matches exact names and subdomains at any depth, never the parent or a look-alike', () => {
    const cases: Array<[string, string, boolean]> = [
      ['app.example.com', 'app.example.com', true],
      ['app.example.com', 'x.app.example.com', false],
      ['app.example.com', 'app.example.com.evil.net', false],
      ['*.example.com', 'a.example.com', true],
      ['*.example.com', 'a.b.c.example.com', true],
      ['*.example.com', 'example.com', false],
      ['*.example.com', 'evilexample.com', false],
      ['*.example.com', 'example.com.evil.net', false],
      ['*.example.com', 'a.example.co', false],
    ];
    for (const [pattern, hostname, expected] of cases) assert.equal(matchesHostPattern(pattern, hostname), expected, `${pattern} ~ ${hostname}`);
    assert.equal(matchesAnyHostPattern([], 'a.example.com'), false, 'an empty list protects nothing');
  });

  it('reads a Host-like header as the URL parser does, and refuses anything but one host[:port]', () => {
    assert.equal(hostnameOf('App.Example.com:8443'), 'app.example.com');
    assert.equal(hostnameOf('app.example.com.'), 'app.example.com');
    assert.equal(hostnameOf('[::1]:80'), '[::1]');
    assert.equal(hostnameOf('0x7f.1'), '127.0.0.1', 'IPv4 in any notation comes out dotted, as browsers read it');
    for (const value of ['', ' ', 'a.example.com, b.example.com', 'a.example.com/x', 'u@a.example.com', 'a.example.com?x', 'a.example.com#x', 'a.example.com\\x', 'a.example.com:99999', 'a..example.com', 'http://a.example.com']) {
      assert.equal(hostnameOf(value), null, JSON.stringify(value));
    }
  });

  it('picks the most specific matching rule: the exact name, else the longest wildcard', () => {
    const rules = ['*.example.com', '*.ops.example.com', 'open.ops.example.com'];
    assert.equal(mostSpecificMatch(rules, 'open.ops.example.com'), 'open.ops.example.com');
    assert.equal(mostSpecificMatch(rules, 'db.ops.example.com'), '*.ops.example.com');
    assert.equal(mostSpecificMatch(rules, 'wiki.example.com'), '*.example.com');
    assert.equal(mostSpecificMatch(rules, 'example.com'), null);
  });
});

describe('FORWARD_AUTH_HOSTS, FORWARD_AUTH_RULES, COOKIE_DOMAIN', () => {
  it('default to nothing protected and host-only cookies', () => {
    const config = loadConfig({});
    assert.deepEqual(config.forwardAuthHosts, []);
    assert.deepEqual(config.forwardAuthRules, []);
    assert.equal(config.cookieDomain, null);
  });

  it('read a comma-separated list, normalized and without duplicates', () => {
    const config = loadConfig({ FORWARD_AUTH_HOSTS: ' App.Example.com, *.Apps.Example.com,,app.example.com ' });
    assert.deepEqual(config.forwardAuthHosts, ['app.example.com', '*.apps.example.com']);
    assert.ok(Object.isFrozen(config.forwardAuthHosts));
  });

  it('refuse an invalid host with the variable named', () => {
    for (const value of ['app.example.com:443', 'https://app.example.com', '*', 'a.*.example.com', 'app.example.com/x']) {
      const error = configError({ FORWARD_AUTH_HOSTS: value });
      assert.equal(error.variable, 'FORWARD_AUTH_HOSTS', value);
      assert.match(error.message, /^FORWARD_AUTH_HOSTS: /);
    }
  });

  it('read rules as host=role, case-insensitively', () => {
    const config = loadConfig({ FORWARD_AUTH_HOSTS: '*.example.com', FORWARD_AUTH_RULES: 'Admin.Example.com=ADMIN, *.ops.example.com=admin, open.ops.example.com = user' });
    assert.deepEqual(config.forwardAuthRules, [
      { host: 'admin.example.com', role: 'admin' },
      { host: '*.ops.example.com', role: 'admin' },
      { host: 'open.ops.example.com', role: 'user' },
    ]);
  });

  it('refuse a malformed rule, an unknown role, a duplicate, and a rule for a host FORWARD_AUTH_HOSTS does not let in', () => {
    const hosts = { FORWARD_AUTH_HOSTS: 'app.example.com, *.apps.example.com' };
    for (const rules of ['app.example.com', 'app.example.com=', 'app.example.com=root', '=admin', 'app.example.com=admin,app.example.com=user', 'typo.example.com=admin', 'example.com=admin', '*.other.example.com=admin', 'app.example.com:443=admin']) {
      assert.equal(configError({ ...hosts, FORWARD_AUTH_RULES: rules }).variable, 'FORWARD_AUTH_RULES', rules);
    }
    assert.equal(configError({ FORWARD_AUTH_RULES: 'app.example.com=admin' }).variable, 'FORWARD_AUTH_RULES', 'rules without hosts');
    // Rules inside the list are fine, wildcard or not.
    assert.equal(loadConfig({ ...hosts, FORWARD_AUTH_RULES: 'x.apps.example.com=admin,*.ops.apps.example.com=admin,*.apps.example.com=user' }).forwardAuthRules.length, 3);
  });

  it('take COOKIE_DOMAIN as PUBLIC_URL\'s host or a parent domain of it', () => {
    const base = { PUBLIC_URL: 'https://auth.example.com' };
    assert.equal(loadConfig({ ...base, COOKIE_DOMAIN: 'example.com' }).cookieDomain, 'example.com');
    assert.equal(loadConfig({ ...base, COOKIE_DOMAIN: '.Example.COM' }).cookieDomain, 'example.com');
    assert.equal(loadConfig({ ...base, COOKIE_DOMAIN: 'auth.example.com' }).cookieDomain, 'auth.example.com');
    for (const value of ['other.com', 'com', 'xample.com', 'sub.auth.example.com', 'example.com:443', 'https://example.com', '127.0.0.1', 'exa mple.com']) {
      assert.equal(configError({ ...base, COOKIE_DOMAIN: value }).variable, 'COOKIE_DOMAIN', value);
    }
    assert.equal(configError({ COOKIE_DOMAIN: 'example.com' }).variable, 'COOKIE_DOMAIN', 'the default PUBLIC_URL is an IP address');
  });
});

describe('safeNext with FORWARD_AUTH_HOSTS', () => {
  const hosts = loadConfig({ FORWARD_AUTH_HOSTS: 'app.example.com, *.apps.example.com' }).forwardAuthHosts;

  it('lets an absolute http(s) URL on a protected host through, as the URL parser serializes it', () => {
    const cases: Array<[string, string]> = [
      ['https://app.example.com/x?y=1#z', 'https://app.example.com/x?y=1#z'],
      ['http://app.example.com:8080/', 'http://app.example.com:8080/'],
      ['HTTPS://APP.EXAMPLE.COM', 'https://app.example.com/'],
      ['https://a.b.apps.example.com/deep', 'https://a.b.apps.example.com/deep'],
      ['https://app.example.com//evil.example/x', 'https://app.example.com//evil.example/x'],
    ];
    for (const [next, expected] of cases) assert.equal(safeNext(next, hosts), expected, next);
  });

  it('sends everything else to the same-origin rules of safeNextPath', () => {
    const refused = [
      'https://evil.example/',
      'https://apps.example.com/',
      'https://example.com/',
      'https://app.example.com.evil.example/',
      'https://app.example.com@evil.example/',
      'https://user:pw@app.example.com/',
      'https://evil.example\\@app.example.com/',
      'https://evil.example\\.app.example.com/',
      'https:app.example.com/x',
      'https:/app.example.com/x',
      '//app.example.com/x',
      'ftp://app.example.com/',
      'javascript://app.example.com/%0aalert(1)',
      'https://app.example.com/\tx',
      'https://app.example.com/\r\nSet-Cookie: a=b',
      ` https://app.example.com/`,
    ];
    for (const next of refused) assert.equal(safeNext(next, hosts), '/', JSON.stringify(next));
    assert.equal(safeNext('/bucketlists/./7', hosts), '/bucketlists/7');
    assert.equal(safeNext('https://app.example.com/', []), '/', 'no FORWARD_AUTH_HOSTS: no absolute URL at all');
    assert.equal(safeNext(undefined, hosts), '/');
    assert.equal(safeNext(`https://app.example.com/${'a'.repeat(2048)}`, hosts), '/');
  });
});
