// The People screens: search, the person page, create and edit (with validation errors and a
// conflicting change), consent, engagement, department scope, keyboard use, session end.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { standardFixture, newPage, signIn, checkPage, closeBrowser, apiAs, eventually } from './harness.mjs';

let fx;
let admin;
before(async () => {
  fx = await standardFixture();
  admin = fx.admin;
  await admin('POST', '/api/v1/purposes', {
    code: 'events_news', description: 'City events newsletter', category: 'marketing',
    default_lawful_basis: 'consent', wording: 'Email me news about City events.',
  });
});
after(async () => { await closeBrowser(); await fx.svc.stop(); });

const person = (body) => admin('POST', '/api/v1/people', body);
const h1 = (page, name) => page.getByRole('heading', { level: 1, name }).waitFor();
const search = (page) => page.getByRole('searchbox', { name: 'Search for a person' });

async function openPerson(page, id, name) {
  await page.goto(`/#/people/${id}`);
  await h1(page, name);
}

test('find a person by name and email, open them, edit them, and meet a conflicting change', async () => {
  const p = await person({
    given_name: 'Philippa', family_name: 'Featherstone', emails: [{ address: 'pfeather@example.org' }],
    phones: [{ number: '07700 900456' }], addresses: [{ line1: '1 Guildhall Yard', town: 'London', postcode: 'ec2v5ae' }],
    departments: ['EVENTS'], tags: ['livery'],
  });
  await person({ given_name: 'Philip', family_name: 'Marlowe', departments: ['VOLUNTEERING'] });
  const page = await newPage(fx.svc);
  await signIn(page, fx.users.officer);
  await page.getByRole('link', { name: 'People' }).first().click();
  await h1(page, 'Find a person');

  // Name prefix: both Philips, then narrowed; the live region announces the count.
  await search(page).fill('phili');
  await page.getByRole('status').filter({ hasText: '2 people found' }).waitFor();
  await page.getByRole('link', { name: 'Philippa Featherstone' }).waitFor();
  await page.getByRole('link', { name: 'Philip Marlowe' }).waitFor();
  await checkPage(page, 'people-search-results');
  assert.doesNotMatch(page.url(), /phili/i, 'search text stays out of the URL');

  // Email.
  await search(page).fill('PFeather@example.org');
  await page.getByRole('status').filter({ hasText: '1 person found' }).waitFor();
  await page.getByRole('link', { name: 'Philippa Featherstone' }).click();
  await h1(page, /Philippa Featherstone/);
  await page.getByText('EC2V 5AE').waitFor();
  await page.getByText('+447700900456').waitFor();
  assert.ok(await page.locator('.provenance').filter({ hasText: 'entered by staff' }).count() > 0, 'provenance shown');
  await page.getByRole('heading', { level: 2, name: 'Consent' }).waitFor();
  await page.getByRole('heading', { level: 2, name: 'Timeline' }).waitFor();
  await page.getByRole('heading', { level: 2, name: 'Engagement scores' }).waitFor();
  await checkPage(page, 'person');

  // Back restores the search.
  await page.getByRole('link', { name: 'Back to search' }).click();
  await h1(page, 'Find a person');
  assert.equal(await search(page).inputValue(), 'PFeather@example.org');
  await page.getByRole('link', { name: 'Philippa Featherstone' }).click();
  await h1(page, /Philippa Featherstone/);

  // Edit: a validation error from the API is shown against its field, then fixed.
  await page.getByRole('link', { name: 'Edit details' }).click();
  await h1(page, /Edit details/);
  await checkPage(page, 'person-edit');
  await page.getByLabel('Preferred name (optional)').fill('Pippa');
  await page.getByLabel('Postcode').fill('not a postcode');
  await page.getByRole('button', { name: 'Save changes' }).click();
  const summary = page.locator('.error-summary');
  await summary.getByText('There is a problem').waitFor();
  await summary.getByRole('link', { name: /not a valid UK postcode/ }).waitFor();
  assert.equal(await page.getByLabel('Postcode').getAttribute('aria-invalid'), 'true');
  await checkPage(page, 'person-edit-errors');
  await summary.getByRole('link', { name: /not a valid UK postcode/ }).click();
  assert.equal(await page.evaluate(() => document.activeElement.name), 'addresses[0].postcode');
  await page.getByLabel('Postcode').fill('EC2V 7HH');
  await page.getByRole('button', { name: 'Save changes' }).click();
  await h1(page, /Philippa Featherstone/);
  await page.getByText('Your changes have been saved.').waitFor();
  await page.getByText('Pippa', { exact: true }).waitFor();
  await page.getByText('EC2V 7HH').waitFor();

  // A conflicting change between loading the form and saving it.
  await page.getByRole('link', { name: 'Edit details' }).click();
  await h1(page, /Edit details/);
  const now = await admin('GET', `/api/v1/people/${p.id}`);
  await admin('PATCH', `/api/v1/people/${p.id}`, { version: now.version, organisation: 'Worshipful Company of Fletchers' });
  await page.getByLabel('Given name').fill('Philippa Jane');
  await page.getByRole('button', { name: 'Save changes' }).click();
  await summary.getByText('Someone else changed this first').waitFor();
  await page.getByRole('link', { name: 'Reload the latest version' }).click();
  await eventually(async () => (await page.getByLabel('Organisation (optional)').inputValue()) === 'Worshipful Company of Fletchers', 10_000, 'the latest version');
  assert.equal(await page.getByLabel('Given name').inputValue(), 'Philippa');
  await page.close();
});

