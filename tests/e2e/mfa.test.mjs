// Two-step sign-in with the product's default (administrators and DPOs must use it): a DPO
// signs in with a password, can only set up an authenticator app, does so, and from then on
// signs in with a code as well.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { startService, createUser, newPage, checkPage, closeBrowser } from './harness.mjs';

let svc;
after(async () => { await closeBrowser(); if (svc) await svc.stop(); });

/** RFC 4648 base32 to bytes (spaces ignored). */
function base32(text) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = 0; let value = 0; const out = [];
  for (const c of text.replace(/[\s=]/g, '').toUpperCase()) {
    value = (value << 5) | alphabet.indexOf(c);
    bits += 5;
    if (bits >= 8) { bits -= 8; out.push((value >> bits) & 0xff); }
  }
  return Buffer.from(out);
}

/** The TOTP code (RFC 6238, SHA-1, 6 digits, 30 s) for `key` at `offset` steps from now. */
function totp(key, offset = 0) {
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(Date.now() / 30_000) + offset));
  const mac = createHmac('sha1', base32(key)).update(counter).digest();
  const at = mac[mac.length - 1] & 0x0f;
  return String((mac.readUInt32BE(at) & 0x7fffffff) % 1_000_000).padStart(6, '0');
}

test('a DPO must set up two-step sign-in, then signs in with a code', { timeout: 120_000 }, async () => {
  svc = await startService({ mfaRequiredRoles: 'administrator,data_protection_officer' });
  const dpo = createUser(svc, { email: 'dpo@example.org', name: 'Dara Protection', roles: ['data_protection_officer'] });
  const page = await newPage(svc);

  await page.goto('/#/signin');
  await page.getByLabel('Email address').fill(dpo.email);
  await page.getByLabel('Password').fill(dpo.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { level: 1, name: 'Set up two-step sign-in' }).waitFor();
  await page.getByText('Your role needs two-step sign-in').waitFor();
  // Nothing else is reachable: the navigation holds no links, and another page comes back here.
  assert.equal(await page.locator('.nav__link').count(), 0);
  await page.goto('/#/privacy');
  await page.getByRole('heading', { level: 1, name: 'Set up two-step sign-in' }).waitFor();
  await checkPage(page, 'mfa-enrol');

  await page.getByLabel('Your password').fill(dpo.password);
  await page.getByRole('button', { name: 'Show my key' }).click();
  const keyEl = page.locator('[data-secret]');
  await keyEl.waitFor();
  const key = await keyEl.getAttribute('data-secret');
  assert.match(key, /^[A-Z2-7]{32}$/);
  await checkPage(page, 'mfa-key');
  await page.getByLabel('The 6-digit code the app shows').fill(totp(key));
  await page.getByRole('button', { name: 'Turn on two-step sign-in' }).click();
  await page.getByRole('heading', { level: 1, name: /Welcome/ }).waitFor();
  await page.getByText('Two-step sign-in is on').waitFor();
  assert.ok(await page.locator('.nav__link').count() > 0, 'the navigation is back');

  // Signing in again asks for a code; a wrong one is refused, the next one accepted.
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.getByRole('heading', { level: 1, name: 'Sign in' }).waitFor();
  await page.getByLabel('Email address').fill(dpo.email);
  await page.getByLabel('Password').fill(dpo.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { level: 1, name: 'Two-step sign-in' }).waitFor();
  await checkPage(page, 'mfa-code');
  const right = totp(key, 1);
  await page.getByLabel('One-time code').fill(right === '000000' ? '111111' : '000000');
  await page.getByRole('button', { name: 'Continue' }).click();
  await page.locator('.error-summary').getByText(/not right, or was used already/).waitFor();
  await page.getByLabel('One-time code').fill(right);
  await page.getByRole('button', { name: 'Continue' }).click();
  await page.getByRole('heading', { level: 1, name: /Welcome/ }).waitFor();
  assert.deepEqual(page.problems, []);

  // An administrator (enrolled through the API) resets the DPO's factor from the account page.
  const admin = createUser(svc, { email: 'admin@example.org', name: 'Ada Admin', roles: ['administrator'] });
  const post = async (path, token, body) => {
    const r = await fetch(`${svc.url}${path}`, { method: 'POST', headers: { 'Content-Type': 'application/json', ...(token ? { Authorization: `Bearer ${token}` } : {}) }, body: JSON.stringify(body) });
    return { status: r.status, body: await r.json() };
  };
  const first = await post('/api/v1/auth/login', null, { email: admin.email, password: admin.password });
  assert.equal(first.body.enrolment_only, true);
  const started = await post('/api/v1/auth/totp', first.body.token, { current_password: admin.password });
  assert.equal(started.status, 201);
  const confirmed = await post('/api/v1/auth/totp/confirm', first.body.token, { code: totp(started.body.key) });
  assert.equal(confirmed.status, 200);
  const users = await (await fetch(`${svc.url}/api/v1/users`, { headers: { Authorization: `Bearer ${confirmed.body.token}` } })).json();
  const dpoId = users.items.find((u) => u.email === dpo.email).id;
  const adminPage = await newPage(svc);
  await adminPage.goto('/#/signin');
  await adminPage.getByLabel('Email address').fill(admin.email);
  await adminPage.getByLabel('Password').fill(admin.password);
  await adminPage.getByRole('button', { name: 'Sign in' }).click();
  await adminPage.getByLabel('One-time code').fill(totp(started.body.key, 1));
  await adminPage.getByRole('button', { name: 'Continue' }).click();
  await adminPage.getByRole('heading', { level: 1, name: /Welcome/ }).waitFor();
  await adminPage.goto(`/#/admin/users/${dpoId}`);
  await adminPage.getByRole('heading', { level: 1, name: 'Dara Protection' }).waitFor();
  await adminPage.getByRole('button', { name: 'Reset two-step sign-in' }).click();
  await adminPage.getByText('two-step sign-in is reset').waitFor();
  await checkPage(adminPage, 'mfa-admin-reset');
  const again = await post('/api/v1/auth/login', null, { email: dpo.email, password: dpo.password });
  assert.equal(again.status, 200);
  assert.equal(again.body.enrolment_only, true);
});
