// Imports: the list of imports, uploading a file, and the wizard driven by the import's status:
// check the columns → check the rows (dry run) → import (commit, watched live) → done (roll back).
import {
  h, api, ApiError, route, page, form, field, select, choices, button, summaryList, table, tag,
  section, notice, navigate, link, session, fmtDateTime, download, departments, purposes, replace, showFailure,
} from './core.js';

const RUNNING = new Set(['analysing', 'committing', 'rolling_back']);
const STATUS = {
  uploaded: ['Uploaded', 'blue'], analysing: ['Checking rows', 'yellow'], analysed: ['Checked', 'blue'],
  committing: ['Importing', 'yellow'], committed: ['Imported', 'green'], rolling_back: ['Rolling back', 'yellow'],
  rolled_back: ['Rolled back', 'grey'], failed: ['Failed', 'red'],
};
const OUTCOMES = [
  ['create', 'New people', 'Rows that will become new records.'],
  ['link', 'Added to people already held', 'Rows that match someone already held; only what their record lacks is added.'],
  ['review', 'New, but possible duplicates', 'New records that look like someone already held; each pair goes to the review queue.'],
  ['duplicate', 'Repeated in this file', 'Rows that repeat an earlier row of the same file; they are left out.'],
  ['unchanged', 'Already held, no change', 'Rows your department sent before exactly as they are; nothing changes.'],
  ['reject', 'Cannot be imported', 'Rows that do not identify a person or hold an invalid value that matters.'],
];
const TARGET_GROUPS = [
  ['Name', [['given_name', 'Given name (first name)'], ['family_name', 'Family name (surname)'], ['preferred_name', 'Preferred name'], ['title', 'Title (Mr, Ms, Dr)']]],
  ['Contact', [['email', 'Email address'], ['email2', 'Second email address'], ['phone', 'Phone number'], ['mobile', 'Mobile number'], ['phone2', 'Second phone number']]],
  ['Address', [['line1', 'Address line 1'], ['line2', 'Address line 2'], ['line3', 'Address line 3'], ['town', 'Town or city'], ['county', 'County'], ['postcode', 'Postcode'], ['country', 'Country']]],
  ['Other', [['date_of_birth', 'Date of birth'], ['organisation', 'Organisation'], ['external_id', 'Reference in the source system'], ['tags', 'Tags or groups']]],
];
const CHANNELS = [['email', 'Email'], ['sms', 'Text message (SMS)'], ['post', 'Post'], ['phone', 'Phone call']];
const METHODS = [['paper_form', 'Paper form'], ['web_checkbox', 'Tick box on a website'], ['phone_call', 'Phone call'], ['in_person', 'In person'], ['email_reply', 'Reply by email'], ['soft_opt_in', 'Soft opt-in (existing customer)']];
const BASES = [['', 'The purpose’s default'], ['consent', 'Consent'], ['contract', 'Contract'], ['legal_obligation', 'Legal obligation'], ['vital_interests', 'Vital interests'], ['public_task', 'Public task'], ['legitimate_interests', 'Legitimate interests']];

// Sample values read in this browser from the file just uploaded (memory only: never stored).
const samples = new Map();

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const num = (n) => Number(n || 0).toLocaleString('en-GB');
const plural = (n, one, many) => `${num(n)} ${n === 1 ? one : many}`;
const statusTag = (s) => tag(...(STATUS[s] || [s, 'grey']));

async function deptName(code) {
  try { const d = (await departments()).find((x) => x.code === code); return d ? d.name : code; } catch (e) { return code; }
}

function validation(errors, detail = 'Check the fields below.') {
  return new ApiError(422, { status: 422, code: 'validation_failed', detail, errors });
}

/** What the counts say, in a few words. */
function countsText(v) {
  const c = v.counts || {};
  const pre = v.committed_at ? 'committed_' : '';
  const parts = [['create', 'new'], ['link', 'linked'], ['review', 'to review'], ['duplicate', 'repeated'], ['unchanged', 'unchanged'], ['reject', 'rejected']]
    .filter(([k]) => c[pre + k] || (pre && k === 'reject' && c.reject)).map(([k, t]) => `${num(c[pre + k] ?? c[k])} ${t}`);
  if (v.status === 'rolled_back') parts.push(`${num(c.rolled_back_removed)} removed`);
  return parts.join(', ');
}

// ---------- the list ----------