test('a person with a pending proposal shows it under "Possible duplicates", with a link to compare the pair', async () => {
  // Forms of the same name, the same date of birth, phone and address: proposed for review.
  const jon = await person({ given_name: 'Jon', family_name: 'Smith', date_of_birth: '1970-03-02', phones: [{ number: '07700 900123' }], addresses: [{ line1: '1 London Wall', postcode: 'ec2v7hh' }], departments: ['EVENTS'] });
  const jonathan = await person({ given_name: 'Jonathan', family_name: 'SMITH', date_of_birth: '1970-03-02', phones: [{ number: '+44 7700 900123' }], addresses: [{ line1: '1 London Wall', postcode: 'EC2V 7HH' }], departments: ['EVENTS'] });
  const q = await admin('GET', `/api/v1/matches?person=${jon.id}`);
  assert.equal(q.total, 1, 'the pair is proposed for review');
  const match = q.items[0];
  assert.deepEqual([match.a.id, match.b.id].sort(), [jon.id, jonathan.id].sort());

  const page = await newPage(fx.svc);
  await signIn(page, fx.users.officer);
  await openPerson(page, jon.id, /Jon Smith/);
  const dups = page.locator('section').filter({ has: page.getByRole('heading', { level: 2, name: 'Possible duplicates' }) });
  const row = dups.getByRole('row').filter({ hasText: 'Jonathan SMITH' });
  await row.waitFor();
  await row.getByText(/^(over 99\.9|\d+\.\d)% likely to be the same person$/).waitFor();
  assert.equal(await row.getByRole('link', { name: 'Jonathan SMITH', exact: true }).getAttribute('href'), `#/people/${jonathan.id}`);
  assert.equal(await dups.getByRole('row').count(), 2, 'a heading row and the one pair');
  await checkPage(page, 'person-possible-duplicates');
  await row.getByRole('link', { name: /^Compare/ }).click();
  await h1(page, /Are these the same person\?/);
  assert.equal(new URL(page.url()).hash, `#/review/${match.id}`);
  await page.getByRole('table', { name: 'The two records side by side' }).getByRole('row', { name: /Given name.*Jon.*Jonathan/ }).waitFor();

  // The other record lists the pair too.
  await openPerson(page, jonathan.id, /Jonathan SMITH/);
  await dups.getByRole('row').filter({ hasText: 'Jon Smith' }).getByRole('link', { name: /^Compare/ }).waitFor();

  // Someone without a proposal: said so.
  const lone = await person({ given_name: 'Solitaire', family_name: 'Single', departments: ['EVENTS'] });
  await openPerson(page, lone.id, /Solitaire Single/);
  await dups.getByText('No possible duplicates.').waitFor();
  assert.deepEqual(page.problems, []);
  await page.close();

  // A role that cannot merge people does not see the section.
  const dpoPage = await newPage(fx.svc);
  await signIn(dpoPage, fx.users.dpo);
  await openPerson(dpoPage, jon.id, /Jon Smith/);
  await dpoPage.getByRole('heading', { level: 2, name: 'Consent' }).waitFor();
  assert.equal(await dpoPage.getByRole('heading', { level: 2, name: 'Possible duplicates' }).count(), 0);
  await dpoPage.close();
});

