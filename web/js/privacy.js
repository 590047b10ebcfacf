// Data protection screens: the data-protection actions on a person's record (subject access
// export, restriction, erasure), the audit log, and the suppression list.
import {
  h, api, ApiError, route, page, form, field, choices, select, button, summaryList, table, tag,
  section, notice, navigate, link, can, fmtDateTime, download, personActions, hashQuery,
  withQuery, loading, replace, session,
} from './core.js';

// ---------- helpers ----------

/** A person's display name (never empty). */
function personName(p) {
  const given = p.preferred_name || p.given_name;
  const name = [given, p.family_name].filter(Boolean).join(' ');
  return name || p.organisation || 'Unnamed person';
}

const enc = encodeURIComponent;

/** A validation error raised in the browser, shown by form() like the API's. */
function invalid(errors) {
  return new ApiError(422, { status: 422, code: 'validation', detail: 'Check the fields below.', errors });
}

const REASON_HINT = 'For example: “Art. 17 request received 3 November, ref DP-2026-114”. '
  + 'The reason is kept in the audit log, so do not write personal details in it.';

function reasonField(label) {
  return field({ name: 'reason', label, type: 'textarea', rows: 3, hint: REASON_HINT });
}

/** Check a reason in the browser (the service checks it again: 3 to 500 characters). */
function reasonErrors(v, message) {
  return v.reason.trim() ? [] : [{ field: 'reason', code: 'required', message }];
}

async function loadPerson(id) {
  return api('GET', `/api/v1/people/${enc(id)}`);
}

// ---------- the person page's actions ----------

/** The data-protection actions the signed-in user may take on a person. */
function privacyActions(person) {
  const id = person.id;
  const items = [];
  const status = h('p', { class: 'error-message privacy-actions__error', role: 'alert', hidden: true });
  const fetchExport = async (format, btn) => {
    status.hidden = true;
    btn.disabled = true;
    try {
      await download(`/api/v1/people/${enc(id)}/export`, `subject-access-${id}.${format}`, format === 'csv' ? { format: 'csv' } : undefined);
    } catch (e) {
      status.textContent = `The export could not be downloaded: ${e.message}`;
      status.hidden = false;
    } finally {
      btn.disabled = false;
    }
  };
  if (can('subject_access')) {
    for (const [format, label] of [['json', 'Download subject access export (JSON)'], ['csv', 'Download subject access export (CSV)']]) {
      const b = button(label, { kind: 'secondary', onClick: () => fetchExport(format, b) });
      items.push(b);
    }
  }
  const links = [];
  if (can('restrict')) {
    if (person.status === 'restricted') links.push(link(`/people/${enc(id)}/unrestrict`, 'Lift the restriction'));
    else if (person.status === 'active') links.push(link(`/people/${enc(id)}/restrict`, 'Restrict processing'));
  }
  if (can('erase')) links.push(link(`/people/${enc(id)}/erase`, 'Erase this person', { class: 'link privacy-actions__erase' }));
  if (!items.length && !links.length) return null;
  return h('div', { class: 'privacy-actions' },
    h('h3', { class: 'privacy-actions__title' }, 'Data protection'),
    person.status === 'restricted' ? h('p', {}, tag('Restricted', 'yellow'), ' Processing of this record is restricted.') : null,
    items.length ? h('div', { class: 'button-group' }, items) : null,
    status,
    links.length ? h('ul', { class: 'privacy-actions__links' }, links.map((l) => h('li', {}, l))) : null);
}

personActions.push(privacyActions);

