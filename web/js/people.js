// People screens: search, the person page (golden record with provenance, consent, timeline,
// scores, actions), create and edit (optimistic concurrency), record consent, log engagement.
// Personal data never goes into the URL: only person ids do; the search text stays in memory.
import {
  h, api, ApiError, session, can, route, navigate, page, field, select, choices, button, form,
  showErrors, summaryList, tag, section, notice, link, fmtDate, fmtDateTime, debounce, loading,
  personActions, departments, purposes, replace,
} from './core.js';

// ---------- vocabulary ----------

const CHANNELS = [['email', 'Email'], ['sms', 'Text message'], ['post', 'Post'], ['phone', 'Phone call']];
const STATUSES = [['granted', 'Granted', 'They agreed.'], ['withdrawn', 'Withdrawn', 'They had agreed and no longer do.'], ['refused', 'Refused', 'They were asked and said no.']];
const BASES = [['consent', 'Consent'], ['contract', 'Contract'], ['legal_obligation', 'Legal obligation'], ['vital_interests', 'Vital interests'], ['public_task', 'Public task'], ['legitimate_interests', 'Legitimate interests']];
const METHODS = [['paper_form', 'Paper form'], ['phone_call', 'Phone call'], ['in_person', 'In person'], ['email', 'Email'], ['web_checkbox', 'Tick box on a website'], ['soft_opt_in', 'Soft opt-in (existing customer)']];
const SOURCES = [['staff', 'Recorded by staff'], ['web_form', 'Web form'], ['import', 'Import'], ['api', 'Another system']];
const PHONE_LABELS = [['mobile', 'Mobile'], ['home', 'Home'], ['work', 'Work'], ['other', 'Other']];
const ACTIONS = [['invited', 'Invited'], ['registered', 'Registered'], ['attended', 'Attended'], ['no_show', 'Did not attend'], ['cancelled', 'Cancelled'], ['volunteered', 'Volunteered'], ['responded', 'Responded'], ['sent', 'Sent a message'], ['delivered', 'Message delivered'], ['opened', 'Opened a message'], ['clicked', 'Clicked a link'], ['bounced', 'Message bounced'], ['unsubscribed', 'Unsubscribed'], ['complained', 'Complained']];
const STATE_TAGS = { granted: 'green', withdrawn: 'red', refused: 'red', expired: 'grey' };

const labelOf = (list, code) => (list.find(([c]) => c === code) || [code, code])[1];
const plural = (n, one, many) => `${n} ${n === 1 ? one : many}`;
const enc = encodeURIComponent;
const personPath = (id) => `/api/v1/people/${enc(id)}`;

let kindsCache = null;
async function kinds() {
  if (!kindsCache) kindsCache = await api('GET', '/api/v1/activity-kinds');
  return kindsCache;
}

/** Department codes a department editor is limited to; null when the user sees every one. */
function scope() {
  const u = session.user;
  return u.roles.length && u.roles.every((r) => r === 'department_editor') ? u.departments : null;
}

async function myDepartments() {
  const sc = scope();
  return (await departments()).filter((d) => !sc || sc.includes(d.code));
}

async function deptNames() {
  const m = new Map();
  try { (await departments()).forEach((d) => m.set(d.code, d.name)); } catch (e) { /* codes will do */ }
  return m;
}

// ---------- display helpers ----------

export function personName(p) {
  const n = [p.given_name, p.family_name].filter(Boolean).join(' ');
  return n || p.organisation || (p.emails[0] && p.emails[0].address) || 'Unnamed person';
}

function sourceText(pv) {
  const ref = pv.reference || '';
  if (pv.source === 'staff') return ref === `user:${session.user.id}` ? 'entered by you' : 'entered by staff';
  if (pv.source === 'import') return `imported (batch ${ref.replace(/^import:/, '')})`;
  return `from ${pv.source.replace(/_/g, ' ')}${ref ? ` (${ref})` : ''}`;
}

/** Where a value came from, compactly: "Source: entered by you, 3 March 2026, 14:05". */
const prov = (pv) => (pv ? small(`Source: ${sourceText(pv)}, ${fmtDateTime(pv.set_at)}`) : null);

function addressLines(a) {
  return [a.line1, a.line2, a.line3, a.town, a.county, a.postcode, a.country !== 'GB' ? a.country : null].filter(Boolean);
}

function valueList(items, render) {
  if (!items.length) return null;
  return h('ul', { class: 'value-list' }, items.map((x) => h('li', {}, render(x))));
}

const td = (...c) => h('td', {}, ...c);
const small = (t) => (t ? h('span', { class: 'provenance' }, t) : null);

/** A table: caption (visually hidden when `hide`), column headings, body (rows or a tbody). */
function grid(caption, cols, body, o = {}) {
  return h('div', { class: 'table-wrap' }, h('table', { class: ['table', o.cls] },
    h('caption', { class: o.hide ? 'visually-hidden' : 'table__caption' }, caption),
    h('thead', {}, h('tr', {}, cols.map((t) => h('th', { scope: 'col' }, t)))),
    body instanceof Node ? body : h('tbody', {}, body)));
}

