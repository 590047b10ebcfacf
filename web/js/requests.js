// The register of data-protection requests (access, erasure, …) and their statutory clock:
// the open ones by due date, registering a new one, and stopping, restarting, extending and
// closing one. For the data protection officer.
import {
  h, api, ApiError, route, page, form, field, choices, select, button, summaryList, table, tag,
  section, notice, navigate, link, fmtDate, fmtDateTime, hashQuery, withQuery, replace, loading,
} from './core.js';

const enc = encodeURIComponent;

const KINDS = [
  ['access', 'Access (a copy of their data)'],
  ['erasure', 'Erasure'],
  ['rectification', 'Rectification (correcting their data)'],
  ['restriction', 'Restriction of processing'],
  ['objection', 'Objection'],
  ['portability', 'Data portability'],
];
const KIND_LABEL = Object.fromEntries(KINDS.map(([v, t]) => [v, t.replace(/ \(.*\)$/, '')]));
const CHANNELS = [['email', 'Email'], ['post', 'Post'], ['phone', 'Phone'], ['in_person', 'In person'], ['web', 'Web form'], ['other', 'Other']];
const OUTCOMES = [
  ['completed', 'Completed', 'The request was answered in full'],
  ['refused', 'Refused', 'Manifestly unfounded or excessive, or an exemption applies: say which in the note'],
  ['withdrawn', 'Withdrawn', 'The requester withdrew it'],
];
const AWAITING = [
  ['identity', 'Proof of identity', 'The month runs again from the day it arrives'],
  ['fee', 'A fee', 'The month runs again from the day it arrives'],
  ['clarification', 'Clarification of what they want', 'The days the clock is stopped are added'],
];
const AWAITING_LABEL = { identity: 'proof of identity', fee: 'a fee', clarification: 'clarification' };
const STATUS_LABEL = { open: 'Open', completed: 'Completed', refused: 'Refused', withdrawn: 'Withdrawn' };

/** A validation error raised in the browser, shown by form() like the API's. */
function invalid(errors) {
  return new ApiError(422, { status: 422, code: 'validation', detail: 'Check the fields below.', errors });
}

/** Today as YYYY-MM-DD, in UTC as the service counts days. */
function today() {
  return new Date().toISOString().slice(0, 10);
}

/** Where a request stands on its clock, as a tag. */
function clockTag(r) {
  if (r.status !== 'open') return tag(STATUS_LABEL[r.status] || r.status, 'grey');
  if (r.clock_stopped_on) return tag('Clock stopped', 'yellow');
  if (r.overdue) return tag(`Overdue by ${-r.days_left} ${r.days_left === -1 ? 'day' : 'days'}`, 'red');
  if (r.due_soon) return tag(r.days_left === 0 ? 'Due today' : `Due in ${r.days_left} ${r.days_left === 1 ? 'day' : 'days'}`, 'yellow');
  return tag(`${r.days_left} days left`, 'green');
}

const STATUS_FILTERS = [['open', 'Open'], ['closed', 'Closed'], ['all', 'All']];

