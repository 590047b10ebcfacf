// Data protection screens: erasure (with its warning, validation and report), restriction,
// the subject access export, the audit log and the suppression list, as the DPO.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { standardFixture, newPage, signIn, checkPage, closeBrowser, apiAs, eventually } from './harness.mjs';

let fx;
let dpo;
before(async () => {
  fx = await standardFixture();
  dpo = await apiAs(fx.svc, fx.users.dpo.email);
}, { timeout: 120_000 });
after(async () => { await closeBrowser(); if (fx) await fx.svc.stop(); });

async function seedPerson(given, family, email, number) {
  return fx.admin('POST', '/api/v1/people', {
    given_name: given, family_name: family,
    emails: [{ address: email }], phones: [{ number }], departments: ['EVENTS'],
  });
}

test('the DPO erases a person: warning, validation, report, 410, audit', { timeout: 240_000 }, async (t) => {
  const p = await seedPerson('Erin', 'Erasable', 'erin.erasable@example.org', '07700 900001');
  const page = await newPage(fx.svc);
  await signIn(page, fx.users.dpo);

  // From the person page's actions, when the person page (people.js) renders them.
  await page.goto(`/#/people/${p.id}`);
  await page.locator('main h1').first().waitFor();
  const fromPerson = page.getByRole('link', { name: 'Erase this person' });
  const shown = await fromPerson.waitFor({ timeout: 5_000 }).then(() => true, () => false);
  if (shown) {
    await fromPerson.click();
  } else {
    // The person page does not show the data protection actions yet: open the erase page directly.
    t.diagnostic('person page has no "Erase this person" link yet; step skipped');
    await page.goto(`/#/people/${p.id}/erase`);
  }
  await page.getByRole('heading', { level: 1, name: /Erase this person/ }).waitFor();
  await page.getByText('Erin Erasable').first().waitFor();
  await page.getByText('What is kept').waitFor();
  await checkPage(page, 'privacy-erase');

  // Without a reason or the confirmation: an error summary linked to both fields.
  await page.getByRole('button', { name: 'Erase this person' }).click();
  const summary = page.locator('.error-summary');
  await summary.waitFor();
  await summary.getByRole('link', { name: 'Enter why you are erasing this person' }).waitFor();
  await summary.getByRole('link', { name: /Confirm that you understand/ }).waitFor();
  await checkPage(page, 'privacy-erase-errors');
  // Still there.
  assert.equal((await fx.admin('GET', `/api/v1/people/${p.id}`)).id, p.id);

  // With a reason but no confirmation: still refused.
  await page.getByLabel('Why are you erasing this person?').fill('Art. 17 request, ref DP-2026-001');
  await page.getByRole('button', { name: 'Erase this person' }).click();
  await summary.getByRole('link', { name: /Confirm that you understand/ }).waitFor();
  assert.equal(await summary.getByRole('link', { name: 'Enter why you are erasing this person' }).count(), 0);

  await page.getByLabel('I understand this cannot be undone').check();
  await page.getByRole('button', { name: 'Erase this person' }).click();
  await page.getByRole('heading', { level: 1, name: 'Personal data erased' }).waitFor();
  await page.getByText('Erin Erasable’s personal data has been erased.').waitFor();
  await page.getByText('2 email addresses and phone numbers').waitFor();
  await page.getByRole('table', { name: 'What was removed or blanked' }).getByText('person_emails').waitFor();
  await checkPage(page, 'privacy-erased');

  // The id now answers 410 Gone.
  await assert.rejects(dpo('GET', `/api/v1/people/${p.id}`), /→ 410/);
  await assert.rejects(fx.admin('GET', `/api/v1/people/${p.id}`), /→ 410/);

  // After a reload the confirmation is rebuilt from the audit log.
  await page.reload();
  await page.getByRole('heading', { level: 1, name: 'Personal data erased' }).waitFor();
  await page.getByText('Art. 17 request, ref DP-2026-001').waitFor();

  // The audit log, filtered, shows the erasure.
  await page.goto('/#/privacy');
  await page.getByRole('heading', { level: 1, name: 'Data protection' }).waitFor();
  await page.getByRole('table', { name: /Audit events/ }).waitFor();
  await page.getByLabel('Action', { exact: true }).selectOption('person.erase');
  await page.getByLabel('Record id').fill(p.id);
  await page.getByRole('button', { name: 'Apply filters' }).click();
  const filtered = page.getByRole('table', { name: 'Audit events matching the filters, newest first' });
  await filtered.waitFor();
  const rows = filtered.locator('tbody tr');
  assert.equal(await rows.count(), 1);
  await rows.first().getByText('Erased a person').waitFor();
  await rows.first().getByText(p.id).waitFor();
  await rows.first().getByText(/reason: Art\. 17 request/).waitFor();
  assert.equal(new URL(page.url()).hash.includes(`target_id=${p.id}`), true);
  await checkPage(page, 'privacy-audit');

  // An impossible date range is refused in the form.
  await page.getByLabel('From', { exact: true }).fill('2026-03-10');
  await page.getByLabel('To', { exact: true }).fill('2026-03-01');
  await page.getByRole('button', { name: 'Apply filters' }).click();
  await page.locator('.error-summary').getByText('“To” must be the same as or after “From”').waitFor();

  // Outcome filter (checked in the browser) and clearing the filters.
  await page.goto('/#/privacy?outcome=success&action=person.erase');
  await page.getByRole('table', { name: 'Audit events matching the filters, newest first' }).waitFor();
  await page.getByText(/events were looked at for this page/).waitFor();
  await page.getByRole('link', { name: 'Clear filters' }).click();
  await page.getByRole('table', { name: 'Audit events, newest first' }).waitFor();
  assert.deepEqual(page.problems, []);
});