const primaryTag = (x) => (x.primary ? [' ', tag('Main', 'blue')] : null);

/** Turn an API error into one the form shows well: plain detail, fields renamed to inputs. */
function tidy(e, rename) {
  if (!(e instanceof ApiError) || !e.problem) return e;
  const p = { ...e.problem };
  if (Array.isArray(p.errors) && p.errors.length) {
    p.errors = p.errors.map((x) => ({ ...x, field: rename ? rename(x.field || '') : x.field, message: String(x.message || '').replace(/`/g, '') }));
    if (e.status === 422 || e.status === 400) { p.code = 'validation_failed'; p.detail = 'Check the fields below.'; }
  }
  return new ApiError(e.status, p);
}

/** Client-side checks: [[failed, field, message], …] → throws the errors the form shows. */
function check(rules) {
  const errors = rules.filter(([bad]) => bad).map(([, f, message]) => ({ field: f, message }));
  if (errors.length) throw new ApiError(422, { status: 422, code: 'validation_failed', detail: 'Check the fields below.', errors });
}

function localNow() {
  const d = new Date();
  d.setMinutes(d.getMinutes() - d.getTimezoneOffset());
  return d.toISOString().slice(0, 16);
}

const toIso = (v) => (v ? new Date(v).toISOString() : undefined);

// ---------- loading a person ----------

const BACK = { back: ['/people', 'Back to search'] };

/** Load a person, or render the page that explains why not (and return null). */
async function loadPerson(id, current) {
  let res;
  try {
    res = await api('GET', personPath(id), { as: 'response' });
  } catch (e) {
    const status = e instanceof ApiError ? e.status : 0;
    if (status !== 404 && status !== 410) throw e;
    if (!current()) return null;
    if (status === 404) {
      page('Person not found', BACK, h('p', {}, 'There is no such person, or their record is not one you have access to.'),
        h('p', {}, link('/people', 'Search for a person')));
    } else {
      page('This person’s record has been erased', BACK,
        h('p', {}, 'Their personal data was erased under data protection law. Nothing more can be shown or recorded for them.'),
        h('p', {}, 'If they contact the City again, add them as a new person.'));
    }
    return null;
  }
  const person = await res.json();
  if (!current()) return null;
  if (res.redirected || person.id !== id) {
    page('This record has been merged', BACK,
      h('p', {}, 'It was merged into another record, which now holds all of its details, consent and history.'),
      h('p', {}, link(`/people/${person.id}`, `Go to the record it was merged into: ${personName(person)}`)));
    return null;
  }
  return person;
}

/** Show "Loading…" in place of the old page without rendering a new one, so a notice set for
 * the next page (e.g. "Consent recorded") is kept for it. */
function busy() {
  replace(document.getElementById('main'), loading());
}

const settle = (promise) => promise.then((value) => ({ value }), (error) => ({ error }));

function failed(what, e) {
  if (e instanceof ApiError && e.status === 401) return null;
  return h('p', { class: 'muted' }, `The ${what} could not be loaded: ${e.message}`);
}

// ---------- search ----------

let lastQuery = '';

route('/people', (params, current) => {
  const status = h('p', { class: 'people-search__status', role: 'status' });
  const results = h('div', { class: 'people-results', id: 'people-results' });
  const box = field({ name: 'q', label: 'Search for a person', hint: 'Type a name, email address, phone number or postcode.', type: 'search', value: lastQuery, width: 'long', spellcheck: false, autocomplete: 'off' });
  const input = box.querySelector('input');
  input.setAttribute('aria-controls', 'people-results');
  let seq = 0;
  let names = new Map();

  async function run() {
    const mine = ++seq;
    const q = input.value.trim();
    lastQuery = input.value;
    if (!q) { replace(results); results.removeAttribute('data-results-for'); status.textContent = ''; return; }
    let found;
    try {
      found = (await api('POST', '/api/v1/people/search', { body: { q, limit: 20 } })).items;
    } catch (e) {
      if (mine !== seq || !current() || (e instanceof ApiError && e.status === 401)) return;
      replace(results);
      results.removeAttribute('data-results-for');
      status.textContent = e instanceof ApiError && e.problem.errors && e.problem.errors.length ? e.problem.errors[0].message : e.message;
      return;
    }
    if (mine !== seq || !current()) return;
    status.textContent = found.length
      ? `${plural(found.length, 'person', 'people')} found${found.length === 20 ? '. Showing the first 20: type more to narrow the search' : ''}.`
      : 'No one found. Check the spelling, or try an email address, phone number or postcode.';
    replace(results, found.length ? resultsTable(found, names) : null);
    // The query these results are for (tests and the benchmark wait for it).
    results.setAttribute('data-results-for', q);
  }
  const later = debounce(run, 150);
  input.addEventListener('input', later);
  const f = h('form', { class: 'people-search', role: 'search', novalidate: true, on: { submit: (ev) => { ev.preventDefault(); run(); } } }, box);
  page('Find a person', f, status, results,
    can('people_write') ? h('p', { class: 'people-search__add' }, 'Not found? ', link('/people/new', 'Add a new person')) : null);
  deptNames().then((m) => { names = m; if (lastQuery.trim() && current()) run(); });
}, { permission: 'people_read' });

function resultsTable(items, names) {
  return grid('People found', ['Name', 'Email address', 'Postcode', 'Departments'], items.map((p) => h('tr', {},
    td(link(`/people/${p.id}`, personName(p)), p.status === 'restricted' ? [' ', tag('Restricted', 'yellow')] : null),
    td(p.email || ''),
    td(p.postcode || ''),
    td(p.departments.map((d) => names.get(d) || d).join(', ')))), { hide: true });
}

// ---------- the person page ----------

// '/people/new' first: '/people/:id' would match it too.
route('/people/new', async (params, current) => {
  busy();
  const [depts, all] = await Promise.all([myDepartments(), departments()]);
  if (!current()) return;
  page('Add a person', { back: ['/people', 'Back to search'] },
    h('p', {}, 'Give at least a name, an email address or a phone number.'),
    form([...personFields(EMPTY, depts, all), h('div', { class: 'button-group' }, button('Add person'), link('/people', 'Cancel'))], async (v) => {
      const { body, rename } = personBody(v);
      for (const k of Object.keys(body)) if (body[k] === null) delete body[k];
      let p;
      try {
        p = await api('POST', '/api/v1/people', { body });
      } catch (e) { throw tidy(e, rename); }
      notice(`${personName(p)} has been added.`);
      navigate(`/people/${p.id}`);
    }));
}, { permission: 'people_write' });

route('/people/:id', async ({ id }, current) => {
  busy();
  // Lists that are not about this person start at once; the person's own requests once the
  // record has loaded (nothing is asked about a merged or erased record).
  const namesP = deptNames();
  const kindsP = settle(kinds());
  const purposesP = settle(purposes());
  const p = await loadPerson(id, current);
  if (!p) return;
  const cons = settle(api('GET', `${personPath(id)}/consents`));
  const tl = settle(api('GET', `${personPath(id)}/timeline`, { query: { limit: 20 } }));
  const scores = settle(api('GET', `${personPath(id)}/scores`));
  const dups = can('people_merge') ? settle(api('GET', '/api/v1/matches', { query: { person: id, status: 'pending', limit: DUPLICATES_LIMIT } })) : null;

  // The heading and the record first; each other section fills in as its request returns.
  const detailsBox = h('div', {}, details(p, new Map()));
  const slot = (what) => h('div', { class: 'person-section__body' }, loading(`Loading the ${what}…`));
  const dupsBox = dups ? slot('possible duplicates') : null;
  const consBox = slot('consent');
  const tlBox = slot('timeline');
  const scoresBox = slot('engagement scores');
  page(personName(p), { back: ['/people', 'Back to search'], caption: 'Person' },
    p.status === 'restricted' ? h('div', { class: 'inset person-status' }, tag('Restricted', 'yellow'), ' ',
      'Processing of this person’s data is restricted. Do not contact them or use their data.') : null,
    actionsSection(p),
    section('Personal details', detailsBox),
    section('Contact details', contacts(p)),
    dupsBox ? section('Possible duplicates', dupsBox) : null,
    section('Consent', consBox),
    section('Timeline', tlBox),
    section('Engagement scores', scoresBox),
    section('Where this record came from', sourcesBlock(p)));

  const fill = async (box, what, work) => {
    let content;
    try {
      content = await work();
    } catch (e) {
      content = failed(what, e);
    }
    if (current()) replace(box, content);
  };
  await Promise.all([
    namesP.then((m) => { if (current() && p.departments.length) replace(detailsBox, details(p, m)); }),
    dupsBox ? fill(dupsBox, 'possible duplicates', async () => {
      const r = await dups;
      if (r.error) throw r.error;
      return duplicatesBlock(p, r.value);
    }) : null,
    fill(consBox, 'consent', async () => {
      const [c, ps] = await Promise.all([cons, purposesP]);
      if (c.error) throw c.error;
      return consentBlock(c.value, new Map((ps.value || []).map((x) => [x.code, x.description])));
    }),
    fill(tlBox, 'timeline', async () => {
      const [t, m, ks] = await Promise.all([tl, namesP, kindsP]);
      if (t.error) throw t.error;
      return timelineBlock(id, t.value, m, new Map((ks.value || []).map((k) => [k.code, k.label])));
    }),
    fill(scoresBox, 'scores', async () => {
      const s = await scores;
      if (s.error) throw s.error;
      return scoresBlock(s.value);
    }),
  ]);
}, { permission: 'people_read' });

const DUPLICATES_LIMIT = 50;
const likelihood = (x) => (x >= 0.999 ? 'over 99.9%' : `${(x * 100).toFixed(1)}%`);

/** The pending proposals involving a person: the other record, the likelihood, a link to
 * compare the two in the review screen. */
function duplicatesBlock(p, res) {
  if (!res.items.length) return h('p', { class: 'muted' }, 'No possible duplicates.');
  const rows = res.items.map((m) => {
    const other = m.a && m.a.id === p.id ? m.b : m.b && m.b.id === p.id ? m.a : (m.a || m.b);
    const name = other ? personName(other) : 'A record no longer available';
    return h('tr', {},
      td(other ? link(`/people/${other.id}`, name) : h('span', { class: 'muted' }, name)),
      td(`${likelihood(m.probability)} likely to be the same person`),
      td(link(`/review/${m.id}`, ['Compare', h('span', { class: 'visually-hidden' }, ` with ${name}`)])));
  });
  return [
    h('p', {}, 'These records may be the same person entered twice. Compare each pair, then merge them or mark them as not the same person.'),
    grid('Possible duplicates of this person', ['Other record', 'Likelihood', 'Review'], rows, { hide: true, cls: 'person-duplicates' }),
    res.total > res.items.length ? h('p', { class: 'hint' }, `Showing the ${res.items.length} most likely of ${res.total}. `, link('/review', 'See the review queue')) : null,
  ];
}

function actionsSection(p) {
  const own = [['people_write', 'edit', 'Edit details'], ['consent_write', 'consent', 'Record consent'], ['engagement_write', 'engagement', 'Log an engagement']]
    .filter(([perm]) => can(perm)).map(([, path, text]) => link(`/people/${p.id}/${path}`, text, { class: 'button button--secondary' }));
  const extra = [];
  for (const fn of personActions) {
    try { extra.push(fn(p)); } catch (e) { console.warn('A person action failed', e); }
  }
  if (!own.length && !extra.some(Boolean)) return null;
  return h('section', { class: 'section person-actions', 'aria-labelledby': 'person-actions-title' },
    h('h2', { id: 'person-actions-title' }, 'Actions'),
    own.length ? h('div', { class: 'button-group' }, own) : null,
    h('div', { class: 'person-actions__extra' }, extra));
}

function details(p, names) {
  const scalar = (key, label, fmt) => [label, p[key] ? [h('span', {}, fmt ? fmt(p[key]) : p[key]), prov(p.provenance[key])] : null];
  return summaryList([
    scalar('title', 'Title'),
    scalar('given_name', 'Given name'),
    scalar('family_name', 'Family name'),
    scalar('preferred_name', 'Preferred name'),
    scalar('date_of_birth', 'Date of birth', fmtDate),
    scalar('organisation', 'Organisation'),
    ['Tags', p.tags.length ? p.tags.join(', ') : null],
    ['Departments', p.departments.length ? p.departments.map((d) => names.get(d) || d).join(', ') : null],
    ['Status', p.status === 'restricted' ? tag('Restricted', 'yellow') : tag('Active', 'green')],
    ['Record created', fmtDateTime(p.created_at)],
    ['Last changed', fmtDateTime(p.updated_at)],
  ]);
}

function contacts(p) {
  return summaryList([
    ['Email addresses', valueList(p.emails, (e) => [e.address, primaryTag(e), prov(e.provenance)])],
    ['Phone numbers', valueList(p.phones, (x) => [x.number, ` (${labelOf(PHONE_LABELS, x.label).toLowerCase()})`, primaryTag(x), prov(x.provenance)])],
    ['Postal addresses', valueList(p.addresses, (a) => [
      h('span', { class: 'address' }, addressLines(a).map((l, i) => [i ? h('br') : null, l])), primaryTag(a), prov(a.provenance)])],
  ]);
}

function consentBlock(c, purposeNames) {
  const point = (x) => x.contact_point || `Any ${labelOf(CHANNELS, x.channel).toLowerCase()}`;
  const state = (s) => tag(s.charAt(0).toUpperCase() + s.slice(1), STATE_TAGS[s] || 'grey');
  const purpose = (code) => purposeNames.get(code) || code;
  const when = (t, label) => (t ? small(`${label} ${fmtDateTime(t)}`) : null);
  if (!c.history.length) return h('p', { class: 'muted' }, 'No consent has been recorded for this person.');
  return [
    grid('Consent now, by purpose and channel', ['Purpose', 'Channel', 'Applies to', 'State', 'Lawful basis', 'Since'],
      c.state.map((s) => h('tr', {}, td(purpose(s.purpose)), td(labelOf(CHANNELS, s.channel)), td(point(s)),
        td(state(s.status), when(s.expires_at, 'Expires')), td(labelOf(BASES, s.lawful_basis)), td(fmtDateTime(s.captured_at))))),
    grid(`Consent history (${plural(c.history.length, 'event', 'events')}, newest first)`, ['Given', 'Purpose and channel', 'Status', 'How it was recorded'],
      c.history.slice().reverse().map((e) => h('tr', {},
        td(fmtDateTime(e.captured_at)),
        td(`${purpose(e.purpose)}, ${labelOf(CHANNELS, e.channel).toLowerCase()}`, small(e.contact_point)),
        td(state(e.status), small(labelOf(BASES, e.lawful_basis))),
        td(`${labelOf(METHODS, e.capture_method)}, ${labelOf(SOURCES, e.source).toLowerCase()}`, e.source_ref ? ` (${e.source_ref})` : null,
          small(e.wording_version && `Wording version ${e.wording_version}`), small(e.evidence && `Evidence: ${e.evidence}`),
          when(e.expires_at, 'Expires'), when(e.recorded_at, 'Recorded'))))),
  ];
}

function timelineBlock(id, first, names, kindNames) {
  if (!first.items.length) return h('p', { class: 'muted' }, 'Nothing has been recorded yet.');
  const kind = (k) => kindNames.get(k) || k;
  const row = (e) => h('tr', {},
    td(fmtDateTime(e.occurred_at)),
    td(labelOf(ACTIONS, e.action), ': ', e.activity ? e.activity.title : kind(e.kind), small(e.activity && kind(e.kind))),
    td(names.get(e.department) || e.department),
    td([e.hours === null || e.hours === undefined ? null : `${e.hours} hours`, e.response_ref && `Response ${e.response_ref}`, e.detail, `Source: ${e.source}`]
      .filter(Boolean).map((t, i) => (i ? small(t) : h('span', {}, t)))));
  const body = h('tbody', {}, first.items.map(row));
  const status = h('p', { role: 'status', class: 'visually-hidden' });
  let next = first.next_before;
  const more = button('Show more', {
    kind: 'secondary',
    onClick: async () => {
      more.disabled = true;
      try {
        const pg = await api('GET', `${personPath(id)}/timeline`, { query: { limit: 20, before: next } });
        const rows = pg.items.map(row);
        rows.forEach((r) => body.appendChild(r));
        status.textContent = `${plural(rows.length, 'more event', 'more events')} shown.`;
        next = pg.next_before;
        if (rows.length) { rows[0].firstChild.setAttribute('tabindex', '-1'); rows[0].firstChild.focus(); }
      } catch (e) {
        if (!(e instanceof ApiError && e.status === 401)) status.textContent = `More events could not be loaded: ${e.message}`;
      }
      more.disabled = false;
      if (!next) more.remove();
    },
  });
  return [grid('Engagement across departments, newest first', ['When', 'What', 'Department', 'Details'], body, { hide: true, cls: 'timeline' }),
    status, next ? more : null];
}

function scoresBlock(s) {
  return summaryList([
    ['Last took part', s.recency_days === null || s.recency_days === undefined ? 'Never' : s.recency_days === 0 ? 'Today' : `${plural(s.recency_days, 'day', 'days')} ago`],
    ['Times in the last 12 months', String(s.frequency_12m)],
    ['Kinds of activity', String(s.breadth_kinds)],
    ['Departments', String(s.breadth_departments)],
    ['Scores (1 to 5)', `Recency ${s.r_score}, frequency ${s.f_score}, breadth ${s.b_score}`],
  ]);
}

function sourcesBlock(p) {
  const groups = new Map();
  const add = (what, pv) => {
    if (!pv) return;
    const key = `${pv.source}|${pv.reference || ''}`;
    const g = groups.get(key) || { pv, what: [], last: pv.set_at };
    g.what.push(what);
    if (pv.set_at > g.last) g.last = pv.set_at;
    groups.set(key, g);
  };
  const fieldNames = { title: 'title', given_name: 'given name', family_name: 'family name', preferred_name: 'preferred name', date_of_birth: 'date of birth', organisation: 'organisation' };
  Object.entries(p.provenance).forEach(([k, pv]) => add(fieldNames[k] || k, pv));
  p.emails.forEach((e) => add('an email address', e.provenance));
  p.phones.forEach((x) => add('a phone number', x.provenance));
  p.addresses.forEach((a) => add('a postal address', a.provenance));
  if (!groups.size) return h('p', { class: 'muted' }, 'No values have a recorded source.');
  return [
    h('p', {}, 'Each value above shows where it came from. In summary:'),
    h('ul', { class: 'value-list' }, [...groups.values()].map((g) => h('li', {},
      h('strong', {}, sourceText(g.pv).replace(/^./, (c) => c.toUpperCase())), `: ${[...new Set(g.what)].join(', ')}`,
      small(`Last set ${fmtDateTime(g.last)}`)))),
  ];
}

// ---------- create and edit ----------

const LISTS = {
  emails: ['address'],
  phones: ['number', 'label'],
  addresses: ['line1', 'line2', 'line3', 'town', 'county', 'postcode', 'country'],
};

function emailRow(i, e = {}) {
  return field({ name: `emails[${i}].address`, label: i ? `Email address ${i + 1}` : 'Email address', type: 'email', value: e.address, spellcheck: false, autocomplete: 'off', width: 'long' });
}

function phoneRow(i, x = {}) {
  return h('div', { class: 'inline-fields' },
    field({ name: `phones[${i}].number`, label: i ? `Phone number ${i + 1}` : 'Phone number', type: 'tel', value: x.number, width: 'medium', autocomplete: 'off' }),
    select({ name: `phones[${i}].label`, label: 'Kind of number', value: x.label || '', options: [['', 'Work it out from the number'], ...PHONE_LABELS] }));
}

function addressRow(i, a = {}) {
  const f = (k, label, width, hint) => field({ name: `addresses[${i}].${k}`, label, value: a[k], width, hint });
  return h('fieldset', { class: 'fieldset people-address' },
    h('legend', { class: 'legend' }, i ? `Postal address ${i + 1}` : 'Postal address'),
    f('line1', 'Address line 1', 'long'), f('line2', 'Address line 2 (optional)', 'long'), f('line3', 'Address line 3 (optional)', 'long'),
    f('town', 'Town or city', 'medium'), f('county', 'County (optional)', 'medium'), f('postcode', 'Postcode', 'short'),
    field({ name: `addresses[${i}].country`, label: 'Country code', hint: 'Two letters, for example GB.', value: a.country || 'GB', width: 'short' }));
}

/** A list of rows with an "Add another" button. */
function repeating(title, hint, items, make, addText) {
  const rows = h('div', { class: 'people-repeat__rows' }, (items.length ? items : [{}]).map((x, i) => make(i, x)));
  let n = Math.max(items.length, 1);
  const add = button(addText, {
    kind: 'secondary',
    onClick: () => {
      const row = make(n++);
      rows.appendChild(row);
      row.querySelector('input').focus();
    },
  });
  return h('div', { class: 'people-repeat' }, h('h2', {}, title), hint ? h('p', { class: 'hint' }, hint) : null, rows, add);
}

/** The fields of the person form, filled from `p` (empty for a new person). */
function personFields(p, depts, all) {
  const name = (code) => (all.find((d) => d.code === code) || { name: code }).name;
  const options = depts.filter((d) => !p.departments.includes(d.code)).map((d) => [d.code, d.name]);
  const sc = scope();
  const f = (n, label, o = {}) => field({ name: n, label, value: p[n], autocomplete: 'off', ...o });
  return [
    h('h2', {}, 'Name'),
    f('title', 'Title (optional)', { hint: 'For example Dr or Ms.', width: 'short' }),
    f('given_name', 'Given name'),
    f('family_name', 'Family name'),
    f('preferred_name', 'Preferred name (optional)', { hint: 'What they like to be called.' }),
    f('date_of_birth', 'Date of birth (optional)', { type: 'date', width: 'medium' }),
    f('organisation', 'Organisation (optional)'),
    repeating('Email addresses', 'The first is their main address.', p.emails, emailRow, 'Add another email address'),
    repeating('Phone numbers', 'The first is their main number. Write UK numbers with the leading 0.', p.phones, phoneRow, 'Add another phone number'),
    repeating('Postal addresses', 'The first is their main address.', p.addresses, addressRow, 'Add another address'),
    h('h2', {}, 'Other details'),
    field({ name: 'tags', label: 'Tags (optional)', hint: 'Separate tags with commas, for example: vip, livery.', value: p.tags.join(', '), width: 'long' }),
    p.departments.length ? h('p', {}, h('strong', {}, 'Linked to: '), p.departments.map(name).join(', ')) : null,
    options.length ? choices({
      name: 'departments',
      legend: p.departments.length ? 'Also link to (optional)' : 'Departments',
      hint: p.departments.length ? 'Links to departments cannot be removed here.' : 'Which departments this person belongs to.',
      options,
      values: sc && sc.length === 1 && !p.departments.length ? sc : [],
    }) : null,
  ];
}

/** The request body from the form values, and a function that renames API error paths
 * (indices of the rows sent) back to the form's inputs. */
function personBody(v) {
  const maps = {};
  const lists = {};
  for (const [name, keys] of Object.entries(LISTS)) {
    lists[name] = [];
    maps[name] = [];
    for (let i = 0; `${name}[${i}].${keys[0]}` in v; i++) {
      const row = {};
      keys.forEach((k) => { row[k] = (v[`${name}[${i}].${k}`] || '').trim(); });
      const blank = keys.filter((k) => k !== 'country' && k !== 'label').every((k) => !row[k]);
      if (blank) continue;
      Object.keys(row).forEach((k) => { if (!row[k]) delete row[k]; });
      if (name === 'addresses') row.line1 = row.line1 || '';
      lists[name].push(row);
      maps[name].push(i);
    }
  }
  const body = { ...lists, tags: (v.tags || '').split(',').map((t) => t.trim()).filter(Boolean), departments: v.departments || [] };
  for (const k of ['title', 'given_name', 'family_name', 'preferred_name', 'date_of_birth', 'organisation']) body[k] = (v[k] || '').trim() || null;
  const rename = (f) => f.replace(/^(emails|phones|addresses)\[(\d+)\]/, (m, n, k) => `${n}[${maps[n][+k] ?? k}]`);
  return { body, rename };
}

const EMPTY = { emails: [], phones: [], addresses: [], tags: [], departments: [] };

route('/people/:id/edit', async ({ id }, current) => {
  busy();
  const p = await loadPerson(id, current);
  if (!p) return;
  const [depts, all] = await Promise.all([myDepartments(), departments()]);
  if (!current()) return;
  page('Edit details', { back: [`/people/${id}`, 'Back to the person'], caption: personName(p) },
    form([...personFields(p, depts, all), h('div', { class: 'button-group' }, button('Save changes'), link(`/people/${id}`, 'Cancel'))], async (v, f) => {
      const { body, rename } = personBody(v);
      if (!body.departments.length) delete body.departments;
      body.version = p.version;
      try {
        await api('PATCH', personPath(id), { body });
      } catch (e) {
        if (e instanceof ApiError && (e.status === 409 || e.status === 412)) {
          const summary = showErrors(f, e);
          summary.appendChild(h('p', {}, h('a', {
            href: `#/people/${id}/edit`,
            on: { click: (ev) => { ev.preventDefault(); navigate(`/people/${id}/edit`); } },
          }, 'Reload the latest version'), ' (the changes you made here will be lost; make them again).'));
          return;
        }
        throw tidy(e, rename);
      }
      notice('Your changes have been saved.');
      navigate(`/people/${id}`);
    }));
}, { permission: 'people_write' });

