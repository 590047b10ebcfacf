// Journey analytics dashboard: every analytic's chart (an SVG image from the API) loads and has
// a table of the same numbers, small counts are explained, filters apply to every view, a bad
// filter is reported against its field, and each view downloads as CSV.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { standardFixture, newPage, signIn, checkPage, closeBrowser, eventually, apiAs } from './harness.mjs';

let fx;
const DAY = 24 * 3600 * 1000;
const daysAgo = (n) => new Date(Date.now() - n * DAY).toISOString().replace(/\.\d+Z$/, 'Z');

before(async () => {
  fx = await standardFixture();
  const { admin } = fx;
  const activity = async (kind, department, title) =>
    (await admin('POST', '/api/v1/activities', { kind, department, title, starts_at: daysAgo(90) })).id;
  const banquet = await activity('banquet', 'EVENTS', 'Spring banquet');
  const planting = await activity('volunteering', 'VOLUNTEERING', 'Tree planting');
  const plan = await activity('consultation', 'EVENTS', 'Local plan');
  // Twelve people went to the banquet; eight of them volunteered later; six of those then
  // answered the consultation; six others only volunteered. Every published count is at least 5 except the ones the API
  // must hold back (e.g. the four who did nothing after the banquet).
  const events = [];
  for (let i = 0; i < 12; i++) {
    const p = await admin('POST', '/api/v1/people', {
      given_name: `Walker${i}`, family_name: 'Journey', emails: [{ address: `walker${i}@example.net` }],
    });
    events.push({ person: p.id, activity: banquet, action: 'invited', occurred_at: daysAgo(100) });
    events.push({ person: p.id, activity: banquet, action: 'registered', occurred_at: daysAgo(95) });
    events.push({ person: p.id, activity: banquet, action: 'attended', occurred_at: daysAgo(90) });
    if (i < 8) events.push({ person: p.id, activity: planting, action: 'volunteered', occurred_at: daysAgo(60), hours: 3 });
    if (i < 6) events.push({ person: p.id, activity: plan, action: 'responded', occurred_at: daysAgo(30) });
  }
  // Six more volunteered only, so that reach per department passes the threshold too.
  for (let i = 0; i < 6; i++) {
    const p = await admin('POST', '/api/v1/people', { given_name: `Planter${i}`, family_name: 'Journey' });
    events.push({ person: p.id, activity: planting, action: 'volunteered', occurred_at: daysAgo(50), hours: 2 });
  }
  await admin('POST', '/api/v1/engagements/batch', { events });
});
after(async () => { await closeBrowser(); await fx.svc.stop(); });

/** The panel of a tab: waits until its chart image has loaded and its table is there. */
async function chartAndTable(page, id, caption) {
  const panel = page.locator(`#journeys-panel-${id}`);
  await panel.getByRole('table').filter({ hasText: caption }).first().waitFor();
  const img = panel.locator('img.chart');
  await img.waitFor();
  assert.ok((await img.getAttribute('alt')).length > 20, `${id}: the chart has a text alternative`);
  await eventually(() => img.evaluate((el) => el.complete && el.naturalWidth > 0), 15_000, `${id} chart image`);
  return panel;
}