// A page of its own with the same actions, reachable from the audit log and usable before
// (or without) the person page.
route('/people/:id/data-protection', async ({ id }, isCurrent) => {
  const person = await loadPerson(id);
  if (!isCurrent()) return;
  const actions = privacyActions(person);
  page(`Data protection for ${personName(person)}`, { back: [`/people/${enc(id)}`, 'Back to the record'], caption: 'Data protection' },
    summaryList([
      ['Name', personName(person)],
      ['Email addresses', person.emails.length ? h('ul', {}, person.emails.map((e) => h('li', {}, e.address))) : ''],
      ['Status', person.status === 'restricted' ? tag('Restricted', 'yellow') : tag('Active', 'green')],
      ['Record id', h('code', {}, person.id)],
    ]),
    actions || h('p', {}, 'Your role does not allow any data protection action on this record.'),
    can('audit_read') ? h('p', {}, link(withQuery('/privacy', { target_kind: 'person', target_id: person.id }), 'See the audit log of this record')) : null);
}, { permission: 'people_read' });

// ---------- restriction ----------

function restrictionScreen(restrict) {
  return async ({ id }, isCurrent) => {
    const person = await loadPerson(id);
    if (!isCurrent()) return;
    const name = personName(person);
    const back = [`/people/${enc(id)}`, 'Back to the record'];
    const title = restrict ? 'Restrict processing' : 'Lift the restriction';
    const wanted = restrict ? 'active' : 'restricted';
    if (person.status !== wanted) {
      page(title, { back, caption: name },
        h('p', {}, restrict
          ? 'Processing of this record is already restricted.'
          : 'Processing of this record is not restricted, so there is nothing to lift.'),
        h('p', {}, link(`/people/${enc(id)}`, 'Go back to the record')));
      return;
    }
    page(title, { back, caption: name },
      restrict
        ? [
          h('p', {}, `While processing is restricted (UK GDPR Article 18), ${name}’s record:`),
          h('ul', {},
            h('li', {}, 'is hidden from everyone except the data protection officer, in searches and lists too'),
            h('li', {}, 'is never contacted, whatever their consent says'),
            h('li', {}, 'cannot have engagement logged against it')),
          h('p', {}, 'Nothing is deleted. You can lift the restriction later.'),
        ]
        : [
          h('p', {}, `Lifting the restriction makes ${name}’s record visible to staff again, and they may be contacted again where their consent allows it.`),
        ],
      form([
        reasonField(restrict ? 'Why are you restricting processing?' : 'Why are you lifting the restriction?'),
        h('div', { class: 'button-group' },
          button(restrict ? 'Restrict processing' : 'Lift the restriction'),
          link(`/people/${enc(id)}`, 'Cancel')),
      ], async (v) => {
        const errors = reasonErrors(v, restrict ? 'Enter why you are restricting processing' : 'Enter why you are lifting the restriction');
        if (errors.length) throw invalid(errors);
        await api('POST', `/api/v1/people/${enc(id)}/${restrict ? 'restrict' : 'unrestrict'}`, { body: { reason: v.reason.trim() } });
        notice(restrict ? `Processing of ${name}’s record is now restricted.` : `The restriction on ${name}’s record has been lifted.`);
        navigate(`/people/${enc(id)}`);
      }));
  };
}

route('/people/:id/restrict', restrictionScreen(true), { permission: 'restrict' });
route('/people/:id/unrestrict', restrictionScreen(false), { permission: 'restrict' });

// ---------- erasure ----------

/** Reports of erasures done in this page's life, by person id (shown on the confirmation). */
const erasureReports = new Map();