// ---------- record consent ----------

route('/people/:id/consent', async ({ id }, current) => {
  const back = [`/people/${id}`, 'Back to the person'];
  busy();
  const p = await loadPerson(id, current);
  if (!p) return;
  const ps = await purposes();
  if (!current()) return;
  if (!ps.length) {
    page('Record consent', { back, caption: personName(p) }, h('p', {}, 'No purposes have been set up yet. Ask an administrator to add one.'));
    return;
  }
  const wordingOptions = (code) => [['', 'None'], ...((ps.find((x) => x.code === code) || { wordings: [] }).wordings).slice().reverse()
    .map((w) => [String(w.version), `Version ${w.version}: ${w.text.length > 70 ? `${w.text.slice(0, 70)}…` : w.text}`])];
  const wording = select({ name: 'wording_version', label: 'Wording they were shown', hint: 'A grant under consent needs a wording version or evidence.', options: wordingOptions('') });
  const purpose = select({ name: 'purpose', label: 'Purpose', options: [['', 'Choose a purpose'], ...ps.map((x) => [x.code, `${x.description} (${x.code})`])] });
  purpose.querySelector('select').addEventListener('change', (ev) => {
    const opts = wordingOptions(ev.target.value);
    replace(wording.querySelector('select'), opts.map(([v, t], i) => h('option', { value: v, selected: i === 1 }, t)));
  });
  const points = [['', 'The whole channel'],
    ...p.emails.map((e) => [e.address, `Email: ${e.address}`]),
    ...p.phones.map((x) => [x.number, `Phone: ${x.number}`])];
  page('Record consent', { back, caption: personName(p) },
    h('p', {}, 'Record what the person told us. Consent events are never changed afterwards: to correct one, record a new event.'),
    form([
      purpose,
      choices({ name: 'channel', legend: 'Channel', type: 'radio', options: CHANNELS }),
      choices({ name: 'status', legend: 'What did they say?', type: 'radio', options: STATUSES }),
      points.length > 1 ? select({ name: 'contact_point', label: 'Applies to', hint: 'Choose one address or number only if they gave consent for that one alone.', options: points }) : null,
      select({ name: 'lawful_basis', label: 'Lawful basis', options: [['', 'The purpose’s usual basis'], ...BASES] }),
      select({ name: 'capture_method', label: 'How it was captured', options: [['', 'Choose how'], ...METHODS] }),
      wording,
      field({ name: 'evidence', label: 'Evidence (optional)', hint: 'What was said or where the signed form is kept.', type: 'textarea', rows: 3 }),
      select({ name: 'source', label: 'Source', value: 'staff', options: SOURCES }),
      field({ name: 'source_ref', label: 'Source reference (optional)', hint: 'For example a form number.', width: 'medium' }),
      field({ name: 'captured_at', label: 'When they gave it (optional)', hint: 'Leave empty for now.', type: 'datetime-local', width: 'medium' }),
      field({ name: 'expires_at', label: 'Lapses on (optional)', hint: 'For a grant that only lasts a while.', type: 'date', width: 'medium' }),
      h('div', { class: 'button-group' }, button('Record consent'), link(`/people/${id}`, 'Cancel')),
    ], async (v) => {
      check([
        [!v.purpose, 'purpose', 'Choose a purpose.'],
        [!v.channel, 'channel', 'Choose a channel.'],
        [!v.status, 'status', 'Say whether they granted, withdrew or refused consent.'],
        [!v.capture_method, 'capture_method', 'Choose how it was captured.'],
      ]);
      const body = {
        purpose: v.purpose, channel: v.channel, status: v.status, capture_method: v.capture_method, source: v.source || 'staff',
        contact_point: v.contact_point || undefined, lawful_basis: v.lawful_basis || undefined,
        wording_version: v.wording_version ? Number(v.wording_version) : undefined,
        evidence: v.evidence.trim() || undefined, source_ref: v.source_ref.trim() || undefined,
        captured_at: toIso(v.captured_at), expires_at: v.expires_at ? new Date(`${v.expires_at}T00:00:00`).toISOString() : undefined,
      };
      try {
        await api('POST', `${personPath(id)}/consents`, { body });
      } catch (e) { throw tidy(e); }
      notice(`Consent recorded: ${labelOf(STATUSES, v.status).toLowerCase()} for ${ps.find((x) => x.code === v.purpose).description} by ${labelOf(CHANNELS, v.channel).toLowerCase()}.`);
      navigate(`/people/${id}`);
    }));
}, { permission: 'consent_write' });