test('the analyst sees every analytic as a chart and a table, filters them and downloads CSV', async () => {
  const page = await newPage(fx.svc);
  await signIn(page, fx.users.analyst);
  await page.getByRole('link', { name: 'Journeys' }).first().click();
  await page.getByRole('heading', { level: 1, name: /Journeys/ }).waitFor();

  // Transitions (the first tab): 12 went to a banquet, 8 volunteered next; the 4 who did
  // nothing later are held back, and that is explained.
  let panel = await chartAndTable(page, 'transitions', 'what they took part in next');
  const banquetRow = panel.getByRole('row').filter({ has: page.getByRole('rowheader', { name: 'City banquet' }) });
  await banquetRow.getByRole('cell', { name: '12', exact: true }).waitFor();
  await banquetRow.getByRole('cell', { name: /^8/ }).waitFor();
  await panel.getByText('Some numbers are held back to protect people’s privacy.').waitFor();
  await panel.getByText(/“<5” means fewer than 5 people/).waitFor();
  assert.equal(await page.getByRole('tab', { name: 'What people did next' }).getAttribute('aria-selected'), 'true');
  // No segment filter for an analyst (segments are for campaigns managers).
  assert.equal(await page.getByLabel('Segment').count(), 0);
  await checkPage(page, 'journeys-dashboard');

  // The funnel needs a kind or an activity.
  await page.getByRole('tab', { name: 'Funnel' }).click();
  await page.locator('#journeys-panel-funnel').getByText(/A funnel follows one activity/).waitFor();

  await page.getByRole('tab', { name: 'Cohorts' }).click();
  panel = await chartAndTable(page, 'cohorts', 'month they first took part');
  await page.getByRole('tab', { name: 'Cohorts' }).press('ArrowRight'); // keyboard: to Paths
  assert.equal(await page.getByRole('tab', { name: 'Paths' }).getAttribute('aria-selected'), 'true');
  panel = await chartAndTable(page, 'paths', 'most common sequences');
  await panel.getByRole('row').filter({ hasText: 'City banquet → Volunteering → Consultation' }).getByRole('cell', { name: '6' }).waitFor();
  await page.getByRole('tab', { name: 'Reach' }).click();
  panel = await chartAndTable(page, 'reach', 'People engaged by each department');
  await panel.getByRole('row').filter({ has: page.getByRole('rowheader', { name: 'City Events' }) }).getByRole('cell', { name: '12', exact: true }).first().waitFor();
  await checkPage(page, 'journeys-reach');

  // A period that ends before it starts is reported against the field.
  const filters = page.getByRole('form', { name: 'Filters' });
  await filters.getByLabel('From').fill('2026-03-01');
  await filters.getByLabel('To (including this day)').fill('2026-01-01');
  await filters.getByRole('button', { name: 'Apply filters' }).click();
  await page.getByRole('alert').filter({ hasText: 'There is a problem' }).waitFor();
  await page.getByRole('link', { name: 'The end date must be the same as or after the start date.' }).waitFor();
  await checkPage(page, 'journeys-filter-error');

  // Filter by kind: the funnel follows banquets; every view uses the filter.
  await filters.getByLabel('From').fill('');
  await filters.getByLabel('To (including this day)').fill('');
  await filters.getByLabel('Kind of activity').selectOption('banquet');
  await filters.getByRole('button', { name: 'Apply filters' }).click();
  await page.getByRole('status').filter({ hasText: 'kind: City banquet' }).first().waitFor();
  assert.match(page.url(), /kind=banquet/);
  await page.getByRole('tab', { name: 'Funnel' }).click();
  panel = await chartAndTable(page, 'funnel', 'Funnel for activities of the kind City banquet');
  const step = (name) => panel.getByRole('row').filter({ has: page.getByRole('rowheader', { name, exact: true }) });
  await step('Invited').getByRole('cell', { name: '12', exact: true }).waitFor();
  await step('Took part').getByRole('cell', { name: '12', exact: true }).waitFor();
  // Everyone registered, so the drop-off is 0 (<5) and the registered count is held back with it.
  await step('Registered').getByRole('cell', { name: 'hidden', exact: true }).waitFor();
  await step('Registered').getByRole('cell', { name: '<5', exact: true }).waitFor();
  assert.match(await panel.locator('img.chart').getAttribute('src'), /format=svg.*kind=banquet|kind=banquet.*format=svg/);
  await page.getByRole('tab', { name: 'Reach' }).click();
  assert.match(await page.locator('#journeys-panel-reach img.chart').getAttribute('src'), /kind=banquet/);
  await chartAndTable(page, 'reach', 'People engaged by each department');
  await checkPage(page, 'journeys-funnel');

  // CSV download of the funnel.
  await page.getByRole('tab', { name: 'Funnel' }).click();
  const [dl] = await Promise.all([
    page.waitForEvent('download'),
    page.getByRole('button', { name: 'Download funnel as CSV' }).click(),
  ]);
  assert.match(dl.suggestedFilename(), /^funnel-\d{4}-\d{2}-\d{2}-\d{4}-\d{2}-\d{2}\.csv$/);
  const csv = readFileSync(await dl.path(), 'utf8');
  assert.match(csv, /invited/);
  assert.match(csv, /12/);
  await page.getByText('The CSV file has been downloaded.').waitFor();

  // The filters survive a reload (they live in the address, never personal data).
  await page.reload();
  await page.getByRole('heading', { level: 1, name: /Journeys/ }).waitFor();
  assert.equal(await page.getByLabel('Kind of activity').inputValue(), 'banquet');
  assert.equal(await page.getByRole('tab', { name: 'Funnel' }).getAttribute('aria-selected'), 'true');
  await chartAndTable(page, 'funnel', 'Funnel for activities of the kind City banquet');
  assert.deepEqual(page.problems, []);
});

test('a campaigns manager may narrow the analytics to a saved segment', async () => {
  const manager = await apiAs(fx.svc, fx.users.campaigns.email);
  const seg = await manager('POST', '/api/v1/segments', { name: 'Volunteers', definition: { engaged: { action: 'volunteered' } } });
  const page = await newPage(fx.svc);
  await signIn(page, fx.users.campaigns);
  await page.goto('/#/journeys');
  await chartAndTable(page, 'transitions', 'what they took part in next');
  await page.getByLabel('Segment').selectOption(seg.id);
  await page.getByRole('button', { name: 'Apply filters' }).click();
  await page.getByRole('status').filter({ hasText: 'segment: Volunteers' }).first().waitFor();
  const panel = await chartAndTable(page, 'transitions', 'what they took part in next');
  await panel.getByRole('row').filter({ has: page.getByRole('rowheader', { name: 'City banquet' }) }).getByRole('cell', { name: '8', exact: true }).waitFor();
  assert.match(await panel.locator('img.chart').getAttribute('src'), new RegExp(`segment=${seg.id}`));
  assert.deepEqual(page.problems, []);
});