route('/people/:id/erase', async ({ id }, isCurrent) => {
  const person = await loadPerson(id);
  if (!isCurrent()) return;
  const name = personName(person);
  page('Erase this person', { back: [`/people/${enc(id)}`, 'Back to the record'], caption: name },
    h('p', { class: 'warning-text' }, h('span', { class: 'visually-hidden' }, 'Warning: '),
      'Erasure removes this person’s personal data for good. It cannot be undone.'),
    summaryList([
      ['Name', name],
      ['Email addresses', person.emails.length ? h('ul', {}, person.emails.map((e) => h('li', {}, e.address))) : ''],
      ['Phone numbers', person.phones.length ? h('ul', {}, person.phones.map((p) => h('li', {}, p.number))) : ''],
      ['Departments', person.departments.join(', ')],
      ['Record id', h('code', {}, person.id)],
    ]),
    h('div', { class: 'columns' },
      h('div', {},
        h('h2', {}, 'What is removed'),
        h('ul', {},
          h('li', {}, 'names, date of birth, organisation, email addresses, phone numbers, postal addresses and tags'),
          h('li', {}, 'consent history, departmental source records and imported rows'),
          h('li', {}, 'their engagement, which is kept only as anonymous monthly counts'),
          h('li', {}, 'any records that were merged into this one'))),
      h('div', {},
        h('h2', {}, 'What is kept'),
        h('ul', {},
          h('li', {}, 'the record’s id, which from now on says the record was erased'),
          h('li', {}, 'their email addresses and phone numbers on the suppression list, as coded fingerprints (keyed hashes) only, so they are never contacted again'),
          h('li', {}, 'the audit log: who did what and when, with ids and field names, never the values'),
          h('li', {}, 'links to departments')))),
    form([
      reasonField('Why are you erasing this person?'),
      choices({ name: 'confirm', legend: 'Confirm the erasure', options: [['yes', 'I understand this cannot be undone']] }),
      h('div', { class: 'button-group' },
        button('Erase this person', { kind: 'warning' }),
        link(`/people/${enc(id)}`, 'Cancel')),
    ], async (v) => {
      const errors = reasonErrors(v, 'Enter why you are erasing this person');
      if (!v.confirm.includes('yes')) errors.push({ field: 'confirm', code: 'required', message: 'Confirm that you understand erasure cannot be undone' });
      if (errors.length) throw invalid(errors);
      const report = await api('POST', `/api/v1/people/${enc(id)}/erase`, { body: { reason: v.reason.trim() } });
      erasureReports.set(report.id, { report, name });
      navigate(`/people/${enc(report.id)}/erased`);
    }));
}, { permission: 'erase' });

const TABLE_LABELS = {
  people: 'The person record (personal fields blanked)',
  person_emails: 'Email addresses',
  person_phones: 'Phone numbers',
  person_addresses: 'Postal addresses',
  person_tags: 'Tags',
  field_provenance: 'Where each value came from',
  consent_state: 'Current consent',
  consent_events: 'Consent history',
  engagement_events: 'Engagement (folded into anonymous counts)',
  source_records: 'Departmental source records',
  blocking_keys: 'Keys used to find duplicates',
  match_candidates: 'Possible duplicate pairs',
  merges: 'Merge history',
  import_rows: 'Imported rows',
  outbox: 'Queued and sent messages',
};

function reportView(id, report) {
  const rows = Object.entries(report.tables || {}).filter(([, n]) => n > 0);
  return [
    summaryList([
      ['Record id', h('code', {}, id)],
      report.reason ? ['Reason', report.reason] : null,
      ['Added to the suppression list', `${report.suppressed} email ${report.suppressed === 1 ? 'address or phone number' : 'addresses and phone numbers'}`],
      report.merged_records ? ['Merged records also erased', String(report.merged_records)] : null,
    ]),
    table({
      caption: 'What was removed or blanked',
      columns: [
        { label: 'Data', render: (r) => [TABLE_LABELS[r[0]] || r[0], ' ', h('code', { class: 'muted' }, r[0])] },
        { label: 'Rows', numeric: true, render: (r) => String(r[1]) },
      ],
      rows,
      empty: 'No rows held this person’s data.',
    }),
    rows.length ? h('p', { class: 'muted' }, 'Other tables held nothing about this person.') : null,
  ];
}

