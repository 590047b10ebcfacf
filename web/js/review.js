// Review of possible duplicates: the queue, one pair side by side (merge or "not the same
// person"), and undoing a merge (a "Merge history" action on the person page listing the
// merges into the person, and a confirmation page at /people/:id/unmerge?merge=<id>).
import {
  h, api, ApiError, route, page, form, field, select, choices, button, table, tag, section, notice,
  navigate, link, can, session, fmtDate, fmtDateTime, departments, personActions, hashQuery, withQuery,
  replace, loading,
} from './core.js';

const LIMIT = 50;
const STATUSES = [['pending', 'Waiting for a decision', 'blue'], ['accepted', 'Merged', 'green'], ['rejected', 'Not the same person', 'grey'], ['superseded', 'No longer needed', 'grey']];
const ORIGINS = { entry: 'A record was added or changed', import: 'An import', dedupe: 'A search for duplicates', manual: 'A member of staff' };
const FIELDS = [['title', 'Title'], ['given_name', 'Given name'], ['family_name', 'Family name'], ['preferred_name', 'Preferred name'], ['date_of_birth', 'Date of birth'], ['organisation', 'Organisation']];
// Where each compared field of the explanation shows in the table.
const COMPARED = { given: ['given_name', 'Given name'], family: ['family_name', 'Family name'], dob: ['date_of_birth', 'Date of birth'], email: ['emails', 'Email'], phone: ['phones', 'Phone'], postcode: ['addresses', 'Postcode'], address: ['addresses', 'First line'], organisation: ['organisation', 'Organisation'] };
const LEVELS = {
  exact: 'the same', nickname: 'forms of the same name', swapped: 'given and family names swapped', middle_name: 'known by a middle name',
  'jaro_winkler_0.92': 'very similar (a likely typo)', 'jaro_winkler_0.90': 'very similar', 'jaro_winkler_0.80': 'somewhat similar', initial: 'an initial that agrees',
  partial: 'one name contains the other', phonetic: 'sound the same', dob_day_month_swap: 'day and month swapped', dob_typo: 'one digit different',
  same_local_part: 'same before the @', one_edit: 'one character different', one_digit_slip: 'one digit different', sector: 'same postcode sector',
  outward: 'same postcode district', number_and_street: 'same number and street', street_only: 'same street only', different: 'different', missing: 'not on both records',
};
const GUARDS = {
  suffix_conflict: 'One is Junior and the other Senior (or similar).', dob_conflict: 'The dates of birth are clearly different.',
  given_name_conflict: 'The given names are clearly different.', given_initial_only: 'One record has only an initial for the given name.',
  suffix_unconfirmed: 'Only one record has a suffix such as Junior, and the dates of birth do not confirm it.',
  household_evidence_only: 'Only household details (address, postcode or landline) support the match, so they may be relatives living together.',
};

export function fullName(p) {
  if (!p) return 'Record no longer available';
  return [p.title, p.given_name, p.family_name].filter(Boolean).join(' ') || p.preferred_name || 'No name recorded';
}
const likelihood = (p) => (p >= 0.999 ? 'over 99.9%' : `${(p * 100).toFixed(1)}%`);
const signed = (w) => `${w > 0 ? '+' : w < 0 ? '−' : ''}${Math.abs(w).toFixed(1)}`;
const statusTag = (s) => { const x = STATUSES.find(([k]) => k === s) || [s, s, 'grey']; return tag(x[1], x[2]); };

async function myDepartments() {
  const all = await departments();
  const u = session.user;
  return u.roles.length && u.roles.every((r) => r === 'department_editor') ? all.filter((d) => u.departments.includes(d.code)) : all;
}

// ---------- the queue ----------