route('/imports', async () => {
  const [res, depts] = await Promise.all([api('GET', '/api/v1/imports'), departments().catch(() => [])]);
  const name = (code) => (depts.find((d) => d.code === code) || { name: code }).name;
  page('Imports',
    h('p', {}, 'Upload a department’s list (CSV or Excel), check what every row would do, then import it. You can roll an import back.'),
    h('p', {}, h('a', { href: '#/imports/new', class: 'button' }, 'Import a list')),
    table({
      caption: 'Your departments’ imports, newest first',
      empty: 'No lists have been imported yet.',
      rows: res.items,
      columns: [
        { label: 'File', render: (r) => link(`/imports/${r.id}`, r.file_name) },
        { label: 'Department', render: (r) => name(r.department) },
        { label: 'Status', render: (r) => statusTag(r.status) },
        { label: 'Rows', numeric: true, render: (r) => num(r.rows_total) },
        { label: 'Outcome', render: (r) => countsText(r) || h('span', { class: 'muted' }, 'Not checked yet') },
        { label: 'Uploaded', render: (r) => fmtDateTime(r.created_at) },
      ],
    }));
}, { permission: 'imports_run' });

// ---------- upload ----------

/** The departments the user may import for. */
async function myDepartments() {
  const all = await departments();
  const u = session.user;
  const scoped = u.roles.length && u.roles.every((r) => r === 'department_editor');
  return scoped ? all.filter((d) => u.departments.includes(d.code)) : all;
}

route('/imports/new', async () => {
  const depts = await myDepartments();
  const more = h('details', { class: 'details import-more' }, h('summary', {}, 'More options'),
    h('div', { class: 'inset' },
      field({ name: 'sheet', label: 'Worksheet (Excel only)', hint: 'Leave blank to use the first worksheet.', width: 'medium' }),
      field({ name: 'source_system', label: 'System the list comes from (optional)', hint: 'For example “Box office”. With a reference column, importing a later export of the same system changes only what is new.', width: 'medium' }),
      select({ name: 'template', label: 'Saved column choices to use (optional)', hint: 'Choices saved with an earlier list of this department.', options: [['', 'None: suggest them from the column names']] })));
  const templateSelect = more.querySelector('select[name=template]');
  const loadTemplates = async (code) => {
    replace(templateSelect, h('option', { value: '' }, 'None: suggest them from the column names'));
    if (!code) return;
    try {
      const saved = await api('GET', '/api/v1/import-templates', { query: { department: code } });
      for (const t of saved) templateSelect.appendChild(h('option', { value: t.name }, t.name));
    } catch (e) { /* the list is a convenience: the upload still works without it */ }
  };
  const main = page('Import a list', { back: ['/imports', 'Back to imports'], caption: 'Imports' },
    h('p', {}, 'Nothing changes until you have checked what every row would do and chosen to import it.'),
    depts.length ? form([
      select({ name: 'department', label: 'Department the list belongs to', options: [['', 'Choose a department'], ...depts.map((d) => [d.code, d.name])], value: depts.length === 1 ? depts[0].code : '' }),
      field({ name: 'file', label: 'File', type: 'file', hint: 'A CSV file (.csv) or an Excel workbook (.xlsx). The first row must hold the column names.',
        attrs: { accept: '.csv,.xlsx,.txt,text/csv,application/vnd.openxmlformats-officedocument.spreadsheetml.sheet' } }),
      more,
      button('Upload and check the columns'),
    ], async (v) => {
      const errors = [];
      if (!v.department) errors.push({ field: 'department', message: 'Choose the department the list belongs to' });
      if (!v.file) errors.push({ field: 'file', message: 'Choose a CSV or Excel file' });
      if (errors.length) throw validation(errors);
      let view;
      try {
        view = await api('POST', '/api/v1/imports', {
          body: v.file,
          query: { department: v.department, file_name: v.file.name, sheet: v.sheet.trim(), source_system: v.source_system.trim(), template: v.template.trim() },
        });
      } catch (e) {
        if (e instanceof ApiError && (e.problem.errors || []).some((x) => ['sheet', 'source_system', 'template'].includes(x.field))) more.open = true;
        throw e;
      }
      try { const s = await readSamples(v.file, view.headers); if (s) samples.set(view.id, s); } catch (e) { /* samples are optional */ }
      notice(`“${view.file_name}” uploaded: ${plural(view.rows_total, 'row', 'rows')} and ${plural(view.headers.length, 'column', 'columns')}.`);
      navigate(`/imports/${view.id}`);
    }) : h('p', {}, 'Your account is not linked to a department. Ask an administrator.'));
  const deptSelect = main.querySelector('select[name=department]');
  if (deptSelect) {
    deptSelect.addEventListener('change', () => loadTemplates(deptSelect.value));
    loadTemplates(deptSelect.value);
  }
}, { permission: 'imports_run' });