route('/privacy/requests', async (_params, isCurrent) => {
  const status = hashQuery().get('status') || 'open';
  const results = h('div', {}, loading('Loading the requests…'));
  const f = form([
    select({ name: 'kind', label: 'What is asked for', options: [['', 'Choose…'], ...KINDS] }),
    field({ name: 'requester', label: 'Who made the request', hint: 'As they signed it.', width: 'long', autocomplete: 'off' }),
    select({ name: 'channel', label: 'How it arrived', options: [['', 'Choose…'], ...CHANNELS] }),
    field({ name: 'received_on', label: 'Received on', type: 'date', value: today(), hint: 'The clock starts on the day the request was received, working day or not.' }),
    field({ name: 'person', label: 'Person’s id (optional)', hint: 'The id on their record, if you know who it is about.', spellcheck: false, autocomplete: 'off' }),
    field({ name: 'notes', label: 'Notes (optional)', type: 'textarea', rows: 3 }),
    button('Register the request'),
  ], async (v) => {
    const errors = [];
    if (!v.kind) errors.push({ field: 'kind', code: 'required', message: 'Choose what is asked for' });
    if (!v.requester.trim()) errors.push({ field: 'requester', code: 'required', message: 'Say who made the request' });
    if (!v.channel) errors.push({ field: 'channel', code: 'required', message: 'Choose how it arrived' });
    if (errors.length) throw invalid(errors);
    const body = { kind: v.kind, requester: v.requester.trim(), channel: v.channel, received_on: v.received_on || null, person: v.person.trim() || null, notes: v.notes.trim() || null };
    const r = await api('POST', '/api/v1/rights-requests', { body });
    notice(`Registered. It must be answered by ${fmtDate(r.due_on)}.`);
    navigate(`/privacy/requests/${enc(r.id)}`);
  });
  page('Rights requests', { back: ['/privacy', 'Back to data protection'], caption: 'Data protection' },
    h('p', { class: 'lead' }, 'Requests to see, correct, erase or restrict personal data, and objections. '
      + 'Each must be answered within a month of receipt (to the same date next month, or the next working day).'),
    h('nav', { 'aria-label': 'Which requests' }, h('ul', { class: 'pagination' }, STATUS_FILTERS.map(([v, t]) =>
      h('li', {}, v === status ? h('strong', {}, t) : link(withQuery('/privacy/requests', { status: v }), t))))),
    results,
    section('Register a request', f));
  const list = await api('GET', withQuery('/api/v1/rights-requests', { status, limit: 200 }));
  if (!isCurrent()) return;
  replace(results,
    h('p', { role: 'status' }, `${list.total} ${list.total === 1 ? 'request' : 'requests'}`
      + (list.overdue ? `, ${list.overdue} overdue` : '') + (list.due_soon ? `, ${list.due_soon} due within five days` : '') + '.'),
    table({
      caption: status === 'open' ? 'Open requests, soonest due first' : 'Requests',
      columns: [
        { label: 'Received', render: (r) => link(`/privacy/requests/${enc(r.id)}`, fmtDate(r.received_on)) },
        { label: 'Request', render: (r) => KIND_LABEL[r.kind] || r.kind },
        { label: 'From', render: whoFrom },
        { label: 'Due', render: (r) => (r.due_on ? fmtDate(r.due_on) : '') },
        { label: 'Status', render: clockTag },
      ],
      rows: list.items,
      empty: status === 'open' ? 'There are no open requests.' : 'There are no requests here.',
    }));
}, { permission: 'rights_requests' });

/** Who made a request, or why that is no longer held. */
function whoFrom(r) {
  if (r.requester) return r.requester;
  return h('span', { class: 'muted' }, r.anonymised_at ? 'Removed after the retention period' : 'Erased');
}

/** A form that posts to one of a request's actions, then shows the request again. */
function actionForm(id, action, fields, label, toBody, done, kind) {
  return form([...fields, button(label, { kind })], async (v) => {
    await api('POST', `/api/v1/rights-requests/${enc(id)}/${action}`, { body: toBody(v) });
    notice(done);
    navigate(`/privacy/requests/${enc(id)}`);
  });
}

