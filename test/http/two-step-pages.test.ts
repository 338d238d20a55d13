/**
 * /account/two-step: setting up TOTP without JavaScript, through server pages (the code step of
 * the form login is covered by test/http/mfa*.test.ts). Checked over real HTTP: a session is
 * needed (303 to /login without one), every form needs its CSRF field and the password as a
 * one-time re-authentication, the set-up page shows the QR code as inline SVG and the secret,
 * a wrong code shows it again with 422, the recovery codes are shown once, and turning it off works.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { startTestServer, signUpClient, fakeClock, GOOD_PASSWORD } from '../helpers/app.js';
import { codeAt } from '../../src/mfa/totp.js';

it('sets up, confirms and turns off TOTP through the no-JavaScript pages', async () => {
  const clock = fakeClock();
  const server = await startTestServer({}, { clock });
  try {
    const { client } = await signUpClient(server);
    const page = await client.get('/account/two-step'); assert.equal(page.status, 200); assert.match(page.text, /is <strong>off/);
    const bad = await client.request('POST', '/account/two-step/setup', { form: { csrf_token: client.csrf!, current_password: 'nope nope nope' } });
    assert.equal(bad.status, 422, bad.text.slice(0, 300));
    const setup = await client.request('POST', '/account/two-step/setup', { form: { csrf_token: client.csrf!, current_password: GOOD_PASSWORD } });
    assert.equal(setup.status, 200); assert.match(setup.text, /<svg/);
    const secret = /class="secret">([A-Z2-7 ]+)</.exec(setup.text)![1]!.replace(/ /g, '');
    const wrong = await client.request('POST', '/account/two-step/confirm', { form: { csrf_token: client.csrf!, code: '000000' } });
    assert.equal(wrong.status, 422); assert.match(wrong.text, /<svg/);
    const ok = await client.request('POST', '/account/two-step/confirm', { form: { csrf_token: client.csrf!, code: codeAt(secret, clock()) } });
    assert.equal(ok.status, 200); assert.equal((ok.text.match(/<li><code>/g) ?? []).length, 10);
    const nocsrf = await client.request('POST', '/account/two-step/disable', { form: { current_password: GOOD_PASSWORD } });
    assert.equal(nocsrf.status, 403);
    const off = await client.request('POST', '/account/two-step/disable', { form: { csrf_token: client.csrf!, current_password: GOOD_PASSWORD } });
    assert.equal(off.status, 303);
    assert.equal((await server.client().get('/account/two-step')).status, 303);
  } finally { await server.close(); }
});