/** The first rows of a CSV file, read in the browser to show sample values beside each column
 * (the API gives headers only). Null when the file is not CSV or its headers differ. */
async function readSamples(file, headers) {
  if (/\.xlsx$/i.test(file.name)) return null;
  let text = await file.slice(0, 128 * 1024).text();
  text = text.replace(/^\uFEFF/, '');
  const first = text.split(/\r?\n/, 1)[0];
  const delim = [',', ';', '\t', '|'].map((d) => [d, first.split(d).length]).sort((a, b) => b[1] - a[1])[0][0];
  const records = [];
  let rec = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < text.length && records.length < 6; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') { cell += '"'; i++; } else if (c === '"') quoted = false; else cell += c;
    } else if (c === '"' && cell === '') quoted = true;
    else if (c === delim) { rec.push(cell); cell = ''; } else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      rec.push(cell); cell = ''; records.push(rec); rec = [];
    } else cell += c;
  }
  const [head, ...rows] = records;
  if (!head || head.length !== headers.length || head.some((x, i) => x.trim() !== headers[i].trim())) return null;
  return rows.filter((r) => r.some((x) => x.trim() !== ''));
}

// ---------- the wizard ----------

route('/imports/:id', async ({ id }, isCurrent) => {
  const v = await api('GET', `/api/v1/imports/${encodeURIComponent(id)}`);
  await show(v, isCurrent);
}, { permission: 'imports_run' });

/** Show the step for an import's state from an event handler (errors become a failure page). */
function go(v, isCurrent, opts) {
  show(v, isCurrent, opts).catch((e) => { if (isCurrent() && !(e instanceof ApiError && e.status === 401)) showFailure(e); });
}

async function show(v, isCurrent, opts = {}) {
  if (!isCurrent()) return;
  if (v.status === 'uploaded' || (opts.remap && (v.status === 'analysed' || v.status === 'failed'))) return mappingStep(v, isCurrent);
  if (RUNNING.has(v.status)) return progressStep(v, isCurrent);
  if (v.status === 'analysed') return resultsStep(v, isCurrent);
  if (v.status === 'committed') return committedStep(v, isCurrent);
  if (v.status === 'rolled_back') return rolledBackStep(v);
  return failedStep(v, isCurrent);
}

async function header(v, step, title, ...content) {
  const dept = await deptName(v.department);
  return page(title, { back: ['/imports', 'Back to imports'], caption: step ? `Import of “${v.file_name}” – step ${step} of 4` : `Import of “${v.file_name}”` },
    summaryList([['File', v.file_name], ['Department', dept], ['Rows', num(v.rows_total)], v.sheet ? ['Worksheet', v.sheet] : null, ['Status', statusTag(v.status)]]),
    ...content);
}

const slugOf = (s, i) => (s.normalize('NFKD').replace(/[\u0300-\u036f]/g, '').toLowerCase().replace(/[^a-z0-9]+/g, '_').replace(/^_+|_+$/g, '').slice(0, 60) || `column_${i + 1}`);