route('/people/:id/erased', async ({ id }, isCurrent) => {
  let kept = erasureReports.get(id);
  if (!kept && can('audit_read')) {
    // After a reload: the erasure's audit event holds the same counts.
    const found = await api('GET', '/api/v1/audit', { query: { target_kind: 'person', target_id: id, action: 'person.erase', limit: 1 } });
    if (!isCurrent()) return;
    const ev = found.items[0];
    if (ev && ev.detail) kept = { report: ev.detail, name: null, when: ev.occurred_at };
  }
  const auditLink = can('audit_read') ? h('p', {}, link(withQuery('/privacy', { target_kind: 'person', target_id: id, action: 'person.erase' }), 'See the erasure in the audit log')) : null;
  if (!kept) {
    page('Personal data erased', { caption: 'Data protection' },
      h('p', {}, 'This record has been erased.'), auditLink,
      can('people_read') ? h('p', {}, link('/people', 'Go to people')) : null);
    return;
  }
  page('Personal data erased', { caption: 'Data protection' },
    h('div', { class: 'panel-confirmation', role: 'status' },
      h('p', { class: 'panel-confirmation__body' }, kept.name ? `${kept.name}’s personal data has been erased.` : 'The personal data has been erased.',
        kept.when ? ` (${fmtDateTime(kept.when)})` : null)),
    h('p', {}, 'The record’s id now answers that the record was erased. The erasure and your reason are in the audit log.'),
    reportView(id, kept.report),
    auditLink,
    can('people_read') ? h('p', {}, link('/people', 'Go to people')) : null);
}, { permission: 'erase' });

// ---------- the audit log ----------

const ACTIONS = [
  ['person.read', 'Read a record'],
  ['person.list_read', 'Listed people'],
  ['person.search_read', 'Searched people'],
  ['person.review_read', 'Read a possible duplicate'],
  ['person.create', 'Created a record'],
  ['person.update', 'Changed a record'],
  ['person.merge', 'Merged records'],
  ['person.unmerge', 'Undid a merge'],
  ['person.export', 'Subject access export'],
  ['person.erase', 'Erased a person'],
  ['person.restrict', 'Restricted processing'],
  ['person.unrestrict', 'Lifted a restriction'],
  ['consent.read', 'Read consent'],
  ['consent.record', 'Recorded consent'],
  ['timeline.read', 'Read a timeline'],
  ['scores.read', 'Read scores'],
  ['engagement.log', 'Logged engagement'],
  ['suppression.add', 'Added to the suppression list'],
  ['match.reject', 'Rejected a possible duplicate'],
  ['import.upload', 'Uploaded an import'],
  ['import.dry_run', 'Checked an import'],
  ['import.committed', 'Committed an import'],
  ['import.rollback', 'Started an import rollback'],
  ['import.rolled_back', 'Rolled back an import'],
  ['dedupe.start', 'Started a duplicate search'],
  ['auth.login', 'Signed in'],
  ['auth.logout', 'Signed out'],
  ['auth.password_change', 'Changed their password'],
  ['auth.token_create', 'Created an API token'],
  ['auth.token_revoke', 'Revoked an API token'],
  ['access.denied', 'Was refused access'],
  ['audit.read', 'Read the audit log'],
  ['audit.verify', 'Checked the audit log’s seals'],
  ['audit.seal', 'Sealed the audit log'],
  ['user.create', 'Created a staff account'],
  ['user.update', 'Changed a staff account'],
  ['user.end_sessions', 'Ended a user’s sessions'],
  ['department.create', 'Created a department'],
  ['department.update', 'Renamed a department'],
  ['purpose.create', 'Created a purpose'],
  ['purpose.update', 'Changed a purpose'],
  ['purpose.wording_add', 'Added a wording'],
  ['activity.create', 'Created an activity'],
  ['activity.update', 'Changed an activity'],
  ['activity_kind.create', 'Added an activity kind'],
  ['segment.create', 'Created a segment'],
  ['template.create', 'Created a template'],
  ['template.preview', 'Previewed a template'],
  ['campaign.create', 'Created a campaign'],
  ['campaign.approve', 'Approved a campaign'],
  ['campaign.start', 'Started a campaign'],
  ['campaign.cancel', 'Cancelled a campaign'],
  ['campaign.test_send', 'Sent a test email'],
];
const ACTION_LABEL = Object.fromEntries(ACTIONS);

