// Campaigns end to end: a campaigns manager builds a segment with the form (live count), writes
// a template (the API's unsubscribe rule is shown against its field) and previews it for a real
// person, drafts a campaign, sends a test, approves it, starts it after a confirmation and
// watches the numbers reach "sent"; the SMTP sink then holds exactly the consented people's
// messages with their unsubscribe headers. Above the approval threshold the author is refused.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { standardFixture, newPage, signIn, checkPage, closeBrowser, eventually, apiAs } from './harness.mjs';

// Audiences above 3 need a second person's approval (the default is 1,000).
process.env.LIGHTHOUSE__CAMPAIGNS__APPROVAL_THRESHOLD = '3';

let fx;
const people = {};

before(async () => {
  fx = await standardFixture();
  const { admin } = fx;
  await admin('POST', '/api/v1/purposes', {
    code: 'city_news', description: 'City news by email', category: 'marketing',
    default_lawful_basis: 'consent', wording: 'Email me news about what is on in the City.',
  });
  // In EC1A with consent: Alice, Bob, Cara. In EC1A without consent: Dan. Consent but
  // elsewhere: Eve. Consent given then withdrawn: Fay.
  const seed = [
    ['Alice', 'Able', 'EC1A 1BB', 'EVENTS', ['granted']],
    ['Bob', 'Baker', 'EC1A 2AB', 'EVENTS', ['granted']],
    ['Cara', 'Cole', 'EC1A 4HD', 'VOLUNTEERING', ['granted']],
    ['Dan', 'Dunn', 'EC1A 7BE', 'EVENTS', []],
    ['Eve', 'Evans', 'SE1 9SG', 'EVENTS', ['granted']],
    ['Fay', 'Ford', 'EC1A 1AA', 'EVENTS', ['granted', 'withdrawn']],
  ];
  for (const [given, family, postcode, dept, consents] of seed) {
    const p = await admin('POST', '/api/v1/people', {
      given_name: given, family_name: family, departments: [dept],
      emails: [{ address: `${given.toLowerCase()}@example.net` }],
      addresses: [{ line1: '1 Guildhall Yard', town: 'London', postcode, primary: true }],
    });
    people[given] = p.id;
    for (const status of consents) {
      await admin('POST', `/api/v1/people/${p.id}/consents`, {
        purpose: 'city_news', channel: 'email', status, wording_version: 1, capture_method: 'web_checkbox',
      });
    }
  }
});
after(async () => { await closeBrowser(); await fx.svc.stop(); });

// ---------- reading what the SMTP sink received ----------

function header(data, name) {
  const head = data.slice(0, data.indexOf('\r\n\r\n')).replace(/\r\n[ \t]+/g, ' ');
  const m = new RegExp(`^${name}:\\s*(.*)$`, 'im').exec(head);
  return m ? m[1].trim() : null;
}

/** The decoded text of every text part of a message. */
function bodies(data) {
  const boundary = /boundary="?([^";\r\n]+)"?/i.exec(data);
  const chunks = boundary ? data.split(`--${boundary[1]}`).slice(1, -1) : [data.slice(data.indexOf('\r\n\r\n'))];
  return chunks.map((chunk) => {
    const i = chunk.indexOf('\r\n\r\n');
    const head = chunk.slice(0, i);
    let body = chunk.slice(i + 4);
    const enc = (/content-transfer-encoding:\s*([\w-]+)/i.exec(head) || [])[1];
    if (/base64/i.test(enc || '')) body = Buffer.from(body.replace(/\s+/g, ''), 'base64').toString('utf8');
    else if (/quoted-printable/i.test(enc || '')) {
      body = Buffer.from(body.replace(/=\r\n/g, '').replace(/=([0-9A-F]{2})/gi, (_, x) => String.fromCharCode(parseInt(x, 16))), 'latin1').toString('utf8');
    }
    return { type: ((/content-type:\s*([^;\r\n]+)/i.exec(head) || [])[1] || '').toLowerCase(), body };
  });
}

const address = (s) => s.replace(/^<|>$/g, '').toLowerCase();