// Step 1: the columns.
async function mappingStep(v, isCurrent) {
  const ps = await purposes().catch(() => []);
  const sample = samples.get(v.id);
  const current = new Map(v.mapping.map((m) => [m.column, m.target]));
  const declared = v.consents || {};
  const consentBox = h('div', { class: 'import-consents' });
  const selects = [];

  const targetSelect = (hdr, i) => {
    const cur = current.get(i) || 'ignore';
    const slug = cur.startsWith('consent:') || cur.startsWith('custom:') ? cur.slice(cur.indexOf(':') + 1) : slugOf(hdr, i);
    const id = `map-${i}`;
    const opt = (val, text) => h('option', { value: val, selected: val === cur }, text);
    const sel = h('select', { id, name: `mapping[${i}].target`, class: 'select', on: { change: renderConsents } },
      opt('ignore', 'Do not import'),
      TARGET_GROUPS.map(([g, list]) => h('optgroup', { label: g }, list.map(([val, text]) => opt(val, text)))),
      h('optgroup', { label: 'More' }, opt(`consent:${slug}`, 'Consent answers (yes or no)'), opt(`custom:${slug}`, 'Other information (kept as is)')));
    selects.push(sel);
    return h('div', { 'data-field': `mapping[${i}].target` },
      h('label', { for: id, class: 'visually-hidden' }, `Import column “${hdr}” as`), sel);
  };

  function renderConsents() {
    const open = selects.map((s) => s.value).filter((t) => t.startsWith('consent:'));
    const old = {};
    consentBox.querySelectorAll('[name^="consents."]').forEach((el) => { old[el.name] = el.value; });
    replace(consentBox, open.length ? h('h2', {}, 'Consent answers') : null,
      open.length ? h('p', {}, 'For each column of consent answers, say what people agreed to and how. A blank answer is never taken as consent; “no” is recorded as a refusal.') : null,
      open.length && !ps.length ? h('p', { class: 'warning-text' }, 'No purposes have been set up yet. Ask an administrator to add one, or do not import these columns.') : null,
      open.map((t) => consentFieldset(t.slice(8), v.headers[selects.findIndex((s) => s.value === t)], declared[t.slice(8)], old)));
  }

  function consentFieldset(slug, hdr, d = {}, old) {
    const n = (f) => `consents.${slug}.${f}`;
    const val = (f, dflt) => old[n(f)] ?? d[f] ?? dflt;
    const wordingBox = h('div', {});
    const purposeSel = select({ name: n('purpose'), label: 'Purpose', options: [['', 'Choose a purpose'], ...ps.map((p) => [p.code, p.description ? `${p.description} (${p.code})` : p.code])], value: val('purpose', ps.length === 1 ? ps[0].code : '') });
    const wordings = () => {
      const p = ps.find((x) => x.code === purposeSel.querySelector('select').value);
      const list = p ? p.wordings || [] : [];
      replace(wordingBox, list.length ? select({ name: n('wording_version'), label: 'Wording people were shown (optional)', options: [['', 'Not known'], ...list.map((w) => [String(w.version), `Version ${w.version}: ${String(w.text || '').slice(0, 60)}`])], value: String(val('wording_version', '') ?? '') }) : null);
    };
    purposeSel.querySelector('select').addEventListener('change', wordings);
    wordings();
    return h('div', { class: 'field import-consent', 'data-field': `consents.${slug}` },
      h('fieldset', { class: 'fieldset' },
        h('legend', { class: 'legend' }, `Column “${hdr}”`),
        purposeSel,
        select({ name: n('channel'), label: 'Channel', options: CHANNELS, value: val('channel', 'email') }),
        select({ name: n('capture_method'), label: 'How the answers were collected', options: METHODS, value: val('capture_method', 'paper_form') }),
        select({ name: n('lawful_basis'), label: 'Lawful basis', options: BASES, value: val('lawful_basis', '') }),
        wordingBox,
        field({ name: n('evidence'), label: 'Evidence', type: 'textarea', rows: 3, value: val('evidence', ''), hint: 'Where the answers came from, for example “2024 sign-up sheets, kept by the box office”. Do not include personal details.' })));
  }

  const rows = v.headers.map((hdr, i) => {
    const vals = sample ? sample.map((r) => (r[i] || '').trim()).filter(Boolean).slice(0, 3) : [];
    return h('tr', {},
      h('th', { scope: 'row' }, hdr || h('span', { class: 'muted' }, `Column ${i + 1} (no name)`)),
      h('td', {}, vals.length ? h('ul', { class: 'import-samples' }, vals.map((x) => h('li', {}, x))) : h('span', { class: 'muted' }, sample ? 'Blank in the first rows' : 'Not shown')),
      h('td', {}, targetSelect(hdr, i)));
  });
  const monthFirst = (v.counts || {}).month_first === 1;
  const f = form([
    h('div', { class: 'table-wrap' }, h('table', { class: 'table import-mapping' },
      h('caption', { class: 'table__caption' }, `The file’s ${plural(v.headers.length, 'column', 'columns')}`),
      h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Column in the file'), h('th', { scope: 'col' }, 'Example values'), h('th', { scope: 'col' }, 'Import as'))),
      h('tbody', {}, rows))),
    consentBox,
    choices({ name: 'date_order', legend: 'How are dates written in this file?', type: 'radio', value: monthFirst ? 'month_first' : 'day_first',
      options: [['day_first', 'Day first, as in the UK (31/12/1980)'], ['month_first', 'Month first, as in the US (12/31/1980)']] }),
    field({ name: 'save_template', label: 'Save these choices for next time (optional)', width: 'medium', hint: 'Give them a name, for example “Box office export”. Next time, choose them under “More options” when you upload.' }),
    button('Check the rows'),
  ], async (vals) => {
    const mapping = v.headers.map((hdr, column) => ({ column, header: hdr, target: vals[`mapping[${column}].target`] })).filter((m) => m.target !== 'ignore');
    const consents = {};
    for (const m of mapping.filter((x) => x.target.startsWith('consent:'))) {
      const s = m.target.slice(8);
      const g = (k) => (vals[`consents.${s}.${k}`] || '').trim();
      consents[s] = { purpose: g('purpose'), channel: g('channel'), capture_method: g('capture_method'), evidence: g('evidence'), lawful_basis: g('lawful_basis') || null, wording_version: g('wording_version') ? Number(g('wording_version')) : null };
    }
    const body = { mapping, consents, date_order: vals.date_order || 'day_first' };
    if (vals.save_template.trim()) body.save_template = vals.save_template.trim();
    let nv;
    try {
      nv = await api('POST', `/api/v1/imports/${v.id}/dry-run`, { body });
    } catch (e) {
      // Problems with the mapping as a whole have no one field: show them in the summary only.
      if (e instanceof ApiError) for (const x of e.problem.errors || []) if (x.field === 'mapping') x.field = '';
      throw e;
    }
    go(nv, isCurrent);
  });
  await header(v, 1, 'Check the columns',
    h('p', {}, 'Choose where each column of the file goes. The choices suggested come from the column names; change any that are wrong, and choose “Do not import” for columns you do not need.'),
    sample ? null : h('p', { class: 'hint' }, 'Example values are shown only in the browser that uploaded the file, for CSV files.'),
    f);
  renderConsents();
}

