// Review of possible duplicates: the queue, a pair side by side, merging (and undoing it from
// the merge history on the person page), rejecting.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { standardFixture, apiAs, newPage, signIn, checkPage, closeBrowser, eventually } from './harness.mjs';

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

  // The survivor's page lists the merge in its merge history, which offers to undo it.
  await toSurvivor.click();
  await page.getByRole('heading', { level: 1, name: /Margaret Featherstone/ }).waitFor();
  const history = page.locator('.merge-history');
  await history.getByRole('heading', { name: 'Merge history' }).waitFor();
  const item = history.getByRole('listitem').filter({ hasText: /Merged into this record on/ });
  await item.waitFor();
  assert.equal(await history.getByRole('listitem').count(), 1);
  assert.equal(await item.getByRole('link', { name: `record ${people.m1.id}` }).getAttribute('href'), `#/people/${people.m1.id}`);
  await checkPage(page, 'review-merge-history');
  await item.getByRole('link', { name: /^Undo this merge made / }).click();

  await page.getByRole('heading', { level: 1, name: 'Undo a merge' }).waitFor();
  const unmergeHash = new URL(page.url()).hash;
  assert.match(unmergeHash, new RegExp(`^#/people/${people.m2.id}/unmerge\\?merge=[0-9a-f]+$`));
  await page.getByText(/This undoes the merge of another record into Margaret Featherstone made /).waitFor();
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

  // The history now says when it was undone, and no longer offers to undo it.
  await page.getByRole('link', { name: 'Back to the record of Margaret Featherstone' }).click();
  await page.getByRole('heading', { level: 1, name: /Margaret Featherstone/ }).waitFor();
  await history.getByText(/^Undone on /).waitFor();
  assert.equal(await history.getByRole('link', { name: /Undo this merge/ }).count(), 0);

  // The confirmation page opened again says it was already undone and offers no button.
  await page.goto(`/${unmergeHash}`);
  await page.getByRole('heading', { level: 1, name: 'Undo a merge' }).waitFor();
  await page.getByText(/This merge was already undone on /).waitFor();
  assert.equal(await page.getByRole('button', { name: 'Yes, undo this merge' }).count(), 0);
  // Without a merge chosen, it points back to the merge history.
  await page.goto(`/#/people/${people.m2.id}/unmerge`);
  await page.getByText('No merge was chosen.').waitFor();
  assert.equal(await page.getByRole('button', { name: 'Yes, undo this merge' }).count(), 0);
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

test('an engagement officer sees the merge history on the person page and undoes a merge', async () => {
  const admin = fx.admin;
  const a = await admin('POST', '/api/v1/people', { given_name: 'Siobhan', family_name: 'Kelly', emails: [{ address: 'siobhan.k@example.org' }], addresses: [{ line1: '9 Wood Street', postcode: 'EC2V 7AN', country: 'GB' }] });
  const b = await admin('POST', '/api/v1/people', { given_name: 'Siobhan', family_name: 'Kelly', emails: [{ address: 's.kelly@example.com' }], addresses: [{ line1: '9 Wood Street', postcode: 'EC2V 7AN', country: 'GB' }] });
  const c = await admin('POST', '/api/v1/people', { given_name: 'Siobhan', family_name: 'Kelly', emails: [{ address: 'kelly.siobhan@example.net' }] });
  // Two merges into a: the older one already undone.
  await admin('POST', `/api/v1/people/${a.id}/merge`, { merge: [c.id] });
  await admin('POST', `/api/v1/people/${a.id}/unmerge`, {});
  await admin('POST', `/api/v1/people/${a.id}/merge`, { merge: [b.id] });
  const merges = await admin('GET', `/api/v1/people/${a.id}/merges`);
  assert.equal(merges.length, 2);

  const page = await newPage(fx.svc);
  page.setDefaultTimeout(20_000);
  await signIn(page, fx.users.officer);
  await page.goto(`/#/people/${a.id}`);
  await page.getByRole('heading', { level: 1, name: /Siobhan Kelly/ }).waitFor();
  const history = page.locator('.merge-history');
  const items = history.getByRole('listitem');
  await items.first().waitFor();
  assert.equal(await items.count(), 2, 'both merges, newest first');
  const newest = items.nth(0);
  const oldest = items.nth(1);
  assert.equal(await newest.getByRole('link', { name: `record ${b.id}` }).getAttribute('href'), `#/people/${b.id}`);
  assert.equal(await oldest.getByRole('link', { name: `record ${c.id}` }).getAttribute('href'), `#/people/${c.id}`);
  await oldest.getByText(/^Undone on /).waitFor();
  assert.equal(await oldest.getByRole('link', { name: /Undo this merge/ }).count(), 0);
  await checkPage(page, 'review-merge-history-officer');

  await newest.getByRole('link', { name: /^Undo this merge made / }).click();
  await page.getByRole('heading', { level: 1, name: 'Undo a merge' }).waitFor();
  assert.equal(new URL(page.url()).hash, `#/people/${a.id}/unmerge?merge=${merges[0].id}`);
  await page.getByRole('button', { name: 'Yes, undo this merge' }).click();
  await page.getByRole('heading', { level: 1, name: 'Merge undone' }).waitFor();
  assert.equal((await admin('GET', `/api/v1/people/${b.id}`)).id, b.id);

  // Once undone, the history no longer offers it.
  await page.goto(`/#/people/${a.id}`);
  await page.getByRole('heading', { level: 1, name: /Siobhan Kelly/ }).waitFor();
  await eventually(async () => (await history.getByText(/^Undone on /).count()) === 2, 10_000, 'both merges undone');
  assert.equal(await history.getByRole('link', { name: /Undo this merge/ }).count(), 0);
  assert.deepEqual(page.problems, []);
});