const TARGET_KINDS = [
  ['person', 'Person'], ['user', 'Staff account'], ['department', 'Department'], ['purpose', 'Purpose'],
  ['import', 'Import'], ['match', 'Possible duplicate'], ['activity', 'Activity'], ['activity_kind', 'Activity kind'],
  ['campaign', 'Campaign'], ['segment', 'Segment'], ['token', 'API token'], ['job', 'Background job'],
];

const OUTCOMES = [['success', 'Success'], ['failure', 'Failure'], ['denied', 'Denied']];
const OUTCOME_TAG = { success: 'green', failure: 'red', denied: 'yellow' };

const FILTER_KEYS = ['actor', 'action', 'target_kind', 'target_id', 'from', 'to', 'outcome'];
const PAGE_SIZE = 50;

/** A date (YYYY-MM-DD, local) as the RFC 3339 instant of its start; `next` = the next day's. */
function dayStart(d, next) {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(d)) return null;
  const t = new Date(`${d}T00:00:00`);
  if (Number.isNaN(t.getTime())) return null;
  if (next) t.setDate(t.getDate() + 1);
  return t.toISOString();
}

/** An event's detail (ids, field names, counts and reasons: no personal values), one line per key. */
function detailView(detail) {
  if (detail === null || detail === undefined) return '';
  if (typeof detail !== 'object') return String(detail);
  return h('span', { class: 'audit-detail' }, Object.entries(detail).map(([k, v]) => {
    const val = v && typeof v === 'object'
      ? (Array.isArray(v) ? v.join(', ') : Object.entries(v).filter(([, x]) => x !== 0).map(([a, b]) => `${a} ${b}`).join(', '))
      : String(v);
    return h('span', { class: 'audit-detail__item' }, `${k.replace(/_/g, ' ')}: ${val}`);
  }));
}

/** Fetch one page of events. The service has no outcome filter: with one, older pages are
 * read (up to 4 × 500 events) and filtered here. */
async function auditPage(f, before) {
  const query = {
    action: f.action, target_kind: f.target_kind, target_id: f.target_id,
    from: dayStart(f.from || '', false), to: dayStart(f.to || '', true), before,
  };
  if (f.actor) query.actor = f.actor.replace(/^user:/, '');
  if (!f.outcome) {
    const r = await api('GET', '/api/v1/audit', { query: { ...query, limit: PAGE_SIZE } });
    return { items: r.items, next: r.next_before, scanned: null };
  }
  const items = [];
  let cursor = before;
  let scanned = 0;
  for (let i = 0; i < 4 && items.length < PAGE_SIZE; i++) {
    const r = await api('GET', '/api/v1/audit', { query: { ...query, before: cursor, limit: 500 } });
    scanned += r.items.length;
    items.push(...r.items.filter((e) => e.outcome === f.outcome));
    cursor = r.next_before;
    if (!cursor) break;
  }
  return { items, next: cursor, scanned };
}

function auditFilters(f) {
  return form([
    h('div', { class: 'audit-filters' },
      select({ name: 'action', label: 'Action', value: f.action, options: [['', 'Any action'], ...ACTIONS.map(([v, t]) => [v, `${t} (${v})`])] }),
      select({ name: 'target_kind', label: 'Kind of record', value: f.target_kind, options: [['', 'Any kind'], ...TARGET_KINDS] }),
      field({ name: 'target_id', label: 'Record id', value: f.target_id, hint: 'For example a person’s id', spellcheck: false, width: 'medium' }),
      field({ name: 'actor', label: 'Staff member’s id', value: f.actor, hint: 'As shown after “user:”', spellcheck: false, width: 'medium' }),
      field({ name: 'from', label: 'From', type: 'date', value: f.from, hint: 'First day included' }),
      field({ name: 'to', label: 'To', type: 'date', value: f.to, hint: 'Last day included' }),
      select({ name: 'outcome', label: 'Outcome', value: f.outcome, options: [['', 'Any outcome'], ...OUTCOMES] })),
    h('div', { class: 'button-group' },
      button('Apply filters'),
      FILTER_KEYS.some((k) => f[k]) ? link('/privacy', 'Clear filters') : null),
  ], async (v) => {
    const dateErrors = [];
    for (const k of ['from', 'to']) {
      if (v[k] && !dayStart(v[k], false)) dateErrors.push({ field: k, code: 'invalid_date', message: `Enter a real date for “${k === 'from' ? 'From' : 'To'}”` });
    }
    if (!dateErrors.length && v.from && v.to && v.from > v.to) dateErrors.push({ field: 'to', code: 'before_from', message: '“To” must be the same as or after “From”' });
    if (dateErrors.length) throw invalid(dateErrors);
    const q = {};
    for (const k of FILTER_KEYS) if (v[k] && v[k].trim()) q[k] = v[k].trim();
    navigate(withQuery('/privacy', q));
  }, { attrs: { 'aria-label': 'Filter the audit log' } });
}