// Phases in the background: progress, polled until the phase ends.
async function progressStep(v, isCurrent) {
  const what = { analysing: ['Checking the rows', 2, 'checked'], committing: ['Importing the rows', 3, 'imported'], rolling_back: ['Rolling back the import', 4, 'rolled back'] }[v.status];
  const bar = h('progress', { id: 'import-progress', max: Math.max(1, v.rows_total), value: v.rows_done });
  const text = h('p', { class: 'import-progress__text' });
  const live = h('p', { class: 'visually-hidden', role: 'status', 'aria-live': 'polite' });
  let lastQuarter = -1;
  const update = (x) => {
    bar.max = Math.max(1, x.rows_total);
    bar.value = Math.min(x.rows_done, x.rows_total);
    bar.textContent = `${num(x.rows_done)} of ${num(x.rows_total)} rows`;
    const bits = [`${num(x.rows_done)} of ${num(x.rows_total)} rows ${what[2]}.`];
    if (x.rate) bits.push(`About ${num(Math.round(x.rate))} rows a second.`);
    if (x.eta_seconds != null) bits.push(x.eta_seconds < 60 ? `About ${plural(Math.max(1, Math.round(x.eta_seconds)), 'second', 'seconds')} left.` : `About ${plural(Math.round(x.eta_seconds / 60), 'minute', 'minutes')} left.`);
    text.textContent = bits.join(' ');
    const q = x.rows_total ? Math.floor((4 * x.rows_done) / x.rows_total) : 0;
    if (q !== lastQuarter) { lastQuarter = q; live.textContent = bits[0]; }
  };
  update(v);
  await header(v, what[1], what[0],
    h('div', { class: 'import-progress' }, h('label', { for: 'import-progress', class: 'label' }, 'Progress'), bar, text, live),
    h('p', { class: 'hint' }, 'You can leave this page: the work carries on, and the import’s page shows where it has got to.'));
  let failures = 0;
  while (isCurrent()) {
    await sleep(1000);
    if (!isCurrent()) return;
    let x;
    try {
      x = await api('GET', `/api/v1/imports/${v.id}`);
      failures = 0;
    } catch (e) {
      if (++failures >= 5) { text.textContent = `The progress cannot be read just now (${e.message}). Reload the page to try again.`; return; }
      continue;
    }
    update(x);
    if (!RUNNING.has(x.status)) {
      if (x.status === 'analysed') notice('Every row has been checked. Nothing has changed yet.');
      if (x.status === 'committed') notice(`The import is complete: ${plural(x.rows_total, 'row', 'rows')} processed.`);
      if (x.status === 'rolled_back') notice('The import has been rolled back.');
      await show(x, isCurrent);
      return;
    }
  }
}

