// Administration screens: departments, staff accounts (create with validation, sign in as the
// new user, disable) and purposes with their wording versions.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { standardFixture, newPage, signIn, checkPage, closeBrowser, eventually, PASSWORD } from './harness.mjs';

let fx;
before(async () => { fx = await standardFixture(); }, { timeout: 120_000 });
after(async () => { await closeBrowser(); if (fx) await fx.svc.stop(); });

test('departments and a department editor account, from creation to disabling', { timeout: 300_000 }, async () => {
  const page = await newPage(fx.svc);
  await signIn(page, fx.users.admin);
  await page.getByRole('link', { name: 'Administration' }).first().click();
  await page.getByRole('heading', { level: 1, name: 'Administration' }).waitFor();
  await checkPage(page, 'admin');

  // A department.
  await page.getByRole('link', { name: 'Departments' }).click();
  await page.getByRole('heading', { level: 1, name: 'Departments' }).waitFor();
  await page.getByRole('table', { name: 'Departments (2)' }).waitFor();
  await checkPage(page, 'admin-departments');
  await page.getByRole('button', { name: 'Add department' }).click();
  await page.locator('.error-summary').getByRole('link', { name: 'Enter a code' }).waitFor();
  await page.getByLabel('Code').fill('parks');
  await page.getByLabel('Name', { exact: true }).fill('Parks and Gardens');
  await page.getByRole('button', { name: 'Add department' }).click();
  await page.locator('.error-summary').getByRole('link', { name: /capital letters/ }).waitFor();
  await checkPage(page, 'admin-departments-error');
  await page.getByLabel('Code').fill('PARKS');
  await page.getByRole('button', { name: 'Add department' }).click();
  await page.getByText('Parks and Gardens (PARKS) added.').waitFor();
  await page.getByRole('table', { name: 'Departments (3)' }).getByRole('cell', { name: 'Parks and Gardens', exact: true }).waitFor();

  // Rename it.
  await page.getByRole('link', { name: 'Rename Parks and Gardens' }).click();
  await page.getByRole('heading', { level: 1, name: 'Rename Parks and Gardens' }).waitFor();
  await checkPage(page, 'admin-department-rename');
  await page.getByLabel('New name').fill('Parks and Open Spaces');
  await page.getByRole('button', { name: 'Save name' }).click();
  await page.getByText('Department PARKS is now called Parks and Open Spaces.').waitFor();
  const depts = await fx.admin('GET', '/api/v1/departments');
  assert.equal(depts.find((d) => d.code === 'PARKS').name, 'Parks and Open Spaces');

  // A department editor: without a department the service refuses, and the form says why.
  await page.goto('/#/admin');
  await page.getByRole('link', { name: 'Staff accounts' }).click();
  await page.getByRole('heading', { level: 1, name: 'Staff accounts' }).waitFor();
  await page.getByRole('table', { name: /Staff accounts \(\d+\)/ }).getByText('Edie Editor').waitFor();
  await checkPage(page, 'admin-users');
  await page.getByRole('link', { name: 'Create a staff account' }).click();
  await page.getByRole('heading', { level: 1, name: 'Create a staff account' }).waitFor();
  await page.getByText('Only for people linked to their departments', { exact: false }).first().waitFor();
  await checkPage(page, 'admin-user-new');

  await page.getByRole('button', { name: 'Create account' }).click();
  const summary = page.locator('.error-summary');
  await summary.getByRole('link', { name: 'Enter the person’s full name' }).waitFor();
  await summary.getByRole('link', { name: 'Choose at least one role' }).waitFor();

  await page.getByLabel('Full name').fill('Pat Parks');
  await page.getByLabel('Email address').fill('pat.parks@example.org');
  await page.getByLabel('First password').fill(PASSWORD);
  await page.getByLabel('Department editor', { exact: true }).check();
  await page.getByRole('button', { name: 'Create account' }).click();
  await summary.getByRole('link', { name: 'A department editor needs at least one department.' }).waitFor();
  await page.locator('[data-field="departments"].field--error').waitFor();
  await checkPage(page, 'admin-user-new-error');
  // The link in the summary moves focus to the field.
  await summary.getByRole('link', { name: 'A department editor needs at least one department.' }).click();
  assert.equal(await page.evaluate(() => document.activeElement.closest('[data-field]').dataset.field), 'departments');

  await page.getByLabel('Parks and Open Spaces').check();
  await page.getByRole('button', { name: 'Create account' }).click();
  await page.getByRole('heading', { level: 1, name: 'Pat Parks' }).waitFor();
  await page.getByText('Account created for Pat Parks.').waitFor();
  await checkPage(page, 'admin-user');
  const users = await fx.admin('GET', '/api/v1/users');
  const pat = users.items.find((u) => u.email === 'pat.parks@example.org');
  assert.deepEqual(pat.roles, ['department_editor']);
  assert.deepEqual(pat.departments, ['PARKS']);

  // Pat signs in and sees the navigation of a department editor.
  const patPage = await newPage(fx.svc);
  await signIn(patPage, { email: 'pat.parks@example.org', password: PASSWORD });
  const nav = patPage.getByRole('navigation', { name: 'Main' });
  for (const name of ['People', 'Imports', 'Review duplicates', 'Journeys']) {
    await nav.getByRole('link', { name }).waitFor();
  }
  for (const name of ['Administration', 'Data protection', 'Campaigns']) {
    assert.equal(await nav.getByRole('link', { name }).count(), 0, `${name} is not in a department editor's navigation`);
  }
  await patPage.goto('/#/admin/users');
  await patPage.getByRole('heading', { level: 1, name: 'You cannot see this page' }).waitFor();

  // A stale version: someone else changes the account first; the form says so and offers a reload.
  await fx.admin('PATCH', `/api/v1/users/${pat.id}`, { version: pat.version, name: 'Pat Parks' });
  await page.getByLabel('Full name').fill('Patricia Parks');
  await page.getByRole('button', { name: 'Save changes' }).click();
  await summary.getByText('Someone else changed this first').waitFor();
  await summary.getByRole('button', { name: 'Reload the account' }).click();
  // The heading already says Pat Parks before the reload lands: wait for the fresh form (no
  // error summary, the stored name back in the field) before acting on it.
  await summary.waitFor({ state: 'detached' });
  await page.getByRole('heading', { level: 1, name: 'Pat Parks' }).waitFor();
  await eventually(async () => (await page.getByLabel('Full name').inputValue()) === 'Pat Parks', 10_000, 'the reloaded form');

  // Disable Pat: their session ends and they cannot sign in.
  await page.getByLabel('Disabled').check();
  await page.getByRole('button', { name: 'Save changes' }).click();
  await page.getByText('Pat Parks’s account is disabled and their sessions have ended.').waitFor();
  await page.locator('.summary-list').getByText('Disabled').waitFor();
  assert.equal((await fx.admin('GET', `/api/v1/users/${pat.id}`)).status, 'disabled');
  await eventually(async () => {
    await patPage.goto('/#/people');
    await patPage.reload();
    return patPage.getByRole('heading', { level: 1, name: 'Sign in' }).waitFor({ timeout: 3_000 }).then(() => true, () => false);
  }, 30_000, 'the disabled user to be signed out');
  const login = await fetch(`${fx.svc.url}/api/v1/auth/login`, {
    method: 'POST', headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ email: 'pat.parks@example.org', password: PASSWORD }),
  });
  assert.notEqual(login.status, 200);

  // End all sessions (of the officer).
  const officer = (await fx.admin('GET', '/api/v1/users')).items.find((u) => u.email === fx.users.officer.email);
  await page.goto(`/#/admin/users/${officer.id}`);
  await page.getByRole('heading', { level: 1, name: 'Owen Officer' }).waitFor();
  await page.getByRole('button', { name: 'End all sessions' }).click();
  await page.getByText('Every session of Owen Officer has ended.').waitFor();
  assert.deepEqual(page.problems, []);
});