route('/review', async () => {
  const q = hashQuery();
  const status = q.get('status') || 'pending';
  const department = q.get('department') || '';
  const minScore = q.get('min_score') || '';
  const offset = Math.max(0, Number(q.get('offset')) || 0);
  const [res, depts] = await Promise.all([
    api('GET', '/api/v1/matches', { query: { status, department, min_score: minScore, limit: LIMIT, offset } }),
    myDepartments().catch(() => []),
  ]);
  const at = (o) => withQuery('/review', { status: status === 'pending' ? '' : status, department, min_score: minScore, offset: o || '' });
  const filters = form([
    h('div', { class: 'inline-fields' },
      select({ name: 'status', label: 'Show', options: STATUSES.map(([k, t]) => [k, t]), value: status }),
      select({ name: 'department', label: 'Department', options: [['', 'All your departments'], ...depts.map((d) => [d.code, d.name])], value: department }),
      select({ name: 'min_score', label: 'Likelihood', options: [['', 'Any'], ['0.9', '90% or more'], ['0.99', '99% or more'], ['0.999', 'Over 99.9%']], value: minScore }),
      button('Show', { kind: 'secondary' })),
  ], (v) => navigate(withQuery('/review', { status: v.status === 'pending' ? '' : v.status, department: v.department, min_score: v.min_score })),
  { attrs: { 'aria-label': 'Filter the queue', role: 'search' } });
  const label = STATUSES.find(([k]) => k === status)[1].toLowerCase();
  page('Review possible duplicates',
    h('p', {}, 'Each pair below may be the same person entered twice. Compare the two records, then merge them or mark them as not the same person.'),
    filters,
    table({
      caption: `${res.total} ${res.total === 1 ? 'pair' : 'pairs'}: ${label}`,
      empty: status === 'pending' ? 'There are no possible duplicates to review.' : 'There is nothing to show.',
      rows: res.items,
      columns: [
        { label: 'Records', render: (m) => link(`/review/${m.id}`, `${fullName(m.a)} and ${fullName(m.b)}`) },
        { label: 'Likely the same', render: (m) => likelihood(m.probability) },
        { label: 'Proposed by', render: (m) => ORIGINS[m.origin] || m.origin },
        { label: 'Proposed', render: (m) => fmtDate(m.created_at) },
        { label: 'Status', render: (m) => statusTag(m.status) },
      ],
    }),
    res.total > LIMIT ? h('nav', { 'aria-label': 'Pages of the queue' }, h('ul', { class: 'pagination' },
      offset > 0 ? h('li', {}, link(at(Math.max(0, offset - LIMIT)), 'Previous page')) : null,
      h('li', {}, `Showing ${offset + 1}–${Math.min(offset + LIMIT, res.total)} of ${res.total}`),
      offset + LIMIT < res.total ? h('li', {}, link(at(offset + LIMIT), 'Next page')) : null)) : null);
}, { permission: 'people_merge' });

/** One proposal by id. The API has no route for one proposal, so the queue is searched. */
async function findMatch(id) {
  for (const [status] of STATUSES) {
    for (let offset = 0; ; offset += 200) {
      const r = await api('GET', '/api/v1/matches', { query: { status, limit: 200, offset } });
      const m = r.items.find((x) => x.id === id);
      if (m) return m;
      if (offset + 200 >= r.total) break;
    }
  }
  return null;
}

// ---------- one pair ----------

function values(p, key) {
  if (!p) return null;
  const list = (items) => (items.length ? h('ul', { class: 'review-values' }, items.map((x) => h('li', {}, x))) : null);
  switch (key) {
    case 'emails': return list(p.emails.map((e) => e.address));
    case 'phones': return list(p.phones.map((x) => `${x.number}${x.label ? ` (${x.label})` : ''}`));
    case 'addresses': return list(p.addresses.map((a) => [a.line1, a.line2, a.line3, a.town, a.county, a.postcode, a.country && a.country !== 'GB' ? a.country : null].filter(Boolean).join(', ')));
    case 'tags': return list(p.tags);
    case 'departments': return list(p.departments);
    case 'date_of_birth': return p.date_of_birth ? fmtDate(p.date_of_birth) : null;
    case 'created_at': return fmtDateTime(p.created_at);
    default: return p[key] || null;
  }
}