function problemsList(r) {
  const list = Array.isArray(r.problems) ? r.problems : [];
  return list.length ? h('ul', { class: 'import-problems' }, list.map((p) => h('li', {}, p.column ? `${p.column}: ${p.message}` : p.message))) : null;
}

function whatHappens(r) {
  const pct = r.match_score != null ? ` (${r.match_score >= 0.999 ? 'over 99.9%' : `${(r.match_score * 100).toFixed(1)}%`} likely the same person)` : '';
  if (r.outcome === 'duplicate') return `Same as row ${r.duplicate_of ?? 'above'}`;
  if ((r.outcome === 'link' || r.outcome === 'review' || r.outcome === 'unchanged') && r.person) {
    return h('span', {}, link(`/people/${r.person}`, `Record ${r.person.slice(0, 8)}`, { 'aria-label': `Record ${r.person.slice(0, 8)} (row ${r.row})` }), pct);
  }
  return r.outcome === 'create' ? 'A new record' : (r.outcome === 'reject' ? 'Left out' : '');
}

function rowsTable(caption, rows, total) {
  return h('div', {},
    table({ caption, rows, columns: [
      { label: 'Row', numeric: true, render: (r) => r.row },
      { label: 'What happens', render: whatHappens },
      { label: 'Problems', render: (r) => problemsList(r) || h('span', { class: 'muted' }, 'None') },
    ] }),
    total > rows.length ? h('p', { class: 'hint' }, `Showing the first ${num(rows.length)} of ${num(total)}. The error report lists every rejected row and warning.`) : null);
}

// Step 2: the dry run's prediction.
async function resultsStep(v, isCurrent) {
  const c = v.counts || {};
  const base = `/api/v1/imports/${v.id}/rows`;
  const shown = OUTCOMES.filter(([k]) => c[k] > 0);
  const [pages, all] = await Promise.all([
    Promise.all(shown.map(([k]) => api('GET', base, { query: { outcome: k, limit: 10 } }))),
    c.warnings ? api('GET', base, { query: { limit: 500 } }) : { items: [] },
  ]);
  const warned = all.items.filter((r) => r.outcome !== 'reject' && Array.isArray(r.problems) && r.problems.length);
  const people = (c.create || 0) + (c.review || 0);
  await header(v, 2, 'Check what will happen',
    h('p', {}, 'Nothing has changed yet. This is what importing the file would do to each row.'),
    h('ul', { class: 'stats' },
      OUTCOMES.map(([k, label]) => h('li', { class: 'stat' }, h('span', { class: 'stat__value' }, num(c[k])), h('span', { class: 'stat__label' }, label))),
      h('li', { class: 'stat' }, h('span', { class: 'stat__value' }, num(c.warnings)), h('span', { class: 'stat__label' }, 'Imported with warnings'))),
    shown.map(([k, label, desc], i) => section(label, h('p', {}, desc), rowsTable(`Rows: ${label.toLowerCase()}`, pages[i].items, c[k]))),
    warned.length ? section('Imported with warnings', h('p', {}, 'These rows are imported without the values that could not be read.'), rowsTable('Rows imported with warnings', warned.slice(0, 10), c.warnings)) : null,
    c.reject || c.warnings ? section('Error report',
      h('p', {}, 'A spreadsheet (CSV) of every rejected row and every warning, with the row number and the reason, to correct at source.'),
      button('Download the error report (CSV)', { kind: 'secondary', onClick: async (ev) => {
        const b = ev.currentTarget;
        b.disabled = true;
        try { await download(`/api/v1/imports/${v.id}/errors`, `import-errors-${v.id.slice(0, 8)}.csv`); } catch (e) { notice(`The error report could not be downloaded: ${e.message}`, 'error', true); } finally { b.disabled = false; }
      } })) : null,
    section('Import the rows',
      h('p', {}, `Importing creates ${plural(people, 'new record', 'new records')} and adds to ${plural(c.link || 0, 'record', 'records')} already held. Rows that cannot be imported or repeat an earlier row are left out. You can roll the import back afterwards.`),
      form([h('div', { class: 'button-group' },
        button('Import these rows'),
        button('Change the column choices', { kind: 'secondary', onClick: () => go(v, isCurrent, { remap: true }) }))],
      async () => {
        const nv = await api('POST', `/api/v1/imports/${v.id}/commit`);
        go(nv, isCurrent);
      })));
}

