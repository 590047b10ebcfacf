// The shell of the client: sign-in, the start page, sign-out, headers.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { standardFixture, newPage, signIn, checkPage, closeBrowser } from './harness.mjs';

let fx;
before(async () => { fx = await standardFixture(); });
after(async () => { await closeBrowser(); await fx.svc.stop(); });

test('sign in, see the start page for the role, sign out', async () => {
  const page = await newPage(fx.svc);
  const res = await page.goto('/');
  const csp = res.headers()['content-security-policy'];
  assert.match(csp, /script-src 'self'/);
  assert.doesNotMatch(csp, /unsafe-inline/);
  await page.getByRole('heading', { level: 1, name: 'Sign in' }).waitFor();
  await checkPage(page, 'sign-in');

  await page.getByLabel('Email address').fill(fx.users.admin.email);
  await page.getByLabel('Password').fill('wrong password here');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByText('The email address or password is not right.').waitFor();
  await checkPage(page, 'sign-in-error');

  await signIn(page, fx.users.admin);
  await page.getByRole('link', { name: 'Administration' }).first().waitFor();
  await checkPage(page, 'start-admin');
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.getByRole('heading', { level: 1, name: 'Sign in' }).waitFor();
  await page.getByText('You have signed out.').waitFor();
});

test('an analyst sees only what their role allows', async () => {
  const page = await newPage(fx.svc);
  await signIn(page, fx.users.analyst);
  assert.equal(await page.getByRole('link', { name: 'People' }).count(), 0);
  await page.getByRole('link', { name: 'Journeys' }).first().waitFor();
  await page.goto('/#/people');
  await page.getByRole('heading', { level: 1, name: 'You cannot see this page' }).waitFor();
});

test('a page opened without a session asks to sign in, then goes where it was asked', async () => {
  const page = await newPage(fx.svc);
  await page.goto('/#/admin');
  await page.getByRole('heading', { level: 1, name: 'Sign in' }).waitFor();
  await page.getByLabel('Email address').fill(fx.users.admin.email);
  await page.getByLabel('Password').fill(fx.users.admin.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(/#\/admin$/);
});

test('the start page is small: under 200 KB transferred without images', async () => {
  const page = await newPage(fx.svc);
  let bytes = 0;
  page.on('response', async (r) => {
    if (r.request().resourceType() === 'image') return;
    try { bytes += (await r.request().sizes()).responseBodySize; } catch (e) { /* no body */ }
  });
  await signIn(page, fx.users.admin);
  await page.waitForLoadState('networkidle');
  assert.ok(bytes > 0 && bytes < 200 * 1024, `page weight ${bytes} bytes`);
});

test('a locked account is told so, in plain English', async () => {
  const page = await newPage(fx.svc);
  await page.goto('/#/signin');
  for (let i = 0; i < 10; i++) {
    await page.getByLabel('Email address').fill(fx.users.analyst.email);
    await page.getByLabel('Password').fill(`wrong password ${i}`);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByText('The email address or password is not right.').waitFor();
  }
  await page.getByLabel('Email address').fill(fx.users.analyst.email);
  await page.getByLabel('Password').fill(fx.users.analyst.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByText(/This account is locked for a while/).waitFor();
  await checkPage(page, 'sign-in-locked');
});

test('someone else signing in where a session ended sees nothing of the last user\'s work', async () => {
  const page = await newPage(fx.svc);
  await signIn(page, fx.users.officer);
  await page.goto('/#/people');
  await page.getByRole('heading', { level: 1, name: 'Find a person' }).waitFor();
  await page.waitForLoadState('networkidle');
  const search = () => page.getByRole('searchbox', { name: 'Search for a person' });
  await page.context().clearCookies();
  await search().fill('Private Query');
  await page.getByRole('heading', { level: 1, name: 'Sign in' }).waitFor();
  await signIn(page, fx.users.dpo);
  await page.goto('/#/people');
  await page.getByRole('heading', { level: 1, name: 'Find a person' }).waitFor();
  assert.equal(await search().inputValue(), '', 'the last search is not kept for the next user');
  await page.close();
});