function compareTable(m) {
  const contributions = (m.explanation && m.explanation.contributions) || [];
  const rows = [...FIELDS, ['emails', 'Email addresses'], ['phones', 'Phone numbers'], ['addresses', 'Addresses'], ['tags', 'Tags'], ['departments', 'Departments'], ['created_at', 'Added']];
  const cell = (v) => h('td', {}, v === null || v === '' ? h('span', { class: 'muted' }, 'Not given') : v);
  return h('div', { class: 'table-wrap' }, h('table', { class: 'table review-compare' },
    h('caption', { class: 'table__caption' }, 'The two records side by side'),
    h('thead', {}, h('tr', {},
      h('th', { scope: 'col' }, 'Field'), h('th', { scope: 'col' }, 'Record A (older)'), h('th', { scope: 'col' }, 'Record B (newer)'),
      h('th', { scope: 'col' }, 'How they compare'))),
    h('tbody', {}, rows.map(([key, label]) => {
      const how = contributions.filter((c) => COMPARED[c.field] && COMPARED[c.field][0] === key);
      return h('tr', {},
        h('th', { scope: 'row' }, label),
        cell(values(m.a, key)), cell(values(m.b, key)),
        h('td', {}, how.length ? h('ul', { class: 'review-values' }, how.map((c) => h('li', {},
          `${how.length > 1 || key === 'addresses' ? `${COMPARED[c.field][1]}: ` : ''}${LEVELS[c.level] || c.level.replace(/_/g, ' ')} `,
          h('span', { class: 'review-weight' }, `(weight ${signed(c.weight)}${c.tf_adjusted ? ', adjusted for how common the value is' : ''})`)))) : ''));
    }),
    h('tr', {}, h('th', { scope: 'row' }, 'Record'),
      h('td', {}, m.a ? link(`/people/${m.a.id}`, 'Open record A') : ''), h('td', {}, m.b ? link(`/people/${m.b.id}`, 'Open record B') : ''), h('td', {}, '')))));
}

route('/review/:id', async ({ id }) => {
  const m = await findMatch(id);
  if (!m) { page('Not found', h('p', {}, 'There is no such proposal, or you do not have access to it.'), h('p', {}, link('/review', 'Back to the review queue'))); return; }
  const ex = m.explanation || {};
  const guards = (ex.guards || []).map((g) => GUARDS[g] || g.replace(/_/g, ' '));
  const pending = m.status === 'pending' && m.a && m.b;
  page(pending ? 'Are these the same person?' : 'Possible duplicate', { back: ['/review', 'Back to the review queue'], caption: `${likelihood(m.probability)} likely to be the same person` },
    pending ? null : h('p', {}, 'Status: ', statusTag(m.status), m.decided_at ? ` (decided ${fmtDateTime(m.decided_at)})` : ''),
    h('p', {}, `Proposed ${fmtDateTime(m.created_at)} by ${(ORIGINS[m.origin] || m.origin).toLowerCase()}.`),
    !m.a || !m.b ? h('p', { class: 'warning-text' }, 'One of the records is no longer active (merged, erased or restricted), so it cannot be shown.') : null,
    compareTable(m),
    h('details', { class: 'details' }, h('summary', {}, 'How the likelihood is worked out'),
      h('div', { class: 'inset' },
        h('p', {}, `Each field adds a weight: positive when the values agree, negative when they differ. The starting weight is ${signed(ex.prior_weight || 0)} (how rarely two records match by chance). The total is ${signed(ex.match_weight ?? m.match_weight)}, which makes them ${likelihood(m.probability)} likely to be the same person.`),
        guards.length ? h('div', {}, h('p', {}, 'Checks that held the likelihood back:'), h('ul', {}, guards.map((g) => h('li', {}, g)))) : null)),
    pending ? mergeSection(m) : null,
    pending ? rejectSection(m) : null);
}, { permission: 'people_merge' });