// Step 4: committed, with the rollback.
async function committedStep(v, isCurrent) {
  const c = v.counts || {};
  const area = h('div', {});
  const offer = () => replace(area, button('Roll back this import', { kind: 'warning', onClick: confirm }));
  function confirm() {
    const heading = h('h3', { tabindex: '-1' }, 'Are you sure you want to roll back this import?');
    replace(area, h('div', { class: 'import-confirm', role: 'group', 'aria-label': 'Confirm the rollback' },
      heading,
      h('p', { class: 'warning-text' }, `This removes the ${plural((c.committed_create || 0) + (c.committed_review || 0), 'record', 'records')} the import created and takes back what it added to ${plural(c.committed_link || 0, 'record', 'records')} already held.`),
      form([h('div', { class: 'button-group' }, button('Yes, roll back this import', { kind: 'warning' }), button('No, keep it', { kind: 'secondary', onClick: offer }))],
        async () => {
          const nv = await api('POST', `/api/v1/imports/${v.id}/rollback`);
          go(nv, isCurrent);
        })));
    heading.focus();
  }
  offer();
  await header(v, 4, 'Import complete',
    h('h2', {}, 'What the import did'),
    summaryList([
      ['New records created', num((c.committed_create || 0) + (c.committed_review || 0))],
      ['Records already held that were added to', num(c.committed_link)],
      ['New records that may be duplicates', c.committed_review ? h('span', {}, num(c.committed_review), ' – ', link('/review', 'review them')) : '0'],
      ['Rows already held, unchanged', num(c.committed_unchanged ?? c.unchanged)],
      ['Rows repeated in the file', num(c.duplicate)],
      ['Rows that could not be imported', num(c.reject)],
      ['Imported', fmtDateTime(v.committed_at)],
    ]),
    c.reject || c.warnings ? h('p', {}, button('Download the error report (CSV)', { kind: 'secondary', onClick: () => download(`/api/v1/imports/${v.id}/errors`, `import-errors-${v.id.slice(0, 8)}.csv`).catch((e) => notice(e.message, 'error', true)) })) : null,
    section('Roll back this import',
      h('p', {}, 'Rolling back removes the records this import created and takes back what it added to records already held. A record someone has changed since is kept, and the import says why.'),
      area));
}

async function rolledBackStep(v) {
  const c = v.counts || {};
  let kept = [];
  if (c.rolled_back_conflicts) {
    const all = await api('GET', `/api/v1/imports/${v.id}/rows`, { query: { limit: 500 } });
    kept = all.items.filter((r) => Array.isArray(r.problems) && r.problems.some((p) => p.code === 'rollback_conflict'));
  }
  await header(v, null, 'Import rolled back',
    summaryList([
      ['Records removed', num(c.rolled_back_removed)],
      ['Records the import had added to, restored', num(c.rolled_back_unlinked)],
      ['Records kept because they changed since', num(c.rolled_back_conflicts)],
      ['Rolled back', fmtDateTime(v.rolled_back_at)],
    ]),
    kept.length ? rowsTable('Records kept', kept.slice(0, 50), kept.length) : null,
    h('p', {}, link('/imports', 'Back to imports')));
}

async function failedStep(v, isCurrent) {
  const canCommit = v.analysed_at && !v.committed_at;
  await header(v, null, 'The import stopped',
    h('p', { class: 'warning-text' }, v.error || 'Something went wrong while working on this import.'),
    v.committed_at ? h('p', {}, 'The import had been committed. Ask an administrator to look into it before trying again.') : h('p', {}, 'Nothing is half done: each part of the work is saved whole or not at all.'),
    v.committed_at ? null : form([h('div', { class: 'button-group' },
      canCommit ? button('Try importing again') : null,
      button(canCommit ? 'Change the column choices' : 'Check the columns again', { kind: canCommit ? 'secondary' : 'primary', type: 'button', onClick: () => go(v, isCurrent, { remap: true }) }))],
    async () => { go(await api('POST', `/api/v1/imports/${v.id}/commit`), isCurrent); }));
}