test('search results carry the query they are for', async () => {
  await person({ given_name: 'Quinton', family_name: 'Resultsfor', departments: ['EVENTS'] });
  const page = await newPage(fx.svc);
  await signIn(page, fx.users.officer);
  await page.goto('/#/people');
  await h1(page, 'Find a person');
  await search(page).fill('Resultsfor');
  await page.getByRole('link', { name: 'Quinton Resultsfor' }).waitFor();
  await eventually(() => page.evaluate(() => document.querySelector('[data-results-for]')?.getAttribute('data-results-for') === 'Resultsfor'), 5_000, 'data-results-for');
  await search(page).fill('Nobody by this name');
  await page.getByRole('status').filter({ hasText: 'No one found' }).waitFor();
  assert.equal(await page.locator('#people-results').getAttribute('data-results-for'), 'Nobody by this name');
  await page.close();
});

test('add a person, with validation errors from the API shown against the fields', async () => {
  const page = await newPage(fx.svc);
  await signIn(page, fx.users.officer);
  await page.goto('/#/people');
  await h1(page, 'Find a person');
  await page.getByRole('link', { name: 'Add a new person' }).click();
  await h1(page, 'Add a person');
  await page.getByLabel('Given name').fill('Quentin');
  await page.getByLabel('Family name').fill('Quill');
  await page.getByLabel('Email address', { exact: true }).fill('quentin-at-example.org');
  await page.getByRole('button', { name: 'Add another phone number' }).click();
  await page.getByLabel('Phone number 2').fill('12');
  await page.getByRole('checkbox', { name: 'City Events' }).check();
  await page.getByRole('button', { name: 'Add person' }).click();
  const summary = page.locator('.error-summary');
  await summary.getByRole('link', { name: /must contain an @/ }).waitFor();
  // The second phone row (the first was left empty) carries the phone error.
  await page.locator('[data-field="phones[1].number"].field--error').waitFor();
  assert.equal(await page.getByLabel('Phone number 2').getAttribute('aria-invalid'), 'true');
  await page.getByLabel('Email address', { exact: true }).fill('quentin@example.org');
  await page.getByLabel('Phone number 2').fill('020 7946 0000');
  await page.getByRole('button', { name: 'Add person' }).click();
  await h1(page, /Quentin Quill/);
  await page.getByText('Quentin Quill has been added.').waitFor();
  await page.getByText('+442079460000').waitFor();
  await page.close();
});

