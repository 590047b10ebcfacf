// Review of possible duplicates: the queue, a pair side by side, merging (and undoing it),
// rejecting, and the merge history offered on the person page.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { standardFixture, apiAs, newPage, signIn, checkPage, closeBrowser } from './harness.mjs';

let fx;
let editor;
const people = {};

before(async () => {
  fx = await standardFixture();
  editor = await apiAs(fx.svc, fx.users.editor.email);
  const mk = (b) => editor('POST', '/api/v1/people', { departments: ['EVENTS'], ...b });
  const home = (line1, postcode) => [{ line1, postcode, country: 'GB' }];
  // The same name and address with a different email: proposed for review (a staff entry is
  // never merged automatically).
  people.m1 = await mk({ given_name: 'Margaret', family_name: 'Featherstone', emails: [{ address: 'mfeather@example.org' }], addresses: home('1 High Street', 'EC2V 7HH') });
  people.m2 = await mk({ given_name: 'Margaret', family_name: 'Featherstone', organisation: 'Guildhall School', emails: [{ address: 'maggie.f@example.com' }], addresses: home('1 High Street', 'EC2V 7HH') });
  people.j1 = await mk({ given_name: 'Jonathan', family_name: 'Pemberton', date_of_birth: '1980-04-02', emails: [{ address: 'jp@example.org' }], addresses: home('22 Milk Street', 'EC2V 8AE') });
  people.j2 = await mk({ given_name: 'Jon', family_name: 'Pemberton', date_of_birth: '1980-04-02', emails: [{ address: 'jon.pemberton@example.com' }], addresses: home('22 Milk Street', 'EC2V 8AE') });
  const q = await editor('GET', '/api/v1/matches');
  assert.equal(q.total, 2, 'both pairs are proposed for review');
  const pair = (x, y) => q.items.find((m) => [m.a.id, m.b.id].sort().join() === [x.id, y.id].sort().join());
  people.margaretMatch = pair(people.m1, people.m2);
  people.pembertonMatch = pair(people.j1, people.j2);
  assert.ok(people.margaretMatch && people.pembertonMatch);
});
after(async () => { await closeBrowser(); await fx.svc.stop(); });

/** Render the merge history action (core's personActions) for a person into the page, as the
 * person page does. */
async function showPersonActions(page, id) {
  await page.evaluate(async (personId) => {
    const core = await import('/assets/js/core.js');
    const person = await core.api('GET', `/api/v1/people/${personId}`);
    const main = document.getElementById('main');
    for (const action of core.personActions) {
      let node = null;
      try { node = action(person); } catch (e) { node = null; }
      if (node && node.classList.contains('merge-history')) main.appendChild(node);
    }
  }, id);
}

test('merge a proposed pair, then undo the merge', async () => {
  const page = await newPage(fx.svc);
  page.setDefaultTimeout(20_000);
  await signIn(page, fx.users.editor);
  await page.getByRole('link', { name: 'Review duplicates' }).first().click();
  await page.getByRole('heading', { level: 1, name: 'Review possible duplicates' }).waitFor();
  await page.getByRole('table', { name: /2 pairs/ }).waitFor();
  await checkPage(page, 'review-queue');

  await page.getByRole('link', { name: 'Margaret Featherstone and Margaret Featherstone' }).click();
  await page.getByRole('heading', { level: 1, name: 'Are these the same person?' }).waitFor();
  assert.equal(new URL(page.url()).hash, `#/review/${people.margaretMatch.id}`, 'only the id is in the address');
  const compare = page.getByRole('table', { name: 'The two records side by side' });
  await compare.getByRole('row', { name: /Email addresses.*mfeather@example\.org.*maggie\.f@example\.com/ }).waitFor();
  await compare.getByRole('row', { name: /Family name.*the same.*weight \+/ }).waitFor();
  await compare.getByRole('row', { name: /Addresses.*Postcode: the same/ }).waitFor();
  await page.getByText('How the likelihood is worked out').click();
  await page.getByText(/Only household details/).waitFor();
  await checkPage(page, 'review-pair');

  // Keep the newer record (B).
  await page.getByLabel(/^Record B: Margaret Featherstone/).check();
  await page.getByRole('button', { name: 'Merge these records' }).click();
  await page.getByRole('heading', { level: 1, name: 'Records merged' }).waitFor();
  const toSurvivor = page.getByRole('link', { name: 'Go to the record of Margaret Featherstone' });
  assert.equal(await toSurvivor.getAttribute('href'), `#/people/${people.m2.id}`);
  await checkPage(page, 'review-merged');
  const survivor = await editor('GET', `/api/v1/people/${people.m2.id}`);
  assert.equal(survivor.emails.length, 2, 'the survivor holds both emails');
  assert.equal((await fx.admin('GET', `/api/v1/people/${people.m1.id}`)).id, people.m2.id, 'the merged id leads to the survivor');

  // The merge history on the person page offers to undo it.
  await showPersonActions(page, people.m2.id);
  const history = page.locator('.merge-history');
  await history.getByRole('heading', { name: 'Merge history' }).waitFor();
  await history.getByText(/Another record was merged into this one/).waitFor();
  await checkPage(page, 'review-merge-history');
  await history.getByRole('button', { name: /^Undo this merge made / }).click();

  await page.getByRole('heading', { level: 1, name: 'Undo a merge' }).waitFor();
  assert.match(new URL(page.url()).hash, new RegExp(`^#/people/${people.m2.id}/unmerge\\?merge=[0-9a-f]+$`));
  await checkPage(page, 'review-unmerge');
  await page.getByRole('button', { name: 'Yes, undo this merge' }).click();
  await page.getByRole('heading', { level: 1, name: 'Merge undone' }).waitFor();
  const restored = page.getByRole('table', { name: 'The records restored' });
  assert.equal(await restored.getByRole('link', { name: 'Margaret Featherstone' }).count(), 2);
  assert.equal(await restored.getByRole('link').nth(1).getAttribute('href'), `#/people/${people.m1.id}`);
  await checkPage(page, 'review-unmerged');
  const back = await editor('GET', `/api/v1/people/${people.m1.id}`);
  assert.equal(back.id, people.m1.id);
  assert.equal(back.status, 'active');

  // Undoing it again is refused with a clear message.
  await page.goto(`/#/people/${people.m2.id}/unmerge`);
  await page.getByRole('heading', { level: 1, name: 'Undo a merge' }).waitFor();
  await page.getByRole('button', { name: 'Yes, undo this merge' }).click();
  await page.locator('.error-summary').getByText('There is no merge of this person to undo.').waitFor();
  assert.deepEqual(page.problems, []);
});