function mergeSection(m) {
  const { a, b } = m;
  const differ = FIELDS.filter(([k]) => a[k] && b[k] && String(a[k]) !== String(b[k]));
  return section('Merge the records',
    h('p', {}, 'Merging makes the two records one. Email addresses, phone numbers, addresses, tags, departments, consent and history from both are kept. You can undo a merge later.'),
    form([
      choices({ name: 'survivor', legend: 'Which record should be kept?', type: 'radio', value: a.id,
        hint: 'The other record is merged into it, and its id then leads to the kept record.',
        options: [[a.id, `Record A: ${fullName(a)}, added ${fmtDate(a.created_at)}`], [b.id, `Record B: ${fullName(b)}, added ${fmtDate(b.created_at)}`]] }),
      differ.length ? h('div', {}, h('h3', {}, 'Where the records differ'),
        differ.map(([k, label]) => choices({ name: `fields.${k}`, legend: `${label} to keep`, type: 'radio', value: '',
          options: [['', 'Decide by the rule below'], [a.id, `${values(a, k)} (record A)`], [b.id, `${values(b, k)} (record B)`]] }))) : null,
      select({ name: 'survivorship', label: differ.length ? 'Rule for the other values' : 'Where the records differ, keep', options: [['', 'The service’s usual rule'], ['most_recent', 'The value set most recently'], ['most_complete', 'The longest value'], ['most_trusted', 'The value from the most trusted source (staff, then imports)']] }),
      button('Merge these records'),
    ], async (v) => {
      const fields = {};
      for (const [k] of differ) if (v[`fields.${k}`]) fields[k] = v[`fields.${k}`];
      const body = { survivor: v.survivor, fields };
      if (v.survivorship) body.survivorship = v.survivorship;
      const res = await api('POST', `/api/v1/matches/${m.id}/accept`, { body });
      page('Records merged', { caption: 'Review possible duplicates' },
        h('div', { class: 'notice notice--success', role: 'status' },
          h('p', {}, `The two records are now one: ${fullName(res.person)}.`),
          h('p', { class: 'review-notice-link' }, link(`/people/${res.person.id}`, `Go to the record of ${fullName(res.person)}`))),
        h('p', {}, 'If this was a mistake, you can put the records back as they were.'),
        h('div', { class: 'button-group' },
          button('Undo this merge', { kind: 'secondary', onClick: () => navigate(unmergePath(res.person.id, res.merge)) }),
          link('/review', 'Back to the review queue')));
    }));
}

function rejectSection(m) {
  return section('Not the same person',
    h('p', {}, 'If these are two different people, say so. They will not be proposed again.'),
    form([
      field({ name: 'reason', label: 'Why not? (optional)', type: 'textarea', rows: 3, hint: 'Kept in the audit log. Do not include personal details, for example “different dates of birth on file”.' }),
      button('They are not the same person', { kind: 'secondary' }),
    ], async (v) => {
      const reason = v.reason.trim();
      await api('POST', `/api/v1/matches/${m.id}/reject`, { body: reason ? { reason } : {} });
      notice('Marked as not the same person. The pair will not be proposed again.');
      navigate('/review');
    }));
}

// ---------- merge history and unmerge ----------

const mergesOf = (personId) => api('GET', `/api/v1/people/${encodeURIComponent(personId)}/merges`);
const unmergePath = (personId, merge) => withQuery(`/people/${personId}/unmerge`, { merge });

/** The people merged in by one merge, as links to their records (a merged record's page leads
 * on to the record it was merged into). */
function mergedLinks(x) {
  if (!x.merged.length) return 'records no longer available';
  return x.merged.map((id, i) => [i ? (i === x.merged.length - 1 ? ' and ' : ', ') : null, link(`/people/${id}`, `record ${id}`, { class: 'link merge-history__person' })]);
}