test('record consent through the form and see the new state and history', async () => {
  const p = await person({ given_name: 'Constance', family_name: 'Grant', emails: [{ address: 'constance@example.org' }], departments: ['EVENTS'] });
  const page = await newPage(fx.svc);
  await signIn(page, fx.users.officer);
  await openPerson(page, p.id, /Constance Grant/);
  await page.getByText('No consent has been recorded for this person.').waitFor();
  await page.getByRole('link', { name: 'Record consent' }).click();
  await h1(page, /Record consent/);
  await checkPage(page, 'consent-form');

  // Nothing chosen: the form says what is missing.
  await page.getByRole('button', { name: 'Record consent' }).click();
  await page.locator('.error-summary').getByRole('link', { name: 'Choose a purpose.' }).waitFor();

  await page.getByLabel('Purpose').selectOption('events_news');
  await page.getByRole('radio', { name: 'Email' }).check();
  await page.getByRole('radio', { name: 'Granted' }).check();
  await page.getByLabel('How it was captured').selectOption('paper_form');
  assert.equal(await page.getByLabel('Wording they were shown').inputValue(), '1');
  await page.getByLabel('Evidence (optional)').fill('Signed form kept in the Guildhall events office');
  await page.getByRole('button', { name: 'Record consent' }).click();
  await h1(page, /Constance Grant/);
  await page.getByText(/Consent recorded: granted for City events newsletter by email/).waitFor();
  const now = page.locator('table').filter({ has: page.getByText('Consent now, by purpose and channel') });
  await now.getByRole('row').filter({ hasText: 'City events newsletter' }).filter({ hasText: 'Granted' }).waitFor();

  // A withdrawal for the one address: the state shows both, the history both events.
  await page.getByRole('link', { name: 'Record consent' }).click();
  await h1(page, /Record consent/);
  await page.getByLabel('Purpose').selectOption('events_news');
  await page.getByRole('radio', { name: 'Email' }).check();
  await page.getByRole('radio', { name: 'Withdrawn' }).check();
  await page.getByLabel('Applies to').selectOption('constance@example.org');
  await page.getByLabel('How it was captured').selectOption('phone_call');
  await page.getByRole('button', { name: 'Record consent' }).click();
  await h1(page, /Constance Grant/);
  await now.getByRole('row').filter({ hasText: 'constance@example.org' }).filter({ hasText: 'Withdrawn' }).waitFor();
  const history = page.locator('table').filter({ has: page.getByText(/Consent history \(2 events/) });
  await history.waitFor();
  assert.equal(await history.locator('tbody tr').count(), 2);
  await history.getByText('Evidence: Signed form kept in the Guildhall events office').waitFor();
  await history.getByText('Phone call, recorded by staff').waitFor();
  await checkPage(page, 'person-consent');
  await page.close();
});

test('a department editor cannot see a person of another department', async () => {
  const vol = await person({ given_name: 'Valentina', family_name: 'Volunteer', departments: ['VOLUNTEERING'] });
  await person({ given_name: 'Valentina', family_name: 'Eventful', departments: ['EVENTS'] });
  const page = await newPage(fx.svc);
  await signIn(page, fx.users.editor);
  await page.goto('/#/people');
  await h1(page, 'Find a person');
  await search(page).fill('Valentina');
  await page.getByRole('status').filter({ hasText: '1 person found' }).waitFor();
  await page.getByRole('link', { name: 'Valentina Eventful' }).waitFor();
  assert.equal(await page.getByRole('link', { name: 'Valentina Volunteer' }).count(), 0);
  await page.goto(`/#/people/${vol.id}`);
  await h1(page, 'Person not found');
  assert.equal(await page.getByText('Volunteer').count(), 0);
  await page.close();
});

test('log an engagement and see it in the timeline, with older events behind "Show more"', async () => {
  const p = await person({ given_name: 'Timothy', family_name: 'Line', departments: ['EVENTS'] });
  const events = [];
  for (let i = 0; i < 21; i++) {
    events.push({ person: p.id, kind: 'event', department: 'EVENTS', action: 'registered', occurred_at: new Date(Date.UTC(2024, 0, 1 + i, 10)).toISOString(), external_ref: `seed-${i}`, source: 'e2e' });
  }
  await admin('POST', '/api/v1/engagements/batch', { events });
  await admin('POST', '/api/v1/activities', { kind: 'banquet', title: 'Spring Banquet', department: 'EVENTS', starts_at: '2025-04-01T18:00:00Z' });
  const page = await newPage(fx.svc);
  await signIn(page, fx.users.officer);
  await openPerson(page, p.id, /Timothy Line/);
  await page.getByRole('link', { name: 'Log an engagement' }).click();
  await h1(page, /Log an engagement/);
  await checkPage(page, 'engagement-form');
  await page.getByRole('button', { name: 'Log engagement' }).click();
  await page.locator('.error-summary').getByRole('link', { name: 'Choose what happened.' }).waitFor();

  await page.getByLabel('Activity', { exact: true }).selectOption({ label: 'Spring Banquet (City Events, 1 April 2025)' });
  assert.equal(await page.getByLabel('Kind of activity').isVisible(), false, 'kind is hidden once an activity is chosen');
  await page.getByLabel('What happened').selectOption('attended');
  await page.getByLabel('When it happened').fill('2025-04-01T19:30');
  await page.getByLabel('Notes (optional)').fill('Seated at the top table');
  await page.getByRole('button', { name: 'Log engagement' }).click();
  await h1(page, /Timothy Line/);
  await page.getByText('Engagement logged: attended.').waitFor();
  const timeline = page.locator('table.timeline');
  const row = timeline.getByRole('row').filter({ hasText: 'Attended: Spring Banquet' });
  await row.waitFor();
  await row.getByText('Seated at the top table').waitFor();
  assert.equal(await timeline.locator('tbody tr').count(), 20);
  await page.getByRole('button', { name: 'Show more' }).click();
  await eventually(async () => (await timeline.locator('tbody tr').count()) === 22, 10_000, 'the older events');
  await page.getByRole('button', { name: 'Show more' }).waitFor({ state: 'detached' });
  await checkPage(page, 'person-timeline');
  await page.close();
});

test('keyboard only: tab to the search box, type, tab to a result and open it', async () => {
  await person({ given_name: 'Keyes', family_name: 'Board', departments: ['EVENTS'] });
  const page = await newPage(fx.svc);
  await signIn(page, fx.users.officer);
  await page.goto('/#/people');
  await h1(page, 'Find a person');
  await page.keyboard.press('Tab');
  assert.equal(await page.evaluate(() => document.activeElement.name), 'q');
  await page.keyboard.type('Keyes');
  await page.getByRole('link', { name: 'Keyes Board' }).waitFor();
  await page.keyboard.press('Tab');
  assert.equal(await page.evaluate(() => document.activeElement.textContent), 'Keyes Board');
  await page.keyboard.press('Enter');
  await h1(page, /Keyes Board/);
  await page.close();
});

test('the session ending mid-use lands on the sign-in page with a message', async () => {
  const page = await newPage(fx.svc);
  await signIn(page, fx.users.officer);
  await page.goto('/#/people');
  await h1(page, 'Find a person');
  // Let the page's own first requests finish: one still in flight when the cookies go ends on
  // the sign-in page before the typing (the search box detached under `fill`, a CI failure).
  await page.waitForLoadState('networkidle');
  await page.context().clearCookies();
  await search(page).fill('anyone');
  await h1(page, 'Sign in');
  await page.getByText('Your session has ended. Sign in again to carry on.').waitFor();
  await page.close();
});

test('merged and erased people get a clear page', async () => {
  const a = await person({ given_name: 'Morag', family_name: 'Survivor', departments: ['EVENTS'] });
  const b = await person({ given_name: 'Morag', family_name: 'Merged', departments: ['EVENTS'] });
  await admin('POST', `/api/v1/people/${a.id}/merge`, { merge: [b.id] });
  const gone = await person({ given_name: 'Erin', family_name: 'Erased', departments: ['EVENTS'] });
  const dpo = await apiAs(fx.svc, fx.users.dpo.email);
  await dpo('POST', `/api/v1/people/${gone.id}/erase`, { reason: 'Subject asked to be forgotten' });
  const page = await newPage(fx.svc);
  await signIn(page, fx.users.officer);
  await page.goto(`/#/people/${b.id}`);
  await h1(page, 'This record has been merged');
  await page.getByRole('link', { name: /Go to the record it was merged into/ }).click();
  await h1(page, /Morag/);
  assert.match(page.url(), new RegExp(`/people/${a.id}$`));
  await page.goto(`/#/people/${gone.id}`);
  await h1(page, 'This person’s record has been erased');
  await page.close();
});