function actorCell(actor) {
  const m = /^user:(.+)$/.exec(actor);
  if (!m) return actor;
  const you = session.user && session.user.id === m[1];
  return link(withQuery('/privacy', { actor: m[1] }), you ? `You (${actor})` : actor, { class: 'link audit-id', title: 'Show only this staff member’s events' });
}

function targetCell(e) {
  if (!e.target_kind) return '';
  const kind = (TARGET_KINDS.find(([k]) => k === e.target_kind) || [null, e.target_kind])[1];
  const idLink = (id) => link(withQuery('/privacy', { target_kind: e.target_kind, target_id: id }), id, { class: 'link audit-id' });
  if (e.target_id) return [kind, ' ', idLink(e.target_id)];
  const targets = e.targets || [];
  if (!targets.length) return kind;
  // A page of results is one event naming everyone it showed.
  return h('details', {},
    h('summary', {}, `${targets.length} × ${kind}`),
    h('ul', { class: 'audit-targets' }, targets.map((id) => h('li', {}, idLink(id)))));
}

// ---------- the audit log's seals ----------

const SEAL_PROBLEM = {
  events_changed: 'an event was changed after it was sealed',
  events_removed: 'events were removed after they were sealed',
  events_added: 'events were added inside a sealed block',
  chain_broken: 'a seal does not follow on from the one before it',
  seal_missing: 'seals are missing from the chain',
  expected_seal_missing: 'the seal you gave is no longer in the chain',
  expected_hash_differs: 'the seal you gave has another hash in the chain',
};

/** The outcome of a verification of the audit log's hash chain. */
function verificationView(v) {
  const head = v.head;
  const summary = head
    ? `${v.seals_checked} ${v.seals_checked === 1 ? 'seal' : 'seals'} covering ${v.events_checked} events checked. The latest seal is number ${head.seq}, made ${fmtDateTime(head.sealed_at)}, with hash ${head.hash}.`
    : 'Nothing has been sealed yet.';
  const unsealed = v.unsealed_events
    ? `${v.unsealed_events} newer ${v.unsealed_events === 1 ? 'event is' : 'events are'} not sealed yet (the service seals them every minute or so).`
    : 'Every event is sealed.';
  if (v.ok) {
    return h('div', { class: 'audit-verification', role: 'status' },
      h('p', {}, tag('Verified', 'green'), ' No event has been changed, removed or added since it was sealed.'),
      h('p', {}, summary), h('p', { class: 'hint' }, unsealed));
  }
  return h('div', { class: 'audit-verification', role: 'alert' },
    h('p', {}, tag('Does not verify', 'red'), ' The audit log has been changed since it was sealed. Tell the data protection officer and keep this page.'),
    h('ul', {}, v.problems.map((p) => h('li', {}, `${p.seq ? `Seal ${p.seq}: ` : ''}${SEAL_PROBLEM[p.code] || p.code}. `, h('span', { class: 'hint' }, p.message)))),
    h('p', {}, summary));
}