test('an account opened with an invitation: the person chooses their own password, once', { timeout: 240_000 }, async () => {
  const page = await newPage(fx.svc);
  await signIn(page, fx.users.admin);
  await page.goto('/#/admin/users/new');
  await page.getByRole('heading', { level: 1, name: 'Create a staff account' }).waitFor();
  await page.getByLabel('Full name').fill('Ivy Invited');
  await page.getByLabel('Email address').fill('ivy.invited@example.org');
  await page.getByLabel('Analyst', { exact: true }).check();
  await page.getByRole('button', { name: 'Create account' }).click();
  await page.getByRole('heading', { level: 1, name: 'Ivy Invited' }).waitFor();
  const url = (await page.locator('code.invitation-link').textContent()).trim();
  assert.match(url, /\/#\/invitation\/[A-Za-z0-9_-]{43}$/);
  await page.getByText(/Not chosen yet/).waitFor();
  await checkPage(page, 'admin-user-invited');

  const ivy = await newPage(fx.svc);
  await ivy.goto(url);
  await ivy.getByRole('heading', { level: 1, name: 'Choose your password' }).waitFor();
  await checkPage(ivy, 'invitation');
  await ivy.getByLabel('New password').fill(PASSWORD);
  await ivy.getByLabel('Type it again').fill('not the same passphrase');
  await ivy.getByRole('button', { name: 'Set my password' }).click();
  await ivy.locator('.error-summary').getByRole('link', { name: 'Type the same password again' }).waitFor();
  await ivy.getByLabel('Type it again').fill(PASSWORD);
  await ivy.getByRole('button', { name: 'Set my password' }).click();
  await ivy.getByText(/Your password is set/).waitFor();
  await signIn(ivy, { email: 'ivy.invited@example.org', password: PASSWORD });

  // The link works once.
  const again = await newPage(fx.svc);
  await again.goto(url);
  await again.getByLabel('New password').fill('another long passphrase');
  await again.getByLabel('Type it again').fill('another long passphrase');
  await again.getByRole('button', { name: 'Set my password' }).click();
  await again.getByText(/has been used/).first().waitFor();
  assert.deepEqual([...page.problems, ...ivy.problems], []);
});

test('purposes: create, change, add a wording version', { timeout: 240_000 }, async () => {
  const page = await newPage(fx.svc);
  await signIn(page, fx.users.admin);
  await page.goto('/#/admin');
  await page.getByRole('link', { name: 'Purposes' }).click();
  await page.getByRole('heading', { level: 1, name: 'Purposes' }).waitFor();
  await page.getByText('There are no purposes yet.').waitFor();
  await checkPage(page, 'admin-purposes-empty');
  await page.getByRole('link', { name: 'Create a purpose' }).click();
  await page.getByRole('heading', { level: 1, name: 'Create a purpose' }).waitFor();
  await checkPage(page, 'admin-purpose-new');

  await page.getByRole('button', { name: 'Create purpose' }).click();
  const summary = page.locator('.error-summary');
  await summary.getByRole('link', { name: 'Enter a code' }).waitFor();
  await summary.getByRole('link', { name: 'Choose a category' }).waitFor();
  await summary.getByRole('link', { name: 'Choose a default lawful basis' }).waitFor();
  await checkPage(page, 'admin-purpose-new-errors');

  await page.getByLabel('Code').fill('parks_news');
  await page.getByLabel('Description').fill('Parks newsletter');
  await page.getByLabel('Marketing').check();
  await page.getByLabel('Default lawful basis').selectOption('consent');
  await page.getByLabel('First wording (optional)').fill('Email me the Parks newsletter.');
  await page.getByRole('button', { name: 'Create purpose' }).click();
  await page.getByRole('heading', { level: 1, name: 'Parks newsletter' }).waitFor();
  await page.getByText('Purpose parks_news created.').waitFor();
  const wordings = page.getByRole('table', { name: 'Wording versions of parks_news' });
  await wordings.getByText('Email me the Parks newsletter.').waitFor();

  // A second wording version.
  await page.getByRole('heading', { name: 'Add version 2' }).waitFor();
  await page.getByRole('button', { name: 'Add wording version' }).click();
  await summary.getByRole('link', { name: 'Enter the text people will be shown' }).waitFor();
  await page.getByLabel('Text people will be shown').fill('Email me the Parks newsletter, about once a month.');
  await page.getByRole('button', { name: 'Add wording version' }).click();
  await page.getByText('Wording version 2 added.').waitFor();
  await wordings.getByText('Email me the Parks newsletter, about once a month.').waitFor();
  await checkPage(page, 'admin-purpose');

  // Change the description and basis.
  await page.getByLabel('Description').fill('Parks and open spaces newsletter');
  await page.getByLabel('Default lawful basis').selectOption('legitimate_interests');
  await page.getByRole('button', { name: 'Save changes' }).click();
  await page.getByText('Changes saved.').waitFor();
  await page.getByRole('heading', { level: 1, name: 'Parks and open spaces newsletter' }).waitFor();

  const p = (await fx.admin('GET', '/api/v1/purposes')).find((x) => x.code === 'parks_news');
  assert.equal(p.category, 'marketing');
  assert.equal(p.default_lawful_basis, 'legitimate_interests');
  assert.deepEqual(p.wordings.map((w) => w.version), [1, 2]);

  // A public task names the law behind it (UK GDPR Art. 6(3)).
  await page.getByLabel('Default lawful basis').selectOption('public_task');
  await page.getByRole('button', { name: 'Save changes' }).click();
  await summary.getByRole('link', { name: 'Name the law behind a public task or legal obligation' }).waitFor();
  await page.getByLabel(/Statutory reference/).fill('Open Spaces Act 1906, s. 10');
  await page.getByRole('button', { name: 'Save changes' }).click();
  await page.locator('dd', { hasText: 'Open Spaces Act 1906, s. 10' }).waitFor();
  const q = (await fx.admin('GET', '/api/v1/purposes')).find((x) => x.code === 'parks_news');
  assert.equal(q.default_lawful_basis, 'public_task');
  assert.equal(q.statutory_reference, 'Open Spaces Act 1906, s. 10');

  await page.getByRole('link', { name: 'Back to purposes' }).click();
  const list = page.getByRole('table', { name: 'Purposes (1)' });
  await list.getByText('2 (latest: version 2)').waitFor();
  await list.getByText('Public task').waitFor();
  await checkPage(page, 'admin-purposes');
  assert.deepEqual(page.problems, []);
});