test('build a segment, write and preview a template, then draft, approve, start and send a campaign', async () => {
  const page = await newPage(fx.svc);
  await signIn(page, fx.users.campaigns);
  await page.getByRole('link', { name: 'Campaigns' }).first().click();
  await page.getByRole('heading', { level: 1, name: 'Campaigns' }).waitFor();
  await page.getByText('There are no campaigns yet.').waitFor();

  // ----- the segment builder -----
  await page.getByRole('link', { name: 'Create a segment' }).click();
  await page.getByRole('heading', { level: 1, name: 'Create a segment' }).waitFor();
  await page.getByLabel('Name', { exact: true }).fill('EC1A news readers');
  const count = page.locator('.segment-result__count');
  const countIs = async (text) => {
    try { await eventually(async () => (await count.textContent()) === text, 10_000, text); } catch (e) {
      throw new Error(`expected "${text}", saw "${await count.textContent()}" / ${await page.locator('.segment-result').textContent()}`);
    }
  };
  const c1 = page.getByRole('group', { name: 'Condition 1' });
  assert.equal(await c1.getByLabel('Type of condition').inputValue(), 'consent');
  assert.equal(await c1.getByLabel('Purpose').inputValue(), 'city_news');
  assert.equal(await c1.getByLabel('Channel').inputValue(), 'email');
  // Consent given for city news by email: Alice, Bob, Cara, Eve (Fay withdrew, Dan never gave it).
  await page.getByRole('status').filter({ hasText: '4 people match now.' }).waitFor();

  await page.getByRole('button', { name: 'Add another condition' }).click();
  const c2 = page.getByRole('group', { name: 'Condition 2' });
  assert.equal(await c2.getByLabel('Type of condition').evaluate((el) => el === document.activeElement), true, 'focus moves to the new condition');
  assert.equal(await c2.getByLabel('Detail').inputValue(), 'postcode');
  assert.equal(await c2.getByLabel('Test').inputValue(), 'starts_with');
  await c2.getByLabel('Value').fill('EC1A');
  await countIs('3 people match now.');
  for (const name of ['Alice Able', 'Bob Baker', 'Cara Cole']) await page.locator('.segment-sample').getByText(name).waitFor();
  assert.equal(await page.locator('.segment-sample li').count(), 3);
  // The JSON for experts follows the form.
  await page.getByText('Show the filter as JSON (for experts)').click();
  const json = JSON.parse(await page.locator('details pre').textContent());
  assert.deepEqual(json, { and: [
    { consent: { purpose: 'city_news', channel: 'email', state: 'granted' } },
    { field: { name: 'postcode', op: 'starts_with', value: 'EC1A' } },
  ] });

  // "Any of" instead of "all of" widens it to all six; back to "all of".
  await page.getByLabel('People who meet any of the conditions').check();
  await countIs('6 people match now.');
  await page.getByLabel('People who meet all of the conditions').check();
  await countIs('3 people match now.');

  // An API fault is shown against the right condition and field.
  await c2.getByLabel('Value').fill('E'.repeat(201));
  await countIs('These conditions cannot be counted yet.');
  await page.locator('.segment-result').getByText(/^Condition 2:/).waitFor();
  await page.getByRole('button', { name: 'Save segment' }).click();
  await page.locator('.error-summary').getByRole('link', { name: /^Condition 2:/ }).waitFor();
  assert.equal(await c2.getByLabel('Value').getAttribute('aria-invalid'), 'true');
  await checkPage(page, 'segment-builder-error');
  await c2.getByLabel('Value').fill('ec1a');
  await countIs('3 people match now.');
  await checkPage(page, 'segment-builder');
  await page.getByRole('button', { name: 'Save segment' }).click();
  await page.getByRole('heading', { level: 1, name: 'EC1A news readers' }).waitFor();
  await page.getByText('Segment “EC1A news readers” saved.').waitFor();
  await page.getByText('3 people match now.').waitFor();
  const segmentId = new URL(page.url()).hash.split('/')[2];

  // Changed while no campaign uses it past a draft: the saved conditions come back in the builder.
  await page.getByRole('link', { name: 'Change it' }).click();
  await page.getByRole('heading', { level: 1, name: 'Change “EC1A news readers”' }).waitFor();
  const e1 = page.getByRole('group', { name: 'Condition 1' });
  const e2 = page.getByRole('group', { name: 'Condition 2' });
  assert.equal(await e1.getByLabel('Type of condition').inputValue(), 'consent');
  assert.equal(await e1.getByLabel('Purpose').inputValue(), 'city_news');
  assert.equal(await e1.getByLabel('Consent', { exact: true }).inputValue(), 'granted');
  assert.equal(await e2.getByLabel('Type of condition').inputValue(), 'field');
  assert.equal(await e2.getByLabel('Detail').inputValue(), 'postcode');
  assert.equal(await e2.getByLabel('Test').inputValue(), 'starts_with');
  assert.equal((await e2.getByLabel('Value').inputValue()).toUpperCase(), 'EC1A');
  assert.equal(await page.getByLabel('People who meet all of the conditions').isChecked(), true);
  await countIs('3 people match now.');
  // Leaving out EC1A: of the four with consent, only Eve.
  await e2.getByLabel('Leave out the people who meet this condition instead').check();
  await countIs('1 person matches now.');
  await checkPage(page, 'segment-change');
  await e2.getByLabel('Leave out the people who meet this condition instead').uncheck();
  await countIs('3 people match now.');
  await page.getByLabel('Description (optional)').fill('City news readers in EC1A');
  await page.getByRole('button', { name: 'Save changes' }).click();
  await page.getByRole('heading', { level: 1, name: 'EC1A news readers' }).waitFor();
  await page.getByText('City news readers in EC1A', { exact: true }).waitFor();
  await page.getByText('3 people match now.').waitFor();

  // ----- the template editor -----
  await page.goto('/#/templates/new');
  await page.getByRole('heading', { level: 1, name: 'Write a template' }).waitFor();
  await page.getByText('{{ unsubscribe_url }}', { exact: true }).first().waitFor(); // the variables are listed
  await page.getByLabel('Name', { exact: true }).fill('City news, spring');
  await page.getByLabel('Subject').fill('News for {{ given_name | default: "you" }}');
  await page.getByLabel('Plain text body').fill('Dear {{ given_name }},\n\nThe spring fair opens on Saturday.\n\nStop these emails: {{ unsubscribe_url }}\n');
  await page.getByLabel('HTML body').fill('<p>Dear {{ given_name }},</p>\n<p>The spring fair opens on Saturday.</p>\n');
  await page.getByRole('button', { name: 'Save template' }).click();
  // The API requires the unsubscribe link: the error is linked to the HTML body.
  await page.locator('.error-summary').getByRole('link', { name: /unsubscribe link/ }).click();
  assert.equal(await page.getByLabel('HTML body').evaluate((el) => el === document.activeElement), true);
  await checkPage(page, 'template-editor-error');
  await page.getByLabel('HTML body').fill('<p>Dear {{ given_name }},</p>\n<p>The spring fair opens on Saturday.</p>\n<p><a href="{{ unsubscribe_url }}">Stop these emails</a></p>\n');
  await page.getByRole('button', { name: 'Save template' }).click();
  await page.getByRole('heading', { level: 1, name: 'City news, spring' }).waitFor();
  const templateId = new URL(page.url()).hash.split('/')[2];

  // Changed while no campaign uses it past a draft.
  await page.getByRole('link', { name: 'Change it' }).click();
  await page.getByRole('heading', { level: 1, name: 'Change “City news, spring”' }).waitFor();
  assert.equal(await page.getByLabel('Subject').inputValue(), 'News for {{ given_name | default: "you" }}');
  await page.getByLabel('Subject').fill('Spring news for {{ given_name | default: "you" }}');
  await page.getByRole('button', { name: 'Save changes' }).click();
  await page.getByRole('heading', { level: 1, name: 'City news, spring' }).waitFor();
  await page.getByText('Spring news for {{ given_name | default: "you" }}', { exact: true }).waitFor();

  // Preview for a real person: a campaigns manager cannot search people, so they choose from
  // the sample of a segment.
  await page.getByLabel('Choose from the people in a segment').selectOption({ label: 'EC1A news readers' });
  await page.getByRole('button', { name: 'Show people' }).click();
  await page.getByLabel('Bob Baker').check();
  await page.getByLabel('Sender name (optional)').fill('Cllr Ada Member');
  await page.getByRole('button', { name: 'Preview', exact: true }).click();
  const preview = page.locator('.template-preview');
  await preview.getByText('Spring news for Bob', { exact: true }).waitFor();
  await preview.locator('pre').first().filter({ hasText: 'Dear Bob,' }).waitFor();
  await preview.locator('pre').nth(1).filter({ hasText: '<p>Dear Bob,</p>' }).waitFor();
  await checkPage(page, 'template-preview');

  // ----- the campaign -----
  await page.getByRole('link', { name: 'Create a campaign with this template' }).click();
  await page.getByRole('heading', { level: 1, name: 'Create a campaign' }).waitFor();
  assert.equal(await page.getByLabel('Template (what it says)').inputValue() !== '', true, 'the template is chosen');
  await page.getByRole('button', { name: 'Save as a draft' }).click();
  await page.locator('.error-summary').getByRole('link', { name: 'Enter a name.' }).waitFor();
  await page.getByLabel('Name', { exact: true }).fill('Spring fair');
  await page.getByLabel('Purpose').selectOption('city_news');
  await page.getByLabel('Department sending it').selectOption('EVENTS');
  await page.getByLabel('Segment (who gets it)').selectOption({ label: 'EC1A news readers' });
  await page.getByLabel('Sender name').fill('Cllr Ada Member');
  await page.getByRole('button', { name: 'Save as a draft' }).click();
  await page.getByRole('heading', { level: 1, name: 'Spring fair' }).waitFor();
  await page.locator('.summary-list .tag').getByText('Draft', { exact: true }).waitFor();

  // A test to myself.
  await page.getByRole('button', { name: 'Send a test' }).click();
  await page.getByText('A test email has been sent to campaigns@example.org.').waitFor();
  const test = await eventually(() => fx.svc.smtp.messages.find((m) => /\[TEST\]/.test(header(m.data, 'Subject') || '')), 10_000, 'the test email');
  assert.deepEqual(test.to.map(address), ['campaigns@example.org']);
  await checkPage(page, 'campaign-draft');

  // Approve (three people: the author may), then start after a confirmation with the count.
  await page.getByRole('button', { name: 'Approve this campaign' }).click();
  await page.getByText('The campaign has been approved.', { exact: false }).waitFor();
  await page.locator('.summary-list .tag').getByText('Approved', { exact: true }).waitFor();
  await page.getByRole('button', { name: 'Start sending' }).click();
  await page.getByRole('heading', { name: 'Are you sure you want to start sending?' }).waitFor();
  await page.getByText('The email will be queued for 3 people in the segment “EC1A news readers” now.').waitFor();
  await checkPage(page, 'campaign-confirm-start');
  await page.getByRole('button', { name: 'Yes, send to 3 people' }).click();
  await page.getByText('Sending has started.', { exact: false }).waitFor();
  // The page refreshes its numbers by itself until everything is sent.
  await page.getByText('Sending has finished: 3 emails sent.').waitFor({ timeout: 30_000 });
  await page.locator('.summary-list .tag').getByText('Sent', { exact: true }).waitFor();
  assert.equal(await page.locator('[data-stat="Sent"] .stat__value').textContent(), '3');
  assert.equal(await page.locator('[data-stat="Queued"] .stat__value').textContent(), '0');
  await checkPage(page, 'campaign-sent');

  // Exactly the consented people of the segment were emailed, each with the unsubscribe headers
  // and the rendered body.
  const sent = fx.svc.smtp.messages.filter((m) => !/\[TEST\]/.test(header(m.data, 'Subject') || ''));
  assert.deepEqual(sent.flatMap((m) => m.to.map(address)).sort(), ['alice@example.net', 'bob@example.net', 'cara@example.net']);
  for (const m of sent) {
    const to = address(m.to[0]);
    const given = to[0].toUpperCase() + to.slice(1, to.indexOf('@'));
    assert.match(header(m.data, 'List-Unsubscribe'), new RegExp(`^<${fx.svc.url}/u/[^>]+>`));
    assert.equal(header(m.data, 'List-Unsubscribe-Post'), 'List-Unsubscribe=One-Click');
    assert.equal(header(m.data, 'Subject'), `Spring news for ${given}`);
    assert.match(header(m.data, 'From'), /Cllr Ada Member/);
    const parts = bodies(m.data);
    const text = parts.find((p) => p.type === 'text/plain');
    const html = parts.find((p) => p.type === 'text/html');
    assert.match(text.body, new RegExp(`Dear ${given},\\s+The spring fair opens on Saturday\\.`));
    assert.match(text.body, new RegExp(`Stop these emails: ${fx.svc.url}/u/`));
    assert.match(html.body, new RegExp(`<p>Dear ${given},</p>`));
    assert.match(html.body, new RegExp(`<a href="${fx.svc.url}/u/[^"]+">Stop these emails</a>`));
  }

  // What was sent can no longer change.
  await page.goto(`/#/templates/${templateId}/edit`);
  await page.getByRole('button', { name: 'Save changes' }).click();
  const refused = page.locator('.error-summary');
  await refused.getByText('There is a problem').waitFor();
  await refused.getByText(/can no longer change: save a new template instead/).waitFor();
  await page.goto(`/#/segments/${segmentId}/edit`);
  await page.getByRole('heading', { level: 1, name: 'Change “EC1A news readers”' }).waitFor();
  await page.getByRole('button', { name: 'Save changes' }).click();
  await refused.getByText(/can no longer change: save a new segment instead/).waitFor();
  // A copy can be changed: it starts with the same conditions.
  await page.goto(`/#/segments/${segmentId}`);
  await page.getByRole('link', { name: 'Make a copy' }).click();
  await page.getByRole('heading', { level: 1, name: 'Create a segment' }).waitFor();
  assert.equal(await page.getByLabel('Name', { exact: true }).inputValue(), 'Copy of EC1A news readers');
  assert.equal((await page.getByRole('group', { name: 'Condition 2' }).getByLabel('Value').inputValue()).toUpperCase(), 'EC1A');
  await countIs('3 people match now.');

  // The list shows it as sent.
  await page.getByRole('link', { name: 'Campaigns', exact: true }).first().click();
  const row = page.getByRole('row').filter({ hasText: 'Spring fair' });
  await row.getByText('Sent', { exact: true }).waitFor();
  await checkPage(page, 'campaigns-list');
  assert.deepEqual(page.problems, []);
});