function sealSection() {
  const out = h('div', {});
  return section('Integrity of the audit log',
    h('p', {}, 'The service seals the audit log into a hash chain. Checking it recomputes every seal from the events as they are now, so a change, removal or addition since sealing shows.'),
    form([button('Check the audit log')], async () => {
      replace(out, loading('Checking every seal…'));
      try {
        // A request checks a stretch of the chain; the answer says where the next one starts.
        let part = await api('GET', '/api/v1/audit/verification');
        const whole = { ...part, problems: [...part.problems] };
        while (part.next_from_seq) {
          replace(out, loading(`Checking every seal… ${whole.seals_checked} checked so far.`));
          part = await api('GET', `/api/v1/audit/verification?from_seq=${encodeURIComponent(part.next_from_seq)}`);
          whole.seals_checked += part.seals_checked;
          whole.events_checked += part.events_checked;
          whole.problems.push(...part.problems);
          whole.ok = whole.ok && part.ok;
          Object.assign(whole, { head: part.head, unsealed_events: part.unsealed_events });
        }
        replace(out, verificationView(whole));
      } catch (e) {
        replace(out, h('p', { class: 'error-message' }, `The check could not be run: ${e.message}`));
      }
    }, { attrs: { 'aria-label': 'Check the audit log' } }),
    out);
}

route('/privacy', async (_params, isCurrent) => {
  const q = hashQuery();
  const f = Object.fromEntries(FILTER_KEYS.map((k) => [k, q.get(k) || '']));
  const before = q.get('before') || null;
  const filtered = FILTER_KEYS.some((k) => f[k]);
  const results = h('div', { class: 'audit-results' }, loading('Loading the audit log…'));
  const suppressionBox = can('suppressions_manage') ? h('div', {}, loading('Loading the suppression list…')) : null;
  page('Data protection',
    h('p', { class: 'lead' }, 'The audit log of every sign-in, change and read of personal data, and the suppression list.'),
    h('div', { class: 'inset' },
      h('p', {}, 'To export, restrict or erase someone’s data, find them in ',
        can('people_read') ? link('/people', 'People') : 'People', ' and use the data protection actions on their record.')),
    can('rights_requests') ? section('Rights requests',
      h('p', {}, 'Requests to see, correct, erase or restrict personal data, and objections, with the date each must be answered by.'),
      h('p', {}, link('/privacy/requests', 'See the open requests, or register one'))) : null,
    suppressionBox ? section('Suppression list', suppressionBox) : null,
    sealSection(),
    h('section', { class: 'section' },
      h('h2', {}, 'Audit log'),
      auditFilters(f),
      results));
  const jobs = [];
  if (suppressionBox) {
    jobs.push(api('GET', '/api/v1/suppressions').then((s) => {
      if (!isCurrent()) return;
      const total = Object.values(s.by_reason).reduce((a, b) => a + b, 0);
      replace(suppressionBox, 
        h('p', {}, total === 1 ? '1 email address or phone number must never be contacted.' : `${total} email addresses and phone numbers must never be contacted.`),
        h('p', {}, link('/privacy/suppressions', 'See the list by reason, or add an address')));
    }, (e) => { replace(suppressionBox, h('p', {}, `The suppression list could not be loaded: ${e.message}`)); }));
  }
  let r;
  try {
    r = await auditPage(f, before);
  } catch (e) {
    if (!isCurrent()) return;
    if (e instanceof ApiError && e.status === 400) {
      replace(results, h('p', { class: 'error-message' }, e.message));
      return;
    }
    throw e;
  }
  if (!isCurrent()) return;
  const pageQuery = Object.fromEntries(FILTER_KEYS.filter((k) => f[k]).map((k) => [k, f[k]]));
  replace(results, 
    h('p', { role: 'status' }, r.items.length
      ? `${r.items.length} ${r.items.length === 1 ? 'event' : 'events'} shown${before ? ' (older events)' : ''}.`
      : (filtered ? 'No events match these filters.' : 'There are no events yet.')),
    r.scanned !== null ? h('p', { class: 'hint' }, `Outcome is checked in this browser: ${r.scanned} events were looked at for this page.`) : null,
    table({
      caption: filtered ? 'Audit events matching the filters, newest first' : 'Audit events, newest first',
      columns: [
        { label: 'When', render: (e) => h('span', { class: 'nowrap' }, fmtDateTime(e.occurred_at)) },
        { label: 'Who', render: (e) => actorCell(e.actor) },
        { label: 'Action', render: (e) => [ACTION_LABEL[e.action] || e.action, h('span', { class: 'audit-code' }, e.action)] },
        { label: 'Record', render: targetCell },
        { label: 'Outcome', render: (e) => tag(e.outcome, OUTCOME_TAG[e.outcome] || 'grey') },
        { label: 'Detail', render: (e) => detailView(e.detail) },
      ],
      rows: r.items,
      empty: '',
    }),
    (before || r.next) ? h('nav', { 'aria-label': 'Audit log pages' },
      h('ul', { class: 'pagination' },
        before ? h('li', {}, link(withQuery('/privacy', pageQuery), 'Newest events')) : null,
        r.next ? h('li', {}, link(withQuery('/privacy', { ...pageQuery, before: r.next }), 'Older events')) : null)) : null);
  await Promise.all(jobs);
}, { permission: 'audit_read' });

