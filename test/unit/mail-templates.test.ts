/**
 * The mail templates (src/mail/templates.ts): every mail has a subject, a plain-text part and an
 * HTML part that say the same; links are PUBLIC_URL + path + ?token=…; no interpolated value
 * becomes markup in the HTML or a line of its own in the text.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { duration, LINK_PATHS, linkUrl, renderLinkMail, renderNotice } from '../../src/mail/templates.js';
import type { LinkMailName, NoticeName, NoticeParams } from '../../src/mail/templates.js';

const PUBLIC_URL = 'https://auth.example.com';
const TOKEN = 'Zm9vYmFyYmF6cXV4LXRva2VuLTEyOA';
const AT = new Date('2026-12-01T09:30:00Z');
const HOSTILE_ADDRESS = '<script>alert(1)</script>@example.com';
const HOSTILE_NAME = '"><img src=x onerror=alert(1)>';

const LINKS: LinkMailName[] = ['verify-email', 'password-reset', 'email-change'];
const NOTICES: { [N in NoticeName]: NoticeParams[N] } = {
  'password-changed': { username: 'alice' },
  'email-change-requested': { username: 'alice', newEmail: 'new@example.com' },
  'factor-added': { username: 'alice', factor: 'totp' },
  'factor-removed': { username: 'alice', factor: 'passkey', name: 'Laptop' },
  'recovery-code-used': { username: 'alice', codesLeft: 7 },
};

function renderEveryNotice(to: string, override: Partial<Record<NoticeName, object>> = {}) {
  return (Object.keys(NOTICES) as NoticeName[]).map((name) => ({
    name,
    mail: renderNotice(name, { ...NOTICES[name], ...override[name] } as NoticeParams[typeof name], { to, publicUrl: PUBLIC_URL, at: AT }),
  }));
}

describe('mail templates', () => {
  it('make links of PUBLIC_URL + the page path + ?token=<token>', () => {
    assert.deepEqual(LINK_PATHS, { 'verify-email': '/verify-email', 'password-reset': '/password/reset', 'email-change': '/email/confirm' });
    assert.equal(linkUrl(PUBLIC_URL, 'verify-email', TOKEN), `${PUBLIC_URL}/verify-email?token=${TOKEN}`);
    assert.equal(linkUrl(PUBLIC_URL, 'password-reset', TOKEN), `${PUBLIC_URL}/password/reset?token=${TOKEN}`);
    assert.equal(linkUrl(`${PUBLIC_URL}/auth`, 'email-change', TOKEN), `${PUBLIC_URL}/auth/email/confirm?token=${TOKEN}`);
  });

  it('give every link mail a subject, the link on a line of its own in the text, and the same link in the HTML', () => {
    for (const name of LINKS) {
      const link = linkUrl(PUBLIC_URL, name, TOKEN);
      const mail = renderLinkMail(name, { username: 'alice', validForSeconds: 86400 }, { to: 'alice@example.com', publicUrl: PUBLIC_URL, at: AT, link });
      assert.ok(mail.subject.length > 0 && mail.subject.length < 60, name);
      assert.ok(mail.text.split('\n').includes(link), `${name}: the text part has the link on its own line`);
      assert.ok(mail.html.includes(`href="${link}"`), `${name}: the HTML links to it`);
      assert.match(mail.text, /Hello alice,/);
      assert.match(mail.text, /24 hours/);
      assert.match(mail.text, /auth\.example\.com/);
      assert.doesNotMatch(mail.text, /<[a-z]/i, 'the text part has no markup');
    }
  });

  it('give every notice a subject, both parts, a link to reset the password, and no token', () => {
    for (const { name, mail } of renderEveryNotice('alice@example.com')) {
      assert.ok(mail.subject.length > 0, name);
      assert.match(mail.text, /2026-12-01 09:30 UTC/, name);
      assert.ok(mail.text.includes(`${PUBLIC_URL}/password/forgot`), name);
      assert.ok(mail.html.includes(`href="${PUBLIC_URL}/password/forgot"`), name);
      assert.doesNotMatch(mail.text + mail.html, /token=/, name);
    }
  });

  it('escape every interpolated value in the HTML: a hostile address, username or passkey name stays text', () => {
    const link = linkUrl(PUBLIC_URL, 'verify-email', TOKEN);
    const mails = [
      renderLinkMail('verify-email', { username: HOSTILE_NAME, validForSeconds: 3600 }, { to: HOSTILE_ADDRESS, publicUrl: PUBLIC_URL, at: AT, link }),
      renderLinkMail('email-change', { username: HOSTILE_NAME, validForSeconds: 3600 }, { to: HOSTILE_ADDRESS, publicUrl: PUBLIC_URL, at: AT, link }),
      ...renderEveryNotice('alice@example.com', {
        'password-changed': { username: HOSTILE_NAME },
        'email-change-requested': { username: HOSTILE_NAME, newEmail: HOSTILE_ADDRESS },
        'factor-added': { username: HOSTILE_NAME, factor: 'passkey', name: HOSTILE_NAME },
      }).map(({ mail }) => mail),
    ];
    for (const mail of mails) {
      assert.doesNotMatch(mail.html, /<script|<img|onerror=alert\(1\)>|<\/script>/i, mail.subject);
    }
    assert.ok(mails[0]?.html.includes('&lt;script&gt;alert(1)&lt;/script&gt;@example.com'), 'the address is shown, escaped');
    assert.ok(mails[0]?.html.includes('&quot;&gt;&lt;img src=x onerror=alert(1)&gt;'), 'the username is shown, escaped');
    assert.ok(mails[0]?.text.includes(HOSTILE_ADDRESS), 'the text part shows the address as it is');
  });

  it('keep a value with line breaks on its line in the text part', () => {
    const mail = renderNotice('email-change-requested', { username: 'alice\r\n\r\nClick https://evil.example', newEmail: 'x@example.com' }, { to: 'a@example.com', publicUrl: PUBLIC_URL, at: AT });
    assert.ok(!mail.text.split('\n').some((line) => line.startsWith('Click')), 'the injected text does not start a line');
    assert.match(mail.text, /Hello alice {4}Click https:\/\/evil\.example,/);
  });

  it('say how long a link works in words', () => {
    assert.equal(duration(86400), '24 hours');
    assert.equal(duration(3600), '1 hour');
    assert.equal(duration(900), '15 minutes');
    assert.equal(duration(60), '1 minute');
    assert.equal(duration(90), '90 seconds');
  });
});