// ---------- log an engagement ----------

route('/people/:id/engagement', async ({ id }, current) => {
  const back = [`/people/${id}`, 'Back to the person'];
  busy();
  const p = await loadPerson(id, current);
  if (!p) return;
  const [acts, ks, depts] = await Promise.all([api('GET', '/api/v1/activities', { query: { limit: 200 } }), kinds(), myDepartments()]);
  if (!current()) return;
  const names = new Map(depts.map((d) => [d.code, d.name]));
  const activity = select({
    name: 'activity', label: 'Activity', hint: 'Choose the activity, or “No particular activity” and say what kind of thing it was.',
    options: [['', 'No particular activity'], ...acts.items.map((a) => [a.id, `${a.title} (${names.get(a.department) || a.department}${a.starts_at ? `, ${fmtDate(a.starts_at)}` : ''})`])],
  });
  const shiftSlot = h('div');
  const other = h('div', { class: 'people-engagement__other' },
    select({ name: 'kind', label: 'Kind of activity', options: [['', 'Choose a kind'], ...ks.map((k) => [k.code, k.label])] }),
    select({ name: 'department', label: 'Department', value: depts.length === 1 ? depts[0].code : '', options: [['', 'Choose a department'], ...depts.map((d) => [d.code, d.name])] }));
  activity.querySelector('select').addEventListener('change', (ev) => {
    const a = acts.items.find((x) => x.id === ev.target.value);
    other.hidden = !!a;
    replace(shiftSlot, a && a.shifts.length ? select({
      name: 'shift', label: 'Shift (optional)',
      options: [['', 'No particular shift'], ...a.shifts.map((s) => [s.id, `${fmtDateTime(s.starts_at)} to ${fmtDateTime(s.ends_at)}`])],
    }) : null);
  });
  page('Log an engagement', { back, caption: personName(p) },
    form([
      activity, shiftSlot, other,
      select({ name: 'action', label: 'What happened', options: [['', 'Choose what happened'], ...ACTIONS] }),
      field({ name: 'occurred_at', label: 'When it happened', type: 'datetime-local', value: localNow(), width: 'medium' }),
      field({ name: 'hours', label: 'Hours volunteered (optional)', hint: 'Only when they volunteered, up to 24.', type: 'number', width: 'short', attrs: { min: '0', max: '24', step: '0.25', inputmode: 'decimal' } }),
      field({ name: 'response_ref', label: 'Consultation response reference (optional)', width: 'medium' }),
      field({ name: 'detail', label: 'Notes (optional)', hint: 'Do not write health, religion or other sensitive details here.', type: 'textarea', rows: 3 }),
      h('div', { class: 'button-group' }, button('Log engagement'), link(`/people/${id}`, 'Cancel')),
    ], async (v) => {
      check([
        [!v.activity && !v.kind, 'kind', 'Choose an activity, or the kind of activity.'],
        [!v.activity && !v.department, 'department', 'Choose the department.'],
        [!v.action, 'action', 'Choose what happened.'],
        [!v.occurred_at, 'occurred_at', 'Enter when it happened.'],
      ]);
      const body = {
        person: id, action: v.action, occurred_at: toIso(v.occurred_at),
        activity: v.activity || undefined, shift: v.activity && v.shift ? v.shift : undefined,
        kind: v.activity ? undefined : v.kind, department: v.activity ? undefined : v.department,
        hours: v.hours ? Number(v.hours) : undefined,
        response_ref: v.response_ref.trim() || undefined, detail: v.detail.trim() || undefined,
      };
      let r;
      try {
        r = await api('POST', '/api/v1/engagements', { body });
      } catch (e) { throw tidy(e, (f) => f.replace(/^events\[0\]\./, '')); }
      notice(r && r.duplicates ? 'This engagement was already recorded.' : `Engagement logged: ${labelOf(ACTIONS, v.action).toLowerCase()}.`);
      navigate(`/people/${id}`);
    }));
}, { permission: 'engagement_write' });