test('a filter written through the API that the builder cannot show keeps its conditions when the segment is renamed or copied', async () => {
  const manager = await apiAs(fx.svc, fx.users.campaigns.email);
  const definition = { or: [
    { and: [{ consent: { purpose: 'city_news', channel: 'email' } }, { field: { name: 'postcode', op: 'starts_with', value: 'EC1A' } }] },
    { engaged: { since: '2020-01-01' } },
  ] };
  const seg = await manager('POST', '/api/v1/segments', { name: 'Nested', definition });
  const page = await newPage(fx.svc);
  await signIn(page, fx.users.campaigns);
  await page.goto(`/#/segments/${seg.id}/edit`);
  await page.getByRole('heading', { level: 1, name: 'Change “Nested”' }).waitFor();
  await page.getByText(/written through the API in a form this page cannot show, so they stay as they are/).waitFor();
  assert.equal(await page.getByRole('group', { name: 'Condition 1' }).count(), 0);
  const { count } = await manager('POST', '/api/v1/segments/preview', { definition });
  await page.locator('.segment-result__count').getByText(`${count} ${count === 1 ? 'person matches' : 'people match'} now.`).waitFor();
  await checkPage(page, 'segment-change-api-filter');
  await page.getByLabel('Name', { exact: true }).fill('Nested, renamed');
  await page.getByRole('button', { name: 'Save changes' }).click();
  await page.getByRole('heading', { level: 1, name: 'Nested, renamed' }).waitFor();
  const after = await manager('GET', `/api/v1/segments/${seg.id}`);
  assert.deepEqual(after.definition, seg.definition, 'the filter as it was saved (the API fills in defaults)');
  assert.equal(after.version, seg.version + 1);

  // Someone else's change in between is not overwritten.
  await page.getByRole('link', { name: 'Change it' }).click();
  await page.getByRole('heading', { level: 1, name: 'Change “Nested, renamed”' }).waitFor();
  await manager('PATCH', `/api/v1/segments/${seg.id}`, { description: 'Changed elsewhere' });
  await page.getByLabel('Name', { exact: true }).fill('Mine');
  await page.getByRole('button', { name: 'Save changes' }).click();
  await page.locator('.error-summary').getByText('Someone else changed this first').waitFor();
  assert.equal((await manager('GET', `/api/v1/segments/${seg.id}`)).name, 'Nested, renamed');

  // A copy keeps the filter as it is.
  await page.goto(`/#/segments/new?from=${seg.id}`);
  await page.getByText(/the copy keeps them as they are/).waitFor();
  await page.getByRole('button', { name: 'Save segment' }).click();
  await page.getByRole('heading', { level: 1, name: 'Copy of Nested, renamed' }).waitFor();
  const copyId = new URL(page.url()).hash.split('/')[2];
  assert.deepEqual((await manager('GET', `/api/v1/segments/${copyId}`)).definition, seg.definition);
  assert.deepEqual(page.problems, []);
});