test('the DPO restricts and lifts the restriction, and downloads a subject access export', { timeout: 240_000 }, async () => {
  const p = await seedPerson('Rhea', 'Restricted', 'rhea.restricted@example.org', '07700 900002');
  const page = await newPage(fx.svc);
  await signIn(page, fx.users.dpo);

  await page.goto(`/#/people/${p.id}/data-protection`);
  await page.getByRole('heading', { level: 1, name: 'Data protection for Rhea Restricted' }).waitFor();

  // Subject access export, JSON: a real download holding the person's email address.
  const [json] = await Promise.all([
    page.waitForEvent('download'),
    page.getByRole('button', { name: 'Download subject access export (JSON)' }).click(),
  ]);
  assert.equal(json.suggestedFilename(), `subject-access-${p.id}.json`);
  const doc = JSON.parse(readFileSync(await json.path(), 'utf8'));
  assert.equal(doc.subject, p.id);
  assert.equal(doc.person.emails[0].address, 'rhea.restricted@example.org');
  // And CSV.
  const [csv] = await Promise.all([
    page.waitForEvent('download'),
    page.getByRole('button', { name: 'Download subject access export (CSV)' }).click(),
  ]);
  assert.equal(csv.suggestedFilename(), `subject-access-${p.id}.csv`);
  const text = readFileSync(await csv.path(), 'utf8');
  assert.match(text, /^section,record,field,value/);
  assert.match(text, /rhea\.restricted@example\.org/);

  // Restrict: the reason is required.
  await page.getByRole('link', { name: 'Restrict processing' }).click();
  await page.getByRole('heading', { level: 1, name: 'Restrict processing' }).waitFor();
  await checkPage(page, 'privacy-restrict');
  await page.getByRole('button', { name: 'Restrict processing' }).click();
  await page.locator('.error-summary').getByRole('link', { name: 'Enter why you are restricting processing' }).waitFor();
  await page.getByLabel('Why are you restricting processing?').fill('Art. 18 request while accuracy is checked');
  await page.getByRole('button', { name: 'Restrict processing' }).click();
  await page.getByText('Processing of Rhea Restricted’s record is now restricted.').waitFor();
  assert.equal((await dpo('GET', `/api/v1/people/${p.id}`)).status, 'restricted');
  await assert.rejects(fx.admin('GET', `/api/v1/people/${p.id}`), /→ 404/);

  // Restricting again is not offered.
  await page.goto(`/#/people/${p.id}/restrict`);
  await page.getByText('Processing of this record is already restricted.').waitFor();

  // Lift it.
  await page.goto(`/#/people/${p.id}/data-protection`);
  await page.getByText('Processing of this record is restricted.').waitFor();
  await page.getByRole('link', { name: 'Lift the restriction' }).click();
  await page.getByRole('heading', { level: 1, name: 'Lift the restriction' }).waitFor();
  await page.getByLabel('Why are you lifting the restriction?').fill('Accuracy confirmed');
  await page.getByRole('button', { name: 'Lift the restriction' }).click();
  await page.getByText('The restriction on Rhea Restricted’s record has been lifted.').waitFor();
  assert.equal((await fx.admin('GET', `/api/v1/people/${p.id}`)).status, 'active');

  // Both are in the audit log of the record.
  await page.goto(`/#/privacy?target_kind=person&target_id=${p.id}`);
  const table = page.getByRole('table', { name: 'Audit events matching the filters, newest first' });
  await table.getByText('Lifted a restriction').waitFor();
  await table.getByText('Restricted processing').waitFor();
  await table.getByText('Subject access export').first().waitFor();
  assert.deepEqual(page.problems, []);
});

