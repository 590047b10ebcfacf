// Imports: a department editor takes a list from file to committed through the wizard, checks
// the dry run, downloads the error report, watches the commit, and rolls it back.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { standardFixture, apiAs, newPage, signIn, checkPage, closeBrowser } from './harness.mjs';

const CSV = [
  'First name,Surname,Email,Mobile,Postcode,Newsletter,Shoe size',
  'Alice,Brown,alice.brown@example.org,,EC2V 7HH,yes,5', // create
  'Bob,Carter,bob.carter@example.org,,EC1A 1BB,no,9', // create (consent refused)
  'Alice,Brown,alice.brown@example.org,,EC2V 7HH,yes,5', // duplicate of row 2
  'Grace,Okonkwo,grace.o@example.org,07700 900123,,,', // link to the person already held
  ',,not-an-email,,,,', // reject: nothing identifies the person
  'Chen,Li,chen.li@example,07700 900456,SW1A 1AA,,', // create, with a warning (bad email)
].join('\r\n') + '\r\n';

let fx;
let editor;
let grace;
before(async () => {
  fx = await standardFixture();
  editor = await apiAs(fx.svc, fx.users.editor.email);
  await fx.admin('POST', '/api/v1/purposes', {
    code: 'newsletter', description: 'City Events newsletter', category: 'marketing', default_lawful_basis: 'consent',
    wording: 'Send me the City Events newsletter by email.',
  });
  grace = await editor('POST', '/api/v1/people', {
    given_name: 'Grace', family_name: 'Okonkwo', emails: [{ address: 'grace.o@example.org' }],
    phones: [{ number: '07700 900123' }], departments: ['EVENTS'],
  });
});
after(async () => { await closeBrowser(); await fx.svc.stop(); });

const stat = (page, label) => page.locator('.stat', { has: page.locator('.stat__label', { hasText: new RegExp(`^${label}$`) }) }).locator('.stat__value');
const byEmail = async (email) => (await editor('POST', '/api/v1/people/list', { email })).items;

test('an import from file to committed, then rolled back', async () => {
  const page = await newPage(fx.svc);
  page.setDefaultTimeout(20_000);
  await signIn(page, fx.users.editor);

  await page.getByRole('link', { name: 'Imports' }).first().click();
  await page.getByRole('heading', { level: 1, name: 'Imports' }).waitFor();
  await page.getByText('No lists have been imported yet.').waitFor();
  await checkPage(page, 'imports-list-empty');

  // Upload: a missing file is an error linked to the field.
  await page.getByRole('link', { name: 'Import a list' }).click();
  await page.getByRole('heading', { level: 1, name: 'Import a list' }).waitFor();
  await checkPage(page, 'imports-new');
  await page.getByRole('button', { name: 'Upload and check the columns' }).click();
  await page.locator('.error-summary').getByRole('link', { name: 'Choose a CSV or Excel file' }).waitFor();
  await checkPage(page, 'imports-new-error');
  assert.equal(await page.getByLabel('Department the list belongs to').inputValue(), 'EVENTS');
  await page.getByLabel('File', { exact: true }).setInputFiles({ name: 'events-list.csv', mimeType: 'text/csv', buffer: Buffer.from(CSV) });
  await page.getByRole('button', { name: 'Upload and check the columns' }).click();

  // Step 1: the columns, with the suggested mapping and sample values.
  await page.getByRole('heading', { level: 1, name: 'Check the columns' }).waitFor();
  await page.getByText('“events-list.csv” uploaded: 6 rows and 7 columns.').waitFor();
  assert.equal(await page.getByLabel('Import column “First name” as').inputValue(), 'given_name');
  assert.equal(await page.getByLabel('Import column “Email” as').inputValue(), 'email');
  await page.getByRole('cell', { name: 'bob.carter@example.org' }).waitFor();
  await page.getByLabel('Import column “Shoe size” as').selectOption('ignore');
  await page.getByLabel('Import column “Newsletter” as').selectOption('consent:newsletter');
  await page.getByRole('group', { name: 'Column “Newsletter”' }).waitFor();
  assert.equal(await page.getByLabel('Purpose').inputValue(), 'newsletter');
  await checkPage(page, 'imports-mapping');
  // The evidence is required: the API's error is shown beside the field.
  await page.getByRole('button', { name: 'Check the rows' }).click();
  await page.locator('.error-summary').getByRole('link', { name: /Describe the evidence/ }).waitFor();
  await checkPage(page, 'imports-mapping-error');
  await page.getByLabel('Evidence').fill('2025 sign-up sheets kept by the box office');
  await page.getByLabel('How the answers were collected').selectOption('paper_form');
  await page.getByRole('button', { name: 'Check the rows' }).click();

  // Step 2: the dry run's counts and sample rows.
  await page.getByRole('heading', { level: 1, name: 'Check what will happen' }).waitFor({ timeout: 30_000 });
  assert.equal(await stat(page, 'New people').textContent(), '3');
  assert.equal(await stat(page, 'Added to people already held').textContent(), '1');
  assert.equal(await stat(page, 'Repeated in this file').textContent(), '1');
  assert.equal(await stat(page, 'Cannot be imported').textContent(), '1');
  assert.equal(await stat(page, 'Imported with warnings').textContent(), '1');
  assert.equal(await stat(page, 'Already held, no change').textContent(), '0');
  await page.getByRole('cell', { name: 'Same as row 2' }).waitFor();
  await page.getByText(/Nothing to identify the person/).first().waitFor();
  const linked = page.getByRole('table', { name: 'Rows: added to people already held' }).getByRole('link');
  assert.equal(await linked.getAttribute('href'), `#/people/${grace.id}`);
  await checkPage(page, 'imports-dry-run');

  // The error report.
  const [dl] = await Promise.all([
    page.waitForEvent('download'),
    page.getByRole('button', { name: 'Download the error report (CSV)' }).click(),
  ]);
  const report = readFileSync(await dl.path(), 'utf8');
  const lines = report.trim().split(/\r?\n/);
  assert.equal(lines[0], 'row,external_id,outcome,severity,column,code,message');
  assert.ok(lines.some((l) => l.startsWith('6,,reject,error,,no_identity,')), report);
  assert.ok(lines.some((l) => l.startsWith('7,,create,warning,Email,invalid_email,')), report);
  assert.match(dl.suggestedFilename(), /\.csv$/);

  // Step 3: the commit, watched live.
  await page.getByRole('button', { name: 'Import these rows' }).click();
  await page.getByRole('heading', { level: 1, name: 'Importing the rows' }).waitFor();
  await page.getByRole('progressbar').waitFor();
  await page.locator('.import-progress__text', { hasText: /of 6 rows imported/ }).waitFor();
  // Step 4: done.
  await page.getByRole('heading', { level: 1, name: 'Import complete' }).waitFor({ timeout: 30_000 });
  await page.getByText('The import is complete: 6 rows processed.').waitFor();
  await page.locator('.summary-list__row', { hasText: 'New records created' }).getByText('3', { exact: true }).waitFor();
  await checkPage(page, 'imports-committed');

  const [alice] = await byEmail('alice.brown@example.org');
  assert.ok(alice, 'Alice was created');
  assert.equal((await byEmail('bob.carter@example.org')).length, 1);
  const chen = (await editor('POST', '/api/v1/people/list', { name: 'Chen' })).items;
  assert.equal(chen.length, 1);
  assert.deepEqual(chen[0].emails, [], 'the invalid email was left out');
  const consents = await editor('GET', `/api/v1/people/${alice.id}/consents`);
  assert.ok(JSON.stringify(consents.state).includes('newsletter'), 'the consent column became a ledger event');
  const graceNow = await editor('GET', `/api/v1/people/${grace.id}`);
  assert.equal(graceNow.id, grace.id);

  // Roll back, with a confirmation step.
  await page.getByRole('button', { name: 'Roll back this import' }).click();
  await page.getByRole('heading', { name: 'Are you sure you want to roll back this import?' }).waitFor();
  await page.getByRole('button', { name: 'No, keep it' }).click();
  await page.getByRole('button', { name: 'Roll back this import' }).click();
  await checkPage(page, 'imports-rollback-confirm');
  await page.getByRole('button', { name: 'Yes, roll back this import' }).click();
  await page.getByRole('heading', { level: 1, name: 'Import rolled back' }).waitFor({ timeout: 30_000 });
  await page.locator('.summary-list__row', { hasText: 'Records removed' }).getByText('3', { exact: true }).waitFor();
  await checkPage(page, 'imports-rolled-back');
  assert.equal((await byEmail('alice.brown@example.org')).length, 0);
  assert.equal((await byEmail('bob.carter@example.org')).length, 0);
  assert.equal((await editor('POST', '/api/v1/people/list', { name: 'Chen' })).items.length, 0);
  assert.equal((await editor('GET', `/api/v1/people/${grace.id}`)).id, grace.id, 'the linked person is kept');

  // The list shows the import and its state.
  await page.getByRole('link', { name: 'Back to imports' }).first().click();
  await page.getByRole('heading', { level: 1, name: 'Imports' }).waitFor();
  const row = page.getByRole('row', { name: /events-list\.csv/ });
  await row.getByText('Rolled back').waitFor();
  await checkPage(page, 'imports-list');
  assert.deepEqual(page.problems, []);
});