personActions.push((person) => {
  if (!person || !person.id || !can('people_merge')) return null;
  const title = () => h('h3', {}, 'Merge history');
  const box = h('div', { class: 'merge-history' }, title(), loading('Loading the merge history…'));
  mergesOf(person.id).then((list) => {
    replace(box, title(), list.length
      ? h('ul', { class: 'merge-history__list' }, list.map((x) => h('li', { class: 'merge-history__item' },
        h('p', {}, `Merged into this record on ${fmtDateTime(x.created_at)}: `, mergedLinks(x), '.'),
        x.undone_at
          ? h('p', { class: 'muted' }, `Undone on ${fmtDateTime(x.undone_at)}.`)
          : h('p', {}, link(unmergePath(person.id, x.id), ['Undo this merge', h('span', { class: 'visually-hidden' }, ` made ${fmtDateTime(x.created_at)}`)])))))
      : h('p', { class: 'muted' }, 'No other records have been merged into this one.'));
  }).catch((e) => {
    if (e instanceof ApiError && e.status === 401) return;
    replace(box, title(), h('p', { class: 'muted' }, `The merge history cannot be shown: ${e.message}`));
  });
  return box;
});

route('/people/:id/unmerge', async ({ id }, current) => {
  const mergeId = hashQuery().get('merge') || '';
  const person = await api('GET', `/api/v1/people/${encodeURIComponent(id)}`);
  const merges = await mergesOf(person.id);
  if (!current()) return;
  const back = [`/people/${person.id}`, 'Back to the record'];
  const chosen = merges.find((x) => x.id === mergeId);
  if (!chosen) {
    page('Undo a merge', { back, caption: fullName(person) },
      h('p', {}, mergeId ? `There is no such merge into ${fullName(person)}.` : 'No merge was chosen.'),
      h('p', {}, 'Choose the merge to undo from the merge history on ', link(back[0], 'the record'), '.'));
    return;
  }
  if (chosen.undone_at) {
    page('Undo a merge', { back, caption: fullName(person) },
      h('p', {}, `This merge was already undone on ${fmtDateTime(chosen.undone_at)}.`),
      h('p', {}, link(back[0], 'Back to the record')));
    return;
  }
  const n = chosen.merged.length;
  page('Undo a merge', { back, caption: fullName(person) },
    h('p', {}, `This undoes the merge of ${n === 1 ? 'another record' : `${n} records`} into ${fullName(person)} made ${fmtDateTime(chosen.created_at)}: `, mergedLinks(chosen), '.'),
    h('p', { class: 'warning-text' }, 'The records go back exactly as they were before the merge. Changes made since stay on the record where they were made. The records will not be proposed as duplicates again.'),
    form([h('div', { class: 'button-group' }, button('Yes, undo this merge', { kind: 'warning' }), link(back[0], 'Cancel'))], async () => {
      let res;
      try {
        res = await api('POST', `/api/v1/people/${person.id}/unmerge`, { body: { merge: chosen.id } });
      } catch (e) {
        if (e instanceof ApiError) for (const x of e.problem.errors || []) if (x.field === 'merge') x.field = '';
        throw e;
      }
      page('Merge undone', { caption: fullName(person) },
        h('div', { class: 'notice notice--success', role: 'status' }, h('p', {}, `The merge has been undone: ${res.people.length} records are separate again.`)),
        table({
          caption: 'The records restored',
          rows: res.people,
          columns: [
            { label: 'Name', render: (p) => link(`/people/${p.id}`, fullName(p)) },
            { label: 'In the merge', render: (p) => (p.id === res.people[0].id ? 'The record kept' : 'A record merged into it') },
            { label: 'Email addresses', render: (p) => p.emails.map((e) => e.address).join(', ') },
            { label: 'Added', render: (p) => fmtDate(p.created_at) },
          ],
        }),
        h('p', {}, link(`/people/${person.id}`, `Back to the record of ${fullName(person)}`)),
        h('p', {}, link('/review', 'Go to the review queue')));
    }));
}, { permission: 'people_merge' });