// ---------- the suppression list ----------

const SUPPRESSION_REASONS = [
  ['objection', 'Objection', 'The person asked us never to contact them at this address or number'],
  ['complaint', 'Complaint', 'The person complained about being contacted'],
  ['staff', 'Staff decision', 'Staff decided this address or number must not be used'],
];
const REASON_LABEL = { ...Object.fromEntries(SUPPRESSION_REASONS.map(([v, t]) => [v, t])), erasure: 'Erasure (added automatically)' };

route('/privacy/suppressions', async (_params, isCurrent) => {
  const s = await api('GET', '/api/v1/suppressions');
  if (!isCurrent()) return;
  const rows = Object.entries(s.by_reason);
  const total = rows.reduce((a, [, n]) => a + n, 0);
  const f = form([
    choices({
      name: 'channel', type: 'radio', legend: 'What kind of contact is it?', value: 'email',
      options: [['email', 'Email address'], ['sms', 'Mobile number for text messages'], ['phone', 'Phone number for calls']],
    }),
    field({ name: 'address', label: 'Email address or phone number', spellcheck: false, width: 'long', autocomplete: 'off' }),
    choices({ name: 'reason', type: 'radio', legend: 'Why must it never be contacted?', options: SUPPRESSION_REASONS }),
    button('Add to the suppression list'),
  ], async (v) => {
    const errors = [];
    if (!v.address.trim()) errors.push({ field: 'address', code: 'required', message: 'Enter the email address or phone number' });
    if (!v.reason) errors.push({ field: 'reason', code: 'required', message: 'Choose why it must never be contacted' });
    if (errors.length) throw invalid(errors);
    await api('POST', '/api/v1/suppressions', { body: { channel: v.channel || 'email', address: v.address.trim(), reason: v.reason } });
    notice('Added to the suppression list. Only a coded fingerprint of it is kept, so it cannot be shown here.');
    navigate('/privacy/suppressions');
  });
  page('Suppression list', { back: can('audit_read') ? ['/privacy', 'Back to data protection'] : null, caption: 'Data protection' },
    h('p', {}, 'Email addresses and phone numbers on this list are never contacted again, whatever the consent records say. '
      + 'Only a keyed hash (a coded fingerprint) of each is stored, never the address itself, so the list survives erasure.'),
    table({
      caption: `Entries by reason (${total} in all)`,
      columns: [
        { label: 'Reason', render: ([r]) => REASON_LABEL[r] || r },
        { label: 'Entries', numeric: true, render: ([, n]) => String(n) },
      ],
      rows,
      empty: 'The suppression list is empty.',
    }),
    section('Add an address or number', f));
}, { permission: 'suppressions_manage' });

export { route };