test('reject a pair as not the same person', async () => {
  const page = await newPage(fx.svc);
  page.setDefaultTimeout(20_000);
  await signIn(page, fx.users.editor);
  await page.goto('/#/review');
  await page.getByRole('link', { name: 'Jonathan Pemberton and Jon Pemberton' }).click();
  await page.getByRole('heading', { level: 1, name: 'Are these the same person?' }).waitFor();
  await page.getByRole('table', { name: 'The two records side by side' }).getByRole('row', { name: /Given name.*forms of the same name/ }).waitFor();
  await page.getByLabel('Why not? (optional)').fill('Father and son at the same address');
  await page.getByRole('button', { name: 'They are not the same person' }).click();
  await page.getByRole('heading', { level: 1, name: 'Review possible duplicates' }).waitFor();
  await page.getByText('Marked as not the same person. The pair will not be proposed again.').waitFor();
  await page.getByText('There are no possible duplicates to review.').waitFor();
  const rejected = await editor('GET', '/api/v1/matches?status=rejected');
  assert.ok(rejected.items.some((m) => m.id === people.pembertonMatch.id));

  // The filter shows decided pairs; the address holds only the filter, never names.
  await page.getByLabel('Show').selectOption('rejected');
  await page.getByRole('button', { name: 'Show' }).click();
  await page.getByRole('table', { name: /not the same person/ }).getByRole('link', { name: 'Jonathan Pemberton and Jon Pemberton' }).waitFor();
  assert.equal(new URL(page.url()).hash, '#/review?status=rejected');
  await checkPage(page, 'review-queue-rejected');
  await page.getByRole('link', { name: 'Jonathan Pemberton and Jon Pemberton' }).click();
  await page.getByRole('heading', { level: 1, name: 'Possible duplicate' }).waitFor();
  assert.equal(await page.getByRole('button', { name: 'Merge these records' }).count(), 0);
  assert.deepEqual(page.problems, []);
});

test('an administrator sees merges from the audit log and can undo one', async () => {
  const admin = fx.admin;
  const a = await admin('POST', '/api/v1/people', { given_name: 'Siobhan', family_name: 'Kelly', emails: [{ address: 'siobhan.k@example.org' }], addresses: [{ line1: '9 Wood Street', postcode: 'EC2V 7AN', country: 'GB' }] });
  const b = await admin('POST', '/api/v1/people', { given_name: 'Siobhan', family_name: 'Kelly', emails: [{ address: 's.kelly@example.com' }], addresses: [{ line1: '9 Wood Street', postcode: 'EC2V 7AN', country: 'GB' }] });
  await admin('POST', `/api/v1/people/${a.id}/merge`, { merge: [b.id] });

  const page = await newPage(fx.svc);
  page.setDefaultTimeout(20_000);
  await signIn(page, fx.users.admin);
  await page.goto('/#/review');
  await page.getByRole('heading', { level: 1, name: 'Review possible duplicates' }).waitFor();
  await showPersonActions(page, a.id);
  const history = page.locator('.merge-history');
  await history.getByText(/Another record was merged into this one/).waitFor();
  await history.getByRole('button', { name: /^Undo this merge made / }).click();
  await page.getByRole('heading', { level: 1, name: 'Undo a merge' }).waitFor();
  await page.getByRole('button', { name: 'Yes, undo this merge' }).click();
  await page.getByRole('heading', { level: 1, name: 'Merge undone' }).waitFor();
  assert.equal((await admin('GET', `/api/v1/people/${b.id}`)).id, b.id);

  // Once undone, the history no longer offers it.
  await page.goto('/#/review');
  await page.getByRole('heading', { level: 1, name: 'Review possible duplicates' }).waitFor();
  await showPersonActions(page, a.id);
  await page.locator('.merge-history').getByText('No other records have been merged into this one.').waitFor();
  assert.deepEqual(page.problems, []);
});