test('the suppression list: summary and adding an address', { timeout: 180_000 }, async () => {
  const page = await newPage(fx.svc);
  await signIn(page, fx.users.dpo);
  await page.getByRole('link', { name: 'Data protection' }).first().click();
  await page.getByRole('heading', { level: 1, name: 'Data protection' }).waitFor();
  // The erasure in the first test put an email address and a phone number on the list.
  await page.getByText('2 email addresses and phone numbers must never be contacted.').waitFor();
  await page.getByRole('link', { name: 'See the list by reason, or add an address' }).click();
  await page.getByRole('heading', { level: 1, name: 'Suppression list' }).waitFor();
  await page.getByRole('table', { name: 'Entries by reason (2 in all)' }).getByText('Erasure (added automatically)').waitFor();
  await checkPage(page, 'privacy-suppressions');

  await page.getByRole('button', { name: 'Add to the suppression list' }).click();
  const summary = page.locator('.error-summary');
  await summary.getByRole('link', { name: 'Enter the email address or phone number' }).waitFor();
  await summary.getByRole('link', { name: 'Choose why it must never be contacted' }).waitFor();
  await checkPage(page, 'privacy-suppressions-errors');

  // An address the service cannot read: its own message, beside the field.
  await page.getByLabel('Email address or phone number').fill('not an address');
  await page.getByLabel('Complaint').check();
  await page.getByRole('button', { name: 'Add to the suppression list' }).click();
  await summary.waitFor();
  await page.locator('[data-field="address"].field--error').waitFor();

  await page.getByLabel('Email address or phone number').fill('complainer@example.org');
  await page.getByLabel('Complaint').check();
  await page.getByRole('button', { name: 'Add to the suppression list' }).click();
  await page.getByText(/Added to the suppression list/).waitFor();
  await page.getByRole('table', { name: 'Entries by reason (3 in all)' }).getByText('Complaint').waitFor();
  const s = await dpo('GET', '/api/v1/suppressions');
  assert.equal(s.by_reason.complaint, 1);
  assert.deepEqual(page.problems, []);
});

test('other roles do not see the data protection actions or pages', { timeout: 120_000 }, async () => {
  const p = await seedPerson('Otto', 'Other', 'otto.other@example.org', '07700 900003');
  const page = await newPage(fx.svc);
  await signIn(page, fx.users.admin);
  await page.goto(`/#/people/${p.id}/erase`);
  await page.getByRole('heading', { level: 1, name: 'You cannot see this page' }).waitFor();
  await page.goto(`/#/people/${p.id}/data-protection`);
  await page.getByRole('heading', { level: 1, name: 'Data protection for Otto Other' }).waitFor();
  assert.equal(await page.getByRole('link', { name: 'Erase this person' }).count(), 0);
  assert.equal(await page.getByRole('button', { name: /Download subject access export/ }).count(), 0);
  await page.getByText('Your role does not allow any data protection action on this record.').waitFor();
  await eventually(async () => (await page.getByRole('link', { name: 'See the audit log of this record' }).count()) === 1, 5_000, 'audit link for the administrator');
});