route('/privacy/requests/:id', async ({ id }, isCurrent) => {
  const r = await api('GET', `/api/v1/rights-requests/${enc(id)}`);
  if (!isCurrent()) return;
  const open = r.status === 'open';
  const actions = [];
  if (open && r.clock_stopped_on) {
    actions.push(section('Restart the clock',
      h('p', {}, r.awaiting === 'clarification'
        ? 'When the requester says what they want, the clock runs again; the days it was stopped are added to the time allowed.'
        : 'When it arrives, the month to respond starts again from that day.'),
      actionForm(id, 'restart-clock', [field({ name: 'on', label: 'Arrived on', type: 'date', value: today() })],
        'Restart the clock', (v) => ({ on: v.on || null }), 'The clock is running again.')));
  } else if (open) {
    actions.push(section('Stop the clock',
      h('p', {}, 'While you wait for something you asked the requester for, the clock can be stopped.'),
      actionForm(id, 'stop-clock', [
        choices({ name: 'awaiting', type: 'radio', legend: 'What are you waiting for?', options: AWAITING }),
        field({ name: 'on', label: 'Asked on', type: 'date', value: today() }),
        field({ name: 'reason', label: 'Note while it is stopped (optional)', hint: 'Not kept once the clock restarts.' }),
      ], 'Stop the clock', (v) => {
        if (!v.awaiting) throw invalid([{ field: 'awaiting', code: 'required', message: 'Choose what you are waiting for' }]);
        return { awaiting: v.awaiting, on: v.on || null, reason: v.reason.trim() || null };
      }, 'The clock is stopped.', 'secondary')));
    if (r.extended_months < 2) {
      actions.push(section('Extend the time to respond',
        h('p', {}, `A complex request, or many from one person, may take up to two more months. Decide by ${fmtDate(r.first_due_on)} and tell the requester why.`),
        actionForm(id, 'extend', [
          select({ name: 'months', label: 'Extend by, in all', options: [['1', 'One month'], ['2', 'Two months']].filter(([m]) => Number(m) > r.extended_months) }),
          field({ name: 'reason', label: 'Why (as told to the requester)', type: 'textarea', rows: 2 }),
        ], 'Extend', (v) => ({ months: Number(v.months), reason: v.reason }), 'The time to respond is extended.', 'secondary')));
    }
  }
  if (!r.person && !r.anonymised_at) {
    actions.push(section('Link to a person',
      h('p', {}, 'Once you know whose data the request is about, link it to their record: their erasure then reaches it, and it is in their subject access export.'),
      form([
        field({ name: 'person', label: 'Person’s id', hint: 'The id on their record.', spellcheck: false, autocomplete: 'off' }),
        button('Link', { kind: 'secondary' }),
      ], async (v) => {
        if (!v.person.trim()) throw invalid([{ field: 'person', code: 'required', message: 'Enter the person’s id' }]);
        await api('PATCH', `/api/v1/rights-requests/${enc(id)}`, { body: { person: v.person.trim() } });
        notice('The request is linked to the person.');
        navigate(`/privacy/requests/${enc(id)}`);
      })));
  }
  if (open) {
    actions.push(section('Close the request',
      actionForm(id, 'close', [
        choices({ name: 'outcome', type: 'radio', legend: 'How was it closed?', options: OUTCOMES }),
        field({ name: 'note', label: 'Note (optional)', type: 'textarea', rows: 3 }),
      ], 'Close the request', (v) => {
        if (!v.outcome) throw invalid([{ field: 'outcome', code: 'required', message: 'Choose how it was closed' }]);
        return { outcome: v.outcome, note: v.note.trim() || null };
      }, 'The request is closed.')));
  }
  page(`${KIND_LABEL[r.kind] || r.kind} request`, { back: ['/privacy/requests', 'Back to rights requests'], caption: 'Data protection' },
    summaryList([
      ['Status', clockTag(r)],
      ['From', whoFrom(r)],
      ['Received', `${fmtDate(r.received_on)} (${(CHANNELS.find(([c]) => c === r.channel) || [, r.channel])[1]})`],
      r.counts_from !== r.received_on ? ['Month counts from', fmtDate(r.counts_from)] : null,
      ['Due', r.due_on ? fmtDate(r.due_on) : (r.clock_stopped_on
        ? `Clock stopped on ${fmtDate(r.clock_stopped_on)}, awaiting ${AWAITING_LABEL[r.awaiting] || r.awaiting}${r.stop_reason ? ` (${r.stop_reason})` : ''}` : '')],
      r.extended_months ? ['Extended', `By ${r.extended_months} ${r.extended_months === 1 ? 'month' : 'months'}: ${r.extension_reason}`] : null,
      r.clock_stops.length ? ['Clock stopped before', h('ul', {}, r.clock_stops.map((s) =>
        h('li', {}, `${fmtDate(s.stopped_on)} to ${fmtDate(s.restarted_on)}, awaiting ${AWAITING_LABEL[s.awaiting] || s.awaiting}`)))] : null,
      ['Person', r.person ? link(`/people/${enc(r.person)}`, 'Open their record') : null],
      ['Notes', r.notes],
      r.closed_at ? ['Closed', `${fmtDateTime(r.closed_at)}${r.outcome_note ? ` — ${r.outcome_note}` : ''}`] : null,
      r.anonymised_at ? ['Anonymised', `${fmtDateTime(r.anonymised_at)}: the retention period ended, so who made it, the notes and the link to the person were removed`] : null,
    ]),
    ...actions);
}, { permission: 'rights_requests' });