test('above the approval threshold the author is told why they cannot approve, and may cancel', async () => {
  const manager = await apiAs(fx.svc, fx.users.campaigns.email);
  const seg = await manager('POST', '/api/v1/segments', { name: 'All city news readers', definition: { consent: { purpose: 'city_news', channel: 'email' } } });
  const tpl = await manager('POST', '/api/v1/templates', { name: 'Short', subject: 'Hello', text_body: 'Hi {{ unsubscribe_url }}', html_body: '<p>Hi <a href="{{ unsubscribe_url }}">stop</a></p>' });
  const c = await manager('POST', '/api/v1/campaigns', { name: 'Everyone', segment: seg.id, template: tpl.id, purpose: 'city_news', department: 'EVENTS', sender_name: 'The City' });
  const page = await newPage(fx.svc);
  await signIn(page, fx.users.campaigns);
  await page.goto(`/#/campaigns/${c.id}`);
  await page.getByRole('heading', { level: 1, name: 'Everyone' }).waitFor();
  await page.getByRole('button', { name: 'Approve this campaign' }).click();
  const summary = page.locator('.error-summary');
  await summary.getByText('There is a problem').waitFor();
  await summary.getByText(/would reach 4 people, more than 3: someone other than its author must approve it/).waitFor();
  await checkPage(page, 'campaign-approve-refused');

  // Someone else (the administrator) approves it; the author then cancels it instead.
  await fx.admin('POST', `/api/v1/campaigns/${c.id}/approve`, {});
  await page.reload();
  await page.locator('.summary-list .tag').getByText('Approved', { exact: true }).waitFor();
  await page.getByRole('button', { name: 'Cancel campaign' }).click();
  await page.getByRole('button', { name: 'Yes, cancel the campaign' }).click();
  await page.getByText('The campaign has been cancelled.').waitFor();
  await page.locator('.summary-list .tag').getByText('Cancelled', { exact: true }).waitFor();
  assert.equal(await page.getByRole('button', { name: 'Start sending' }).count(), 0);
  assert.deepEqual(page.problems, []);
});