test('a file the service cannot read is explained on the upload page', async () => {
  const page = await newPage(fx.svc);
  await signIn(page, fx.users.editor);
  await page.goto('/#/imports/new');
  await page.getByRole('heading', { level: 1, name: 'Import a list' }).waitFor();
  await page.getByLabel('File', { exact: true }).setInputFiles({ name: 'empty.csv', mimeType: 'text/csv', buffer: Buffer.from('') });
  await page.getByRole('button', { name: 'Upload and check the columns' }).click();
  await page.locator('.error-summary').waitFor();
  await page.locator('.field--error[data-field="file"]').waitFor();
  await checkPage(page, 'imports-new-bad-file');
});

test('column choices saved with one list are offered for the next', async () => {
  // An earlier list, checked with its column choices saved under a name (through the API).
  const uploaded = await editor('POST', '/api/v1/imports?department=EVENTS&file_name=earlier.csv',
    'First name,Surname,Email\r\nZara,Quinn,zara.quinn@example.org\r\n', { 'Content-Type': 'text/csv' });
  await editor('POST', `/api/v1/imports/${uploaded.id}/dry-run`, { save_template: 'Box office export' });

  const page = await newPage(fx.svc);
  await signIn(page, fx.users.editor);
  await page.goto('/#/imports/new');
  await page.getByRole('heading', { level: 1, name: 'Import a list' }).waitFor();
  await page.getByText('More options').click();
  const choice = page.getByLabel('Saved column choices to use (optional)');
  await page.locator('select[name=template] option', { hasText: 'Box office export' }).waitFor({ state: 'attached' });
  await choice.selectOption('Box office export');
  await page.getByLabel('File', { exact: true }).setInputFiles({ name: 'later.csv', mimeType: 'text/csv', buffer: Buffer.from('First name,Surname,Email\r\nYusuf,Reid,yusuf.reid@example.org\r\n') });
  await page.getByRole('button', { name: 'Upload and check the columns' }).click();
  await page.getByRole('heading', { level: 1, name: 'Check the columns' }).waitFor();
  await checkPage(page, 'imports-with-template');
});