test('the DPO registers a rights request, stops and restarts its clock, and closes it', { timeout: 240_000 }, async () => {
  const page = await newPage(fx.svc);
  await signIn(page, fx.users.dpo);
  await page.goto('/#/privacy');
  await page.getByRole('link', { name: 'See the open requests, or register one' }).click();
  await page.getByRole('heading', { level: 1, name: 'Rights requests' }).waitFor();
  await page.getByText('There are no open requests.').waitFor();

  // Without the required answers: an error summary.
  await page.getByRole('button', { name: 'Register the request' }).click();
  const summary = page.locator('.error-summary');
  await summary.getByRole('link', { name: 'Choose what is asked for' }).waitFor();
  await checkPage(page, 'rights-requests-errors');

  await page.getByLabel('What is asked for').selectOption('access');
  await page.getByLabel('Who made the request').fill('Rhoda Requester');
  await page.getByLabel('How it arrived').selectOption('email');
  await page.getByRole('button', { name: 'Register the request' }).click();
  await page.getByRole('heading', { level: 1, name: 'Access request' }).waitFor();
  await page.getByText(/Registered\. It must be answered by/).waitFor();
  await page.getByText(/days left/).first().waitFor();
  await checkPage(page, 'rights-request');

  const rhoda = await seedPerson('Rhoda', 'Requester', 'rhoda.requester@example.org', '07700 900004');
  await page.getByLabel('Person’s id').fill(rhoda.id);
  await page.getByRole('button', { name: 'Link' }).click();
  await page.getByText('The request is linked to the person.').waitFor();
  await page.getByRole('link', { name: 'Open their record' }).waitFor();

  await page.getByLabel('Proof of identity').check();
  await page.getByLabel('Note while it is stopped (optional)').fill('passport copy requested');
  await page.getByRole('button', { name: 'Stop the clock' }).click();
  await page.getByText('The clock is stopped.').waitFor();
  await page.getByText(/Clock stopped on .*awaiting proof of identity/).waitFor();
  await page.getByRole('button', { name: 'Restart the clock' }).click();
  await page.getByText('The clock is running again.').waitFor();

  await page.getByLabel('Completed').check();
  await page.getByRole('button', { name: 'Close the request' }).click();
  await page.getByText('The request is closed.').waitFor();
  assert.equal(await page.getByRole('button', { name: 'Close the request' }).count(), 0);

  // Listed among the closed ones.
  await page.goto('/#/privacy/requests?status=closed');
  await page.getByRole('link', { name: /\d/ }).first().waitFor();
  await page.getByText('Rhoda Requester').waitFor();
  const list = await dpo('GET', '/api/v1/rights-requests?status=closed');
  assert.equal(list.total, 1);
  assert.equal(list.items[0].status, 'completed');
});

test('the DPO checks the audit log’s seals', { timeout: 180_000 }, async () => {
  // Seal what there is, so there is a chain to check.
  const sealed = await dpo('POST', '/api/v1/audit/seals');
  assert.ok(sealed.head && sealed.head.seq >= 1);
  const page = await newPage(fx.svc);
  await signIn(page, fx.users.dpo);
  await page.getByRole('link', { name: 'Data protection' }).first().click();
  await page.getByRole('heading', { level: 2, name: 'Integrity of the audit log' }).waitFor();
  await page.getByRole('button', { name: 'Check the audit log' }).click();
  const result = page.locator('.audit-verification');
  await result.getByText('Verified').waitFor();
  await result.getByText(/No event has been changed, removed or added since it was sealed/).waitFor();
  await result.getByText(new RegExp(`The latest seal is number ${sealed.head.seq}`)).waitFor();
  await checkPage(page, 'privacy-audit-verified');
  const v = await dpo('GET', '/api/v1/audit/verification');
  assert.equal(v.ok, true);
  assert.deepEqual(page.problems, []);
});