test('every kind of condition makes a valid filter; an administrator previews by searching people', async () => {
  const page = await newPage(fx.svc);
  await signIn(page, fx.users.admin);
  await page.goto('/#/segments/new');
  await page.getByRole('heading', { level: 1, name: 'Create a segment' }).waitFor();
  const count = page.locator('.segment-result__count');
  const json = async () => JSON.parse(await page.locator('details pre').textContent());
  const settle = async (text) => eventually(async () => (await count.textContent()) === text, 10_000, text);
  await settle('4 people match now.');
  const c1 = page.getByRole('group', { name: 'Condition 1' });

  // One condition at a time, each checked against the API through the live count.
  await c1.getByLabel('Type of condition').selectOption('department');
  await c1.getByLabel('Department').selectOption('VOLUNTEERING');
  await settle('1 person matches now.');
  await c1.getByLabel('Leave out the people who meet this condition instead').check();
  await settle('5 people match now.');
  assert.deepEqual(await json(), { and: [{ not: { department: 'VOLUNTEERING' } }] });
  await c1.getByLabel('Leave out the people who meet this condition instead').uncheck();

  await c1.getByLabel('Type of condition').selectOption('tag');
  await settle('Finish the conditions to see who matches.');
  await page.locator('.segment-result').getByText('Condition 1: enter tag.').waitFor();
  await c1.getByLabel('Tag').fill('vip');
  await settle('0 people match now.');

  await c1.getByLabel('Type of condition').selectOption('engaged');
  await c1.getByLabel('What they did').selectOption('attended');
  await c1.getByLabel('In the last (days)').fill('30');
  await settle('0 people match now.');
  assert.deepEqual(await json(), { and: [{ engaged: { action: 'attended', within_days: 30, min_count: 1 } }] });
  await c1.getByLabel('In the last (days)').fill('0');
  await page.locator('.segment-result').getByText('Condition 1: In the last (days) must be a whole number from 1 to 3650.').waitFor();

  await c1.getByLabel('Type of condition').selectOption('score');
  await c1.getByLabel('Test').selectOption('lte');
  await c1.getByLabel('Value (0 to 5)').fill('5');
  await settle('6 people match now.');
  assert.deepEqual(await json(), { and: [{ score: { name: 'recency', op: 'lte', value: 5 } }] });

  await c1.getByLabel('Type of condition').selectOption('field');
  await c1.getByLabel('Detail').selectOption('email_domain');
  await c1.getByLabel('Test').selectOption('in');
  await c1.getByLabel('Value').fill('example.net, example.org');
  await settle('6 people match now.');
  await c1.getByLabel('Detail').selectOption('created_at');
  assert.equal(await c1.getByLabel('Test').inputValue(), 'eq', 'date fields have their own tests');
  await c1.getByLabel('Test').selectOption('is_set');
  assert.equal(await c1.getByLabel('Value').count(), 0, 'no value for "is recorded"');
  await settle('6 people match now.');

  // Two conditions, then remove the first.
  await page.getByRole('button', { name: 'Add another condition' }).click();
  const c2 = page.getByRole('group', { name: 'Condition 2' });
  await c2.getByLabel('Value').fill('SE1');
  await settle('1 person matches now.');
  await c1.getByRole('button', { name: 'Remove condition 1' }).click();
  assert.equal(await page.getByRole('button', { name: 'Add another condition' }).evaluate((el) => el === document.activeElement), true);
  assert.equal(await page.getByRole('group', { name: 'Condition 2' }).count(), 0, 'renumbered');
  assert.deepEqual(await json(), { and: [{ field: { name: 'postcode', op: 'starts_with', value: 'SE1' } }] });
  await page.getByRole('button', { name: 'Save segment' }).click();
  await page.locator('.error-summary').getByRole('link', { name: 'Enter a name for the segment.' }).waitFor();
  await page.getByLabel('Name', { exact: true }).fill('South of the river');
  await page.getByRole('button', { name: 'Save segment' }).click();
  await page.getByRole('heading', { level: 1, name: 'South of the river' }).waitFor();
  await page.getByText('postcode starts with “SE1”').waitFor();

  // With people_read the preview finds a person by search.
  const tpl = await fx.admin('POST', '/api/v1/templates', { name: 'Hello', subject: 'Hello {{ given_name }}', text_body: 'Dear {{ given_name }}, {{ unsubscribe_url }}', html_body: '<p>Dear {{ given_name }}, <a href="{{ unsubscribe_url }}">stop</a></p>' });
  await page.goto(`/#/templates/${tpl.id}`);
  await page.getByLabel('Find a person').fill('eve@example.net');
  await page.getByLabel('Find a person').press('Enter');
  await page.getByLabel('Eve Evans (eve@example.net)').check();
  await page.getByRole('button', { name: 'Preview', exact: true }).click();
  await page.locator('.template-preview pre').first().filter({ hasText: 'Dear Eve,' }).waitFor();
  // An unknown person id is reported against the person field.
  await page.getByLabel('Or enter their person ID').fill('0123456789abcdef0123456789abcdef');
  await page.getByRole('button', { name: 'Preview', exact: true }).click();
  await page.locator('.error-summary').getByRole('link', { name: 'There is no such person, or you cannot see them.' }).click();
  assert.equal(await page.getByLabel('Or enter their person ID').evaluate((el) => el === document.activeElement), true);
  await checkPage(page, 'template-preview-search');
  assert.deepEqual(page.problems, []);
});
