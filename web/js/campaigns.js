// Campaigns: segments (built with a form of conditions, with a live count), templates (with a
// preview for a real person), campaigns (draft → approved → sending → sent, or cancelled) with
// their numbers refreshed while sending. All routes need campaigns_manage; the API decides the
// rest (who may approve, who may be contacted when each message goes).
import {
  h, api, ApiError, route, page, field, select, choices, button, form, summaryList, table, tag,
  section, notice, navigate, link, can, session, debounce, replace, loading, fmtDate, fmtDateTime,
  departments, purposes, hashQuery,
} from './core.js';

const PERM = { permission: 'campaigns_manage' };
const enc = encodeURIComponent;

const STATUS = {
  draft: ['Draft', 'grey'], approved: ['Approved', 'blue'], sending: ['Sending', 'yellow'],
  sent: ['Sent', 'green'], cancelled: ['Cancelled', 'red'],
};
const SKIP = {
  no_consent: 'No consent', withdrawn: 'Consent withdrawn', refused: 'Consent refused',
  expired: 'Consent expired', suppressed: 'On the suppression list', no_address: 'No email address',
  restricted: 'Processing restricted', erased: 'Record erased', merged: 'Record merged', other: 'Other reason',
};
const VARIABLES = [
  ['given_name', 'Their given name'], ['family_name', 'Their family name'],
  ['preferred_name', 'The name they prefer'], ['full_name', 'Their full name'], ['title', 'Their title'],
  ['email', 'The address the email goes to'], ['postcode', 'Their postcode'],
  ['organisation', 'Their organisation'], ['sender_name', 'The campaign’s sender name'],
  ['campaign_name', 'The campaign’s name'], ['unsubscribe_url', 'Their own unsubscribe link (required in both bodies)'],
];
// postcode_district is left out of the choices: the API normalises the value given as if it
// were a full postcode (EC1A → E), so it never matches a district. "Postcode starts with" works.
const FIELDS = [
  ['postcode', 'Postcode'],
  ['email_domain', 'Email domain'], ['given_name', 'Given name'], ['family_name', 'Family name'],
  ['organisation', 'Organisation'], ['date_of_birth', 'Date of birth'], ['created_at', 'Date the record was created'],
];
const DATE_FIELDS = ['date_of_birth', 'created_at'];
const TEXT_OPS = [['eq', 'is'], ['ne', 'is not'], ['starts_with', 'starts with'], ['in', 'is one of'], ['is_set', 'is recorded'], ['is_not_set', 'is not recorded']];
const DATE_OPS = [['eq', 'is on'], ['before', 'is before'], ['after', 'is after'], ['is_set', 'is recorded'], ['is_not_set', 'is not recorded']];
const ACTIONS = ['invited', 'registered', 'attended', 'no_show', 'cancelled', 'volunteered', 'responded', 'sent',
  'delivered', 'opened', 'clicked', 'bounced', 'unsubscribed', 'complained'];
const CHANNELS = [['email', 'Email'], ['sms', 'Text message'], ['post', 'Post'], ['phone', 'Phone']];
const STATES = [['granted', 'Given'], ['withdrawn', 'Withdrawn'], ['refused', 'Refused'], ['expired', 'Expired'], ['none', 'Never recorded'], ['contactable', 'May be emailed now (consent, suppression and restrictions all checked)']];
const SCORES = [['recency', 'Recency (how recently they took part)'], ['frequency', 'Frequency (how often)'], ['breadth', 'Breadth (how many kinds)']];
const SCORE_OPS = [['gte', 'at least'], ['lte', 'at most'], ['eq', 'exactly']];
const TYPES = [
  ['consent', 'Consent for a purpose'], ['field', 'A detail of their record (postcode, email domain, name…)'],
  ['department', 'Linked to a department'], ['tag', 'Has a tag'], ['engaged', 'Took part in something'],
  ['score', 'Journey score'],
];

const label = (list, v) => (list.find(([k]) => k === v) || [v, v])[1];
const words = (s) => String(s || '').replace(/_/g, ' ');
const statusTag = (s) => tag(...(STATUS[s] || [s, 'grey']));
const personName = (p) => [p.given_name, p.family_name].filter(Boolean).join(' ') || 'No name recorded';
const buttonLink = (path, text, kind) => h('a', { href: '#' + path, class: ['button', kind ? `button--${kind}` : null] }, text);
const plural = (n, one, many) => `${Number(n).toLocaleString('en-GB')} ${n === 1 ? one : many}`;

function subnav(here) {
  return h('nav', { class: 'campaigns-nav', 'aria-label': 'Campaigns' }, h('ul', { class: 'campaigns-nav__list' },
    [['/campaigns', 'Campaigns'], ['/segments', 'Segments'], ['/templates', 'Templates']].map(([p, t]) =>
      h('li', {}, h('a', { href: '#' + p, class: 'link', 'aria-current': p === here ? 'page' : null }, t)))));
}

/** A validation error raised in the client, shown like the API's. */
function invalid(errors, detail = 'Check the fields below.') {
  return new ApiError(422, { status: 422, code: 'validation', detail, errors });
}

const asList = (x) => (Array.isArray(x) ? x : (x && x.items) || []);
const quiet = (p, fallback) => p.catch((e) => { if (e instanceof ApiError && e.status === 401) throw e; return fallback; });

// ---------- segments: plain-English description ----------

function describe(d, ctx) {
  if (!d || typeof d !== 'object') return '';
  if (d.and) return d.and.map((x) => describe(x, ctx)).join(' and ');
  if (d.or) return d.or.map((x) => describe(x, ctx)).join(' or ');
  if (d.not) return `not (${describe(d.not, ctx)})`;
  if (d.tag !== undefined) return `has the tag “${d.tag}”`;
  if (d.department !== undefined) return `linked to ${ctx.dept(d.department)}`;
  if (d.consent) {
    const c = d.consent;
    return `consent for “${ctx.purpose(c.purpose)}” by ${label(CHANNELS, c.channel).toLowerCase()} is ${label(STATES, c.state || 'granted').toLowerCase()}`;
  }
  if (d.field) {
    const f = d.field;
    const ops = DATE_FIELDS.includes(f.name) ? DATE_OPS : TEXT_OPS;
    const v = Array.isArray(f.value) ? f.value.join(', ') : f.value;
    return `${words(label(FIELDS, f.name)).toLowerCase()} ${label(ops, f.op)}${v === undefined ? '' : ` “${v}”`}`;
  }
  if (d.engaged) {
    const e = d.engaged;
    return ['took part', e.action ? `(${words(e.action)})` : null, e.kind ? `in ${ctx.kind(e.kind)}` : null,
      e.department ? `with ${ctx.dept(e.department)}` : null, e.within_days ? `in the last ${e.within_days} days` : null,
      e.since ? `since ${e.since}` : null, e.until ? `until ${e.until}` : null,
      e.min_count > 1 ? `at least ${e.min_count} times` : null].filter(Boolean).join(' ');
  }
  if (d.score) return `${d.score.name} score ${label(SCORE_OPS, d.score.op)} ${d.score.value}`;
  return JSON.stringify(d);
}

async function lookups() {
  const [depts, purps, kinds] = await Promise.all([
    quiet(departments(), []), quiet(purposes(), []), quiet(api('GET', '/api/v1/activity-kinds'), []),
  ]);
  const pl = asList(purps);
  const kl = asList(kinds);
  return {
    depts, purps: pl, kinds: kl,
    dept: (c) => (depts.find((d) => d.code === c) || {}).name || c,
    purpose: (c) => (pl.find((p) => p.code === c) || {}).description || c,
    kind: (c) => ((kl.find((k) => k.code === c) || {}).label || c).toLowerCase(),
  };
}

// ---------- segments: one condition of the builder ----------

const anyOf = (list, text) => [['', text], ...list];
const purposeOptions = (ctx) => [...ctx.purps]
  .sort((a, b) => (a.category === 'marketing' ? 0 : 1) - (b.category === 'marketing' ? 0 : 1))
  .map((p) => [p.code, `${p.description} (${p.category})`]);

/** The inputs of each condition type but `field`: [key, label, options | null, field options]. */
function specs(ctx) {
  const depts = ctx.depts.map((d) => [d.code, d.name]);
  const num = (min, max, o = {}) => ({ type: 'number', width: 'short', min, max, attrs: { min, max, inputmode: 'numeric' }, ...o });
  return {
    consent: [['purpose', 'Purpose', purposeOptions(ctx)], ['channel', 'Channel', CHANNELS], ['state', 'Consent', STATES]],
    department: [['value', 'Department', depts]],
    tag: [['value', 'Tag', null, { width: 'medium', required: true }]],
    engaged: [
      ['action', 'What they did', anyOf(ACTIONS.map((a) => [a, words(a)]), 'Anything')],
      ['kind', 'Kind of activity', anyOf(ctx.kinds.map((x) => [x.code, x.label]), 'Any kind')],
      ['department', 'Department', anyOf(depts, 'Any department')],
      ['within_days', 'In the last (days)', null, num(1, 3650, { hint: 'Leave empty for any time.' })],
      ['min_count', 'At least (times)', null, num(1, 10000, { value: '1' })]],
    score: [['name', 'Score', SCORES], ['op', 'Test', SCORE_OPS], ['value', 'Value (0 to 5)', null, num(0, 5, { value: '3', required: true })]],
  };
}

function conditionEditor(ctx, k, type, onRemove, init = null) {
  const N = (t, key) => `c${k}-${t}-${key}`;
  const SPECS = specs(ctx);
  const legend = h('legend', { class: 'legend' });
  const typeSel = select({ name: `c${k}-type`, label: 'Type of condition', value: type, options: TYPES });
  const body = h('div', { class: 'segment-condition__body' });
  const notId = `c${k}-not-input`;
  const notBox = h('div', { class: 'field', 'data-field': `c${k}-not` }, h('div', { class: 'choice' },
    h('input', { type: 'checkbox', id: notId, name: `c${k}-not`, value: 'yes', class: 'choice__input' }),
    h('label', { for: notId, class: 'choice__label' }, 'Leave out the people who meet this condition instead')));
  const removeText = h('span', { class: 'visually-hidden' });
  const removeBtn = h('button', { type: 'button', class: ['button', 'button--secondary'], on: { click: () => onRemove(ed) } }, 'Remove', removeText);
  const el = h('fieldset', { class: ['fieldset', 'segment-condition'] }, legend, typeSel, body, notBox, removeBtn);
  const val = (name) => { const x = el.querySelector(`[name="${name}"]`); return x ? x.value.trim() : ''; };
  const onChange = (wrap, fn) => { wrap.querySelector('select').addEventListener('change', fn); return wrap; };

  // A `field` condition: its operators depend on the detail, its value on the operator.
  function fieldBody() {
    const opWrap = h('div');
    const valWrap = h('div');
    const renderValue = () => {
      const name = val(N('field', 'name'));
      const op = val(N('field', 'op'));
      if (op === 'is_set' || op === 'is_not_set') { replace(valWrap); return; }
      const hint = op === 'in' ? 'Separate the values with commas.'
        : name === 'postcode' ? 'For example, EC1A 1BB, or EC1A with “starts with”. Spaces and capitals do not matter.'
          : name === 'email_domain' ? 'The part after @, for example example.org.' : null;
      replace(valWrap, field({ name: N('field', 'value'), label: 'Value', type: DATE_FIELDS.includes(name) && op !== 'in' ? 'date' : 'text', hint, width: 'medium' }));
    };
    const renderOps = () => {
      const name = val(N('field', 'name'));
      const ops = DATE_FIELDS.includes(name) ? DATE_OPS : TEXT_OPS;
      const old = val(N('field', 'op'));
      replace(opWrap, onChange(select({ name: N('field', 'op'), label: 'Test', options: ops, value: ops.some(([o]) => o === old) ? old : (name === 'postcode' ? 'starts_with' : ops[0][0]) }), renderValue));
      renderValue();
    };
    replace(body, h('div', { class: 'inline-fields' },
      onChange(select({ name: N('field', 'name'), label: 'Detail', options: FIELDS, value: 'postcode' }), renderOps), opWrap, valWrap));
    renderOps();
  }

  function renderBody(t) {
    if (t === 'field') { fieldBody(); return; }
    replace(body, h('div', { class: 'inline-fields' }, SPECS[t].map(([key, lab, options, o]) => (options
      ? select({ name: N(t, key), label: lab, options })
      : field({ name: N(t, key), label: lab, ...o })))));
  }

  /** The condition as filter JSON, or null with problems added ({field, message}). */
  function read(problems, n) {
    const t = val(`c${k}-type`);
    const before = problems.length;
    const need = (name, message) => problems.push({ field: name, message: `Condition ${n}: ${message}` });
    let leaf;
    if (t === 'field') {
      const f = { name: val(N('field', 'name')), op: val(N('field', 'op')) };
      if (f.op !== 'is_set' && f.op !== 'is_not_set') {
        let v = val(N('field', 'value'));
        if (f.name === 'postcode') v = v.replace(/\s+/g, '');
        if (!v) need(N('field', 'value'), 'enter a value.');
        f.value = f.op === 'in' ? v.split(',').map((x) => x.trim()).filter(Boolean) : v;
      }
      leaf = { field: f };
    } else {
      const v = {};
      for (const [key, lab, options, o = {}] of SPECS[t]) {
        const s = val(N(t, key));
        if (!s) {
          if (o.required || (options && options[0][0] !== '')) need(N(t, key), options ? `choose ${lab.toLowerCase()}.` : `enter ${lab.toLowerCase()}.`);
        } else if (o.type === 'number') {
          const x = Number(s);
          if (!Number.isInteger(x) || x < o.min || x > o.max) need(N(t, key), `${lab} must be a whole number from ${o.min} to ${o.max}.`);
          v[key] = x;
        } else v[key] = s;
      }
      leaf = { [t]: t === 'tag' || t === 'department' ? v.value : v };
    }
    if (problems.length > before) return null;
    return el.querySelector(`[name="c${k}-not"]`).checked ? { not: leaf } : leaf;
  }

  const ed = {
    el, read,
    /** The form field for an API error in this condition (leaf type and key of its path). */
    fieldName(t, key) {
      const name = N(t, key || 'value');
      return t === val(`c${k}-type`) && el.querySelector(`[data-field="${name}"]`) ? name : `c${k}-type`;
    },
    setNumber(n, total) {
      replace(legend, `Condition ${n}`);
      replace(removeText, ` condition ${n}`);
      removeBtn.hidden = total < 2;
    },
    focus() { typeSel.querySelector('select').focus(); },
  };
  /** Set an input or select; false if it cannot hold the value (no such option, not a date…). */
  function put(name, value) {
    const x = el.querySelector(`[name="${name}"]`);
    if (!x) return false;
    if (value === undefined || value === null) return true;
    const v = Array.isArray(value) ? value.join(', ') : String(value);
    x.value = v;
    // Not bubbling: only the condition's own listeners (operators follow the detail) run.
    x.dispatchEvent(new Event('change'));
    return x.value === v;
  }

  /** Show a saved condition (a leaf, or {not: leaf}); false if the form cannot show it exactly. */
  function fill(cond) {
    const leaf = cond.not || cond;
    el.querySelector(`[name="c${k}-not"]`).checked = Boolean(cond.not);
    const t = Object.keys(leaf)[0];
    const v = leaf[t];
    if (t === 'tag' || t === 'department') return put(N(t, 'value'), v);
    if (t === 'field') return put(N(t, 'name'), v.name) && put(N(t, 'op'), v.op) && (v.value === undefined || put(N(t, 'value'), v.value));
    return SPECS[t].every(([key]) => v[key] === undefined || put(N(t, key), v[key]));
  }

  onChange(typeSel, (ev) => renderBody(ev.target.value));
  renderBody(type);
  ed.shown = init ? fill(init) : true;
  return ed;
}

/** The conditions of a saved filter as the builder shows them ({combine, items}), or null when
 * the builder cannot (nesting, or details it has no inputs for, such as "since"): such a
 * segment's filter can only be changed through the API. */
function builderConditions(definition, ctx) {
  // The details each condition's editor has inputs for (a `field` condition's are fixed).
  const SPECS = specs(ctx);
  const keysOf = (t) => (t === 'field' ? ['name', 'op', 'value'] : (SPECS[t] || []).map(([key]) => key));
  const isLeaf = (c) => {
    const leaf = c && typeof c === 'object' && c.not ? c.not : c;
    if (!leaf || typeof leaf !== 'object' || Array.isArray(leaf) || Object.keys(leaf).length !== 1) return false;
    const [t, v] = Object.entries(leaf)[0];
    if (t === 'tag' || t === 'department') return typeof v === 'string';
    const keys = keysOf(t);
    return keys.length > 0 && v !== null && typeof v === 'object' && Object.keys(v).every((x) => keys.includes(x));
  };
  if (!definition || typeof definition !== 'object') return null;
  const combine = Array.isArray(definition.and) ? 'and' : Array.isArray(definition.or) ? 'or' : null;
  const items = combine ? definition[combine] : [definition];
  if ((combine && Object.keys(definition).length !== 1) || !items.length || !items.every(isLeaf)) return null;
  return { combine: combine || 'and', items };
}

const conditionType = (c) => Object.keys(c.not || c)[0];

/** Point the API's filter errors (definition/and/2/consent/purpose) at the condition's field. */
function remapSegmentErrors(e, editors) {
  if (!(e instanceof ApiError)) return e;
  const errors = (e.problem.errors || []).map((fe) => {
    const m = /^definition\/(?:and|or)\/(\d+)(?:\/not)?(?:\/(field|tag|department|engaged|consent|score))?(?:\/([a-z_]+))?/.exec(fe.field || '');
    if (!m || !editors[Number(m[1])]) return fe;
    const i = Number(m[1]);
    return { ...fe, field: editors[i].fieldName(m[2], m[3]), message: `Condition ${i + 1}: ${fe.message}` };
  });
  return new ApiError(e.status, { ...e.problem, errors });
}

function samplePanel(p) {
  return p.sample && p.sample.length
    ? [h('p', {}, p.count > p.sample.length ? `The first ${p.sample.length} of them:` : 'They are:'),
      h('ul', { class: 'segment-sample' }, p.sample.map((s) => h('li', {}, personName(s))))]
    : null;
}

// ---------- segments: screens ----------

route('/segments', async (_, isCurrent) => {
  page('Segments', loading());
  const [list, ctx] = await Promise.all([api('GET', '/api/v1/segments'), lookups()]);
  if (!isCurrent()) return;
  page('Segments', subnav('/segments'),
    h('p', {}, 'A segment chooses people by conditions, such as their consent, postcode or what they took part in. It is worked out again each time it is used. It can be changed until a campaign that uses it is approved; after that, make a copy.'),
    h('div', { class: 'button-group' }, buttonLink('/segments/new', 'Create a segment')),
    table({
      caption: 'Saved segments, newest first',
      columns: [
        { label: 'Name', render: (s) => link(`/segments/${s.id}`, s.name) },
        { label: 'Who is in it', render: (s) => describe(s.definition, ctx) },
        { label: 'Created', render: (s) => fmtDate(s.created_at) },
      ],
      rows: asList(list), empty: 'There are no segments yet.',
    }));
}, PERM);

/** The segment form: a new segment (`s` without id, perhaps a copy's values) or a change to a
 * saved one (`s.id`, `s.version`). A filter the builder cannot show is kept as it is. */
function segmentPage(s, ctx, isCurrent) {
  const editing = Boolean(s.id);
  const title = editing ? `Change “${s.name}”` : 'Create a segment';
  const back = editing ? [`/segments/${s.id}`, s.name] : ['/segments', 'Segments'];
  const saved = s.definition ? builderConditions(s.definition, ctx) : { combine: 'and', items: [{ consent: {} }] };
  const editors = [];
  let seq = 0;
  const list = h('div', { class: 'segment-conditions' });
  const countEl = h('p', { class: 'segment-result__count', role: 'status' });
  const sampleEl = h('div', {});
  const jsonEl = h('pre', { class: 'code campaigns-pre' });
  let f = null;

  function renumber() { editors.forEach((ed, i) => ed.setNumber(i + 1, editors.length)); }
  function add(type, init = null) {
    const ed = conditionEditor(ctx, ++seq, type, (x) => {
      const i = editors.indexOf(x);
      editors.splice(i, 1);
      x.el.remove();
      renumber();
      addBtn.focus();
      changed();
    }, init);
    editors.push(ed);
    list.appendChild(ed.el);
    renumber();
    return ed;
  }
  function build() {
    if (!builder) return { definition: s.definition, problems: [] };
    const problems = [];
    const combine = (f.querySelector('input[name="combine"]:checked') || {}).value || 'and';
    const items = editors.map((ed, i) => ed.read(problems, i + 1));
    return { definition: { [combine]: items }, problems };
  }

  // The count follows the form: only complete conditions are sent, and only when they change.
  let ticket = 0;
  let last = null;
  const preview = debounce(async (definition, mine) => {
    try {
      const p = await api('POST', '/api/v1/segments/preview', { body: { definition, sample: 10 } });
      if (mine !== ticket || !isCurrent()) return;
      replace(countEl, `${plural(p.count, 'person matches', 'people match')} now.`);
      replace(sampleEl, samplePanel(p));
    } catch (e) {
      if (mine !== ticket || (e instanceof ApiError && e.status === 401)) return;
      const errs = remapSegmentErrors(e, editors).problem.errors || [];
      replace(countEl, 'These conditions cannot be counted yet.');
      replace(sampleEl, h('ul', { class: 'muted' }, (errs.length ? errs.map((x) => x.message) : [e.message]).map((m) => h('li', {}, m))));
    }
  }, 400);
  function changed() {
    const b = build();
    const key = JSON.stringify(b);
    if (key === last) return;
    last = key;
    const mine = ++ticket;
    replace(jsonEl, JSON.stringify(b.definition, null, 2));
    if (!editors.length && builder) { replace(countEl, 'Add a condition to see who matches.'); replace(sampleEl); }
    else if (b.problems.length) { replace(countEl, 'Finish the conditions to see who matches.'); replace(sampleEl, h('p', { class: 'muted' }, b.problems[0].message)); }
    else { replace(countEl, 'Counting…'); preview(b.definition, mine); }
  }

  const addBtn = button('Add another condition', {
    kind: 'secondary',
    onClick: () => { add('field').focus(); changed(); },
  });
  // Each saved condition in its editor; one the form cannot show exactly leaves the filter as it is.
  let builder = Boolean(saved);
  if (saved) {
    for (const c of saved.items) add(conditionType(c), s.definition ? c : null);
    if (editors.some((ed) => !ed.shown)) {
      builder = false;
      editors.splice(0).forEach((ed) => ed.el.remove());
    }
  }
  const conditions = builder
    ? [choices({
      name: 'combine', type: 'radio', legend: 'Who should be in the segment?', value: saved.combine,
      options: [['and', 'People who meet all of the conditions'], ['or', 'People who meet any of the conditions']],
    }), h('h2', {}, 'Conditions'), list, addBtn]
    : [h('h2', {}, 'Conditions'), h('div', { class: 'inset' },
      h('p', {}, `Who is in it: ${describe(s.definition, ctx)}.`),
      h('p', {}, editing
        ? 'These conditions were written through the API in a form this page cannot show, so they stay as they are. Change them through the API, or create a new segment.'
        : 'These conditions were written through the API in a form this page cannot show; the copy keeps them as they are.'))];
  f = form([
    field({ name: 'name', label: 'Name', value: s.name, width: 'long', hint: 'For example, Newsletter readers in EC1.' }),
    field({ name: 'description', label: 'Description (optional)', value: s.description || '', width: 'long' }),
    ...conditions,
    h('section', { class: 'segment-result', 'aria-labelledby': 'segment-result-title' },
      h('h2', { id: 'segment-result-title', class: 'segment-result__title' }, 'Who matches'),
      countEl, sampleEl),
    h('details', { class: 'details' }, h('summary', {}, 'Show the filter as JSON (for experts)'), jsonEl),
    h('div', { class: 'button-group' }, button(editing ? 'Save changes' : 'Save segment'), link(back[0], 'Cancel')),
  ], async (v) => {
    const { definition, problems } = build();
    const errors = [...problems];
    if (!v.name.trim()) errors.unshift({ field: 'name', message: 'Enter a name for the segment.' });
    if (builder && !editors.length) errors.push({ field: 'combine', message: 'Add at least one condition.' });
    if (errors.length) throw invalid(errors);
    let out;
    try {
      out = editing
        // If-Match: a change someone else saved since this page was opened is not overwritten
        // (412); a filter this page could not show is not sent, so it stays as it is.
        ? await api('PATCH', `/api/v1/segments/${enc(s.id)}`, {
          body: { name: v.name.trim(), description: v.description.trim(), ...(builder ? { definition } : {}) },
          headers: { 'If-Match': `"v${s.version}"` },
        })
        : await api('POST', '/api/v1/segments', { body: { name: v.name.trim(), description: v.description.trim() || null, definition } });
    } catch (e) { throw remapSegmentErrors(e, editors); }
    notice(`Segment “${out.name}” saved.`);
    navigate(`/segments/${out.id}`);
  });
  f.addEventListener('input', changed);
  f.addEventListener('change', changed);
  page(title, { back },
    h('p', {}, editing
      ? 'Change the name, the description or who is in it. A segment can be changed until a campaign that uses it is approved; after that, make a copy.'
      : 'Choose people with one or more conditions. The count below changes as you build it. Only people whose records are active are ever included.'),
    f);
  changed();
}

route('/segments/new', async (_, isCurrent) => {
  page('Create a segment', { back: ['/segments', 'Segments'] }, loading());
  const from = hashQuery().get('from');
  const [ctx, copied] = await Promise.all([lookups(), from ? api('GET', `/api/v1/segments/${enc(from)}`) : null]);
  if (!isCurrent()) return;
  segmentPage(copied
    ? { name: `Copy of ${copied.name}`, description: copied.description, definition: copied.definition }
    : { name: '', description: '', definition: null }, ctx, isCurrent);
}, PERM);

route('/segments/:id/edit', async ({ id }, isCurrent) => {
  const [s, ctx] = await Promise.all([api('GET', `/api/v1/segments/${enc(id)}`), lookups()]);
  if (!isCurrent()) return;
  segmentPage(s, ctx, isCurrent);
}, PERM);

route('/segments/:id', async ({ id }, isCurrent) => {
  // No loading page here: it would take the notice meant for this screen.
  const [s, ctx] = await Promise.all([api('GET', `/api/v1/segments/${enc(id)}`), lookups()]);
  if (!isCurrent()) return;
  const result = h('div', {}, loading('Counting…'));
  page(s.name, { back: ['/segments', 'Segments'], caption: 'Segment' },
    summaryList([
      ['Who is in it', describe(s.definition, ctx)],
      s.description ? ['Description', s.description] : null,
      ['Created', fmtDate(s.created_at)],
    ]),
    section('Who matches now', result),
    h('details', { class: 'details' }, h('summary', {}, 'Show the filter as JSON (for experts)'),
      h('pre', { class: 'code campaigns-pre' }, JSON.stringify(s.definition, null, 2))),
    h('div', { class: 'button-group' },
      buttonLink(`/campaigns/new?segment=${s.id}`, 'Create a campaign for this segment'),
      buttonLink(`/segments/${s.id}/edit`, 'Change it', 'secondary'),
      buttonLink(`/segments/new?from=${s.id}`, 'Make a copy', 'secondary')));
  try {
    const p = await api('POST', `/api/v1/segments/${enc(id)}/preview`, { body: { sample: 10 } });
    replace(result, h('p', { role: 'status' }, `${plural(p.count, 'person matches', 'people match')} now.`), samplePanel(p));
  } catch (e) {
    replace(result, h('p', {}, `The segment could not be counted. ${e.message}`));
  }
}, PERM);

// ---------- templates ----------

function variablesHelp() {
  return h('div', { class: 'inset template-help' },
    h('h2', { class: 'template-help__title' }, 'What you can put in a template'),
    h('p', {}, 'Write a variable in double curly brackets, for example {{ given_name }}. Each is filled in with the recipient’s own details:'),
    h('dl', { class: 'template-help__list' }, VARIABLES.map(([v, t]) => [h('dt', {}, h('code', {}, `{{ ${v} }}`)), h('dd', {}, t)])),
    h('p', {}, 'A fallback when a detail is missing: {{ given_name | default: "resident" }}.'),
    h('p', {}, 'Text only when a detail is recorded: {{#if organisation}} … {{else}} … {{/if}}.'),
    h('p', {}, 'Both bodies must include {{ unsubscribe_url }}. Details are made safe in the HTML body automatically.'));
}

route('/templates', async (_, isCurrent) => {
  page('Templates', loading());
  const list = asList(await api('GET', '/api/v1/templates'));
  if (!isCurrent()) return;
  page('Templates', subnav('/templates'),
    h('p', {}, 'The wording of a campaign’s email, with the recipient’s details filled in when it is sent. A template can be changed until a campaign that uses it is approved; after that, make a copy.'),
    h('div', { class: 'button-group' }, buttonLink('/templates/new', 'Write a template')),
    table({
      caption: 'Templates, newest first',
      columns: [
        { label: 'Name', render: (t) => link(`/templates/${t.id}`, t.name) },
        { label: 'Subject', render: (t) => t.subject },
        { label: 'Created', render: (t) => fmtDate(t.created_at) },
      ],
      rows: list, empty: 'There are no templates yet.',
    }));
}, PERM);

/** The template form: a new one (`t` without id) or a change to a saved one (`t.id`, `t.version`). */
function templatePage(t) {
  const editing = Boolean(t.id);
  const title = editing ? `Change “${t.name}”` : 'Write a template';
  page(title, { back: editing ? [`/templates/${t.id}`, t.name] : ['/templates', 'Templates'] },
    variablesHelp(),
    form([
      field({ name: 'name', label: 'Name', value: t.name, width: 'long', hint: 'Only staff see this.' }),
      field({ name: 'subject', label: 'Subject', value: t.subject, width: 'full' }),
      field({ name: 'text_body', label: 'Plain text body', type: 'textarea', rows: 10, value: t.text_body, spellcheck: true, hint: 'For email programs that do not show HTML. Must include {{ unsubscribe_url }}.' }),
      field({ name: 'html_body', label: 'HTML body', type: 'textarea', rows: 12, value: t.html_body, hint: 'Must include {{ unsubscribe_url }}, for example as a link.' }),
      h('div', { class: 'button-group' }, button(editing ? 'Save changes' : 'Save template'), link(editing ? `/templates/${t.id}` : '/templates', 'Cancel')),
    ], async (v) => {
      const errors = [];
      if (!v.name.trim()) errors.push({ field: 'name', message: 'Enter a name for the template.' });
      if (!v.subject.trim()) errors.push({ field: 'subject', message: 'Enter a subject.' });
      if (errors.length) throw invalid(errors);
      const body = { name: v.name.trim(), subject: v.subject, text_body: v.text_body, html_body: v.html_body };
      const saved = editing
        // If-Match: a change someone else saved since this page was opened is not overwritten (412).
        ? await api('PATCH', `/api/v1/templates/${enc(t.id)}`, { body, headers: { 'If-Match': `"v${t.version}"` } })
        : await api('POST', '/api/v1/templates', { body });
      notice(`Template “${saved.name}” saved. Preview it for a real person below.`);
      navigate(`/templates/${saved.id}`);
    }));
}

route('/templates/new', async (_, isCurrent) => {
  const from = hashQuery().get('from');
  let base = {
    name: '', subject: '',
    text_body: 'Dear {{ given_name | default: "resident" }},\n\n\n\nTo stop these emails, visit {{ unsubscribe_url }}\n',
    html_body: '<p>Dear {{ given_name | default: "resident" }},</p>\n\n<p></p>\n\n<p><a href="{{ unsubscribe_url }}">Stop these emails</a></p>\n',
  };
  if (from) {
    const t = await api('GET', `/api/v1/templates/${enc(from)}`);
    base = { name: `Copy of ${t.name}`, subject: t.subject, text_body: t.text_body, html_body: t.html_body };
  }
  if (!isCurrent()) return;
  templatePage(base);
}, PERM);

route('/templates/:id/edit', async ({ id }, isCurrent) => {
  const t = await api('GET', `/api/v1/templates/${enc(id)}`);
  if (!isCurrent()) return;
  templatePage(t);
}, PERM);

/** Choosing a person for a preview: a search (with people_read) or a segment's sample. */
function personChooser() {
  const results = h('div', { class: 'radios template-people', role: 'group', 'aria-label': 'People found' });
  const status = h('p', { role: 'status', class: 'muted' });
  const show = (people) => {
    replace(results, people.map((p, i) => {
      const rid = `person-choice-${i}-${p.id}`;
      // A search gives the primary email; a segment's sample only names.
      const email = p.email ? ` (${p.email})` : '';
      return h('div', { class: 'choice' },
        h('input', { type: 'radio', id: rid, name: 'person', value: p.id, class: 'choice__input', checked: i === 0 }),
        h('label', { for: rid, class: 'choice__label' }, personName(p) + email));
    }));
    replace(status, people.length ? `${plural(people.length, 'person', 'people')} to choose from.` : 'No one found.');
  };
  const run = async (fn) => {
    replace(status, 'Looking…');
    try { show(await fn()); } catch (e) { if (!(e instanceof ApiError && e.status === 401)) replace(status, e.message); }
  };
  let finder;
  if (can('people_read')) {
    const q = field({ name: 'q', label: 'Find a person', hint: 'An email address, phone number, postcode or the start of a name.', width: 'long' });
    const search = button('Search', { kind: 'secondary', onClick: () => run(async () => asList(await api('POST', '/api/v1/people/search', { body: { q: q.querySelector('input').value.trim() } }))) });
    q.querySelector('input').addEventListener('keydown', (ev) => { if (ev.key === 'Enter') { ev.preventDefault(); search.click(); } });
    finder = [q, search];
  } else {
    const seg = select({ name: 'from_segment', label: 'Choose from the people in a segment', options: [['', 'Loading segments…']] });
    quiet(api('GET', '/api/v1/segments'), []).then((l) => {
      const s = seg.querySelector('select');
      replace(s, [['', 'Choose a segment'], ...asList(l).map((x) => [x.id, x.name])].map(([v, t]) => h('option', { value: v }, t)));
    });
    finder = [seg, button('Show people', {
      kind: 'secondary',
      onClick: (ev) => {
        const id = ev.target.form.elements.from_segment.value;
        if (!id) { replace(status, 'Choose a segment first.'); return; }
        run(async () => (await api('POST', `/api/v1/segments/${enc(id)}/preview`, { body: { sample: 20 } })).sample);
      },
    })];
  }
  return h('div', { class: 'field', 'data-field': 'person' },
    h('fieldset', { class: 'fieldset' }, h('legend', { class: 'legend' }, 'Who to preview it for'),
      finder, status, results,
      field({ name: 'person_id', label: 'Or enter their person ID', hint: 'Used instead of a person chosen above.', width: 'long', spellcheck: false })));
}

route('/templates/:id', async ({ id }, isCurrent) => {
  const t = await api('GET', `/api/v1/templates/${enc(id)}`);
  if (!isCurrent()) return;
  const out = h('div', { class: 'template-preview' });
  const previewForm = form([
    personChooser(),
    field({ name: 'sender_name', label: 'Sender name (optional)', hint: 'Shown where the template uses {{ sender_name }}.', width: 'long' }),
    button('Preview'),
  ], async (v) => {
    replace(out);
    const person = (v.person_id || v.person || '').trim();
    if (!person) throw invalid([{ field: 'person', message: 'Choose a person or enter their person ID.' }]);
    let r;
    try {
      r = await api('POST', `/api/v1/templates/${enc(id)}/preview`, { body: { person, sender_name: v.sender_name.trim() || null } });
    } catch (e) {
      if (e instanceof ApiError && (e.status === 404 || e.status === 410)) throw invalid([{ field: v.person_id.trim() ? 'person_id' : 'person', message: 'There is no such person, or you cannot see them.' }], 'The person was not found.');
      throw e;
    }
    replace(out,
      h('h3', { id: 'template-preview-title', tabindex: '-1' }, 'Preview'),
      summaryList([['Subject', r.subject]]),
      h('h3', {}, 'Plain text'),
      h('pre', { class: 'code template-preview__text campaigns-pre' }, r.text),
      h('h3', {}, 'HTML (the code as it will be sent)'),
      h('pre', { class: 'code campaigns-pre' }, r.html),
      h('p', { class: 'muted' }, 'The unsubscribe link in a preview is a placeholder; each real email gets its own.'));
    out.querySelector('h3').focus();
  });
  page(t.name, { back: ['/templates', 'Templates'], caption: 'Template' },
    summaryList([
      ['Subject', h('code', {}, t.subject)],
      ['Variables used', t.variables.length ? t.variables.join(', ') : 'None'],
      ['Created', fmtDate(t.created_at)],
    ]),
    h('h2', {}, 'Plain text body'),
    h('pre', { class: 'code campaigns-pre' }, t.text_body),
    h('h2', {}, 'HTML body'),
    h('pre', { class: 'code campaigns-pre' }, t.html_body),
    h('div', { class: 'button-group' },
      buttonLink(`/campaigns/new?template=${t.id}`, 'Create a campaign with this template'),
      buttonLink(`/templates/${t.id}/edit`, 'Change it', 'secondary'),
      buttonLink(`/templates/new?from=${t.id}`, 'Make a copy', 'secondary')),
    section('Preview for a real person', previewForm, out));
}, PERM);

// ---------- campaigns ----------

route('/campaigns', async (_, isCurrent) => {
  page('Campaigns', loading());
  const [list, segs] = await Promise.all([api('GET', '/api/v1/campaigns'), quiet(api('GET', '/api/v1/segments'), [])]);
  if (!isCurrent()) return;
  const segName = (sid) => (asList(segs).find((s) => s.id === sid) || {}).name || '';
  const notSent = (s) => Object.values(s.skipped || {}).reduce((a, b) => a + b, 0) + s.failed + s.cancelled;
  page('Campaigns', subnav('/campaigns'),
    h('p', {}, 'Emails to the people of a segment. Each person’s consent is checked again just before their email is sent.'),
    h('div', { class: 'button-group' },
      buttonLink('/campaigns/new', 'Create a campaign'),
      buttonLink('/segments/new', 'Create a segment', 'secondary'),
      buttonLink('/templates/new', 'Write a template', 'secondary')),
    table({
      caption: 'Campaigns, newest first',
      columns: [
        { label: 'Name', render: (c) => link(`/campaigns/${c.id}`, c.name) },
        { label: 'Status', render: (c) => statusTag(c.status) },
        { label: 'Segment', render: (c) => segName(c.segment) },
        { label: 'Audience', numeric: true, render: (c) => (c.audience_size ?? '–') },
        { label: 'Sent', numeric: true, render: (c) => c.stats.sent },
        { label: 'Not sent', numeric: true, render: (c) => notSent(c.stats) },
      ],
      rows: asList(list), empty: 'There are no campaigns yet.',
    }));
}, PERM);

route('/campaigns/new', async (_, isCurrent) => {
  page('Create a campaign', loading());
  const q = hashQuery();
  const [ctx, segs, tpls] = await Promise.all([lookups(), api('GET', '/api/v1/segments'), api('GET', '/api/v1/templates')]);
  if (!isCurrent()) return;
  const missing = [];
  if (!asList(segs).length) missing.push(h('li', {}, link('/segments/new', 'Create a segment'), ' to choose who gets it.'));
  if (!asList(tpls).length) missing.push(h('li', {}, link('/templates/new', 'Write a template'), ' for what it says.'));
  page('Create a campaign', { back: ['/campaigns', 'Campaigns'] },
    missing.length ? h('div', { class: 'inset' }, h('p', {}, 'Before you can create a campaign:'), h('ul', {}, missing)) : null,
    form([
      field({ name: 'name', label: 'Name', width: 'long', hint: 'For example, Autumn events newsletter.' }),
      select({ name: 'purpose', label: 'Purpose', hint: 'Each email goes only to people whose consent for this purpose allows it when it is sent.', options: anyOf(purposeOptions(ctx), 'Choose a purpose') }),
      select({ name: 'department', label: 'Department sending it', options: [['', 'Choose a department'], ...ctx.depts.map((d) => [d.code, d.name])] }),
      select({ name: 'channel', label: 'Channel', options: [['email', 'Email']], hint: 'Campaigns send email.' }),
      select({ name: 'segment', label: 'Segment (who gets it)', value: q.get('segment') || '', options: [['', 'Choose a segment'], ...asList(segs).map((s) => [s.id, s.name])] }),
      select({ name: 'template', label: 'Template (what it says)', value: q.get('template') || '', options: [['', 'Choose a template'], ...asList(tpls).map((t) => [t.id, t.name])] }),
      field({ name: 'sender_name', label: 'Sender name', width: 'long', hint: 'Who the email says it is from, for example a Member’s name or a team.' }),
      h('div', { class: 'button-group' }, button('Save as a draft'), link('/campaigns', 'Cancel')),
    ], async (v) => {
      const need = [['name', 'Enter a name.'], ['purpose', 'Choose a purpose.'], ['department', 'Choose a department.'],
        ['segment', 'Choose a segment.'], ['template', 'Choose a template.'], ['sender_name', 'Enter a sender name.']];
      const errors = need.filter(([k]) => !String(v[k] || '').trim()).map(([k, m]) => ({ field: k, message: m }));
      if (errors.length) throw invalid(errors);
      const c = await api('POST', '/api/v1/campaigns', {
        body: { name: v.name.trim(), purpose: v.purpose, department: v.department, channel: 'email', segment: v.segment, template: v.template, sender_name: v.sender_name.trim() },
      });
      notice('The campaign has been saved as a draft. Send yourself a test, then approve it.');
      navigate(`/campaigns/${c.id}`);
    }));
}, PERM);

function statsView(c) {
  const s = c.stats;
  const skipped = Object.values(s.skipped || {}).reduce((a, b) => a + b, 0);
  const done = s.sent + skipped + s.failed + s.cancelled + s.bounced;
  const total = c.audience_size ?? 0;
  const items = [['Queued', s.queued], ['Sending now', s.sending], ['Sent', s.sent], ['Not sent', skipped],
    ['Failed', s.failed], ['Bounced', s.bounced], ['Cancelled', s.cancelled], ['Unsubscribed', s.unsubscribed]];
  return [
    total ? h('div', { class: 'field' },
      h('label', { class: 'label', for: 'campaign-progress' }, `${done.toLocaleString('en-GB')} of ${plural(total, 'person', 'people')} dealt with`),
      h('progress', { id: 'campaign-progress', max: total, value: Math.min(done, total) })) : null,
    h('ul', { class: 'stats', 'aria-label': 'Numbers' }, items.map(([t, n]) =>
      h('li', { class: 'stat', 'data-stat': t }, h('span', { class: 'stat__value' }, n.toLocaleString('en-GB')), h('span', { class: 'stat__label' }, t)))),
    skipped ? table({
      caption: 'Not sent, by reason',
      columns: [{ label: 'Reason', render: ([r]) => SKIP[r] || words(r) }, { label: 'People', numeric: true, render: ([, n]) => n }],
      rows: Object.entries(s.skipped),
    }) : null,
  ];
}

route('/campaigns/:id', async ({ id }, isCurrent) => {
  const path = `/api/v1/campaigns/${enc(id)}`;
  let c = await api('GET', path);
  const [seg, tpl, ctx] = await Promise.all([
    quiet(api('GET', `/api/v1/segments/${enc(c.segment)}`), null),
    quiet(api('GET', `/api/v1/templates/${enc(c.template)}`), null),
    lookups(),
  ]);
  if (!isCurrent()) return;
  const statusEl = h('span', {});
  const summaryEl = h('div', {});
  const statsEl = h('div', {});
  const actionsEl = h('div', {});
  const liveEl = h('p', { role: 'status', class: 'campaign-live' });
  let polling = 0;

  const summary = () => summaryList([
    ['Status', statusEl],
    ['Purpose', `${ctx.purpose(c.purpose)} (${c.purpose})`],
    ['Department', ctx.dept(c.department)],
    ['Channel', c.channel === 'email' ? 'Email' : c.channel],
    ['Sender name', c.sender_name],
    ['Segment', seg ? link(`/segments/${seg.id}`, seg.name) : c.segment],
    ['Template', tpl ? link(`/templates/${tpl.id}`, tpl.name) : c.template],
    c.audience_size !== null && c.audience_size !== undefined ? ['Audience when it started', plural(c.audience_size, 'person', 'people')] : null,
    c.approved_at ? ['Approved', fmtDateTime(c.approved_at)] : null,
    c.started_at ? ['Started', fmtDateTime(c.started_at)] : null,
    c.finished_at ? ['Finished', fmtDateTime(c.finished_at)] : null,
  ]);

  function done(next, message) {
    c = next;
    notice(message);
    render();
  }

  function testSend() {
    const ok = h('p', { role: 'status', class: 'campaign-test-status' });
    return section('Send a test',
      h('p', {}, 'Send one copy marked [TEST] to check how it looks. It does not count towards the campaign.'),
      form([
        field({ name: 'to', label: 'Email address (optional)', type: 'email', width: 'long', hint: `Leave empty to send it to yourself (${session.user ? session.user.email : 'your address'}).`, spellcheck: false }),
        field({ name: 'person', label: 'Person ID (optional)', width: 'long', hint: 'Whose details fill in the template. Leave empty for sample details.', spellcheck: false }),
        button('Send a test', { kind: 'secondary' }),
      ], async (v, f) => {
        replace(ok);
        const to = v.to.trim();
        await api('POST', `${path}/test-send`, { body: { to: to || null, person: v.person.trim() || null } });
        replace(ok, `A test email has been sent to ${to || (session.user ? session.user.email : 'you')}.`);
        f.reset();
      }, { attrs: { 'aria-label': 'Send a test' } }),
      ok);
  }

  function confirmPanel(title, text, yes, no, onYes, kind) {
    const heading = h('h3', { tabindex: '-1', class: 'campaign-confirm__title' }, title);
    const panel = h('div', { class: 'campaign-confirm' }, heading, ...text.map((t) => h('p', {}, t)),
      form([h('div', { class: 'button-group' }, button(yes, { kind }), button(no, { kind: 'secondary', onClick: () => { panel.remove(); } }))], onYes));
    setTimeout(() => heading.focus());
    return panel;
  }

  function actions() {
    const out = [];
    if (c.status === 'draft') {
      out.push(testSend());
      out.push(section('Approve',
        h('p', {}, 'Approving lets the campaign be sent. If it would reach more people than the approval limit (normally 1,000), someone other than its author must approve it.'),
        form([button('Approve this campaign')], async () => done(await api('POST', `${path}/approve`), 'The campaign has been approved. You can now start sending it.'),
          { attrs: { 'aria-label': 'Approve' } })));
    }
    if (c.status === 'approved') {
      out.push(testSend());
      const slot = h('div', {});
      out.push(section('Start sending',
        h('p', {}, 'Starting fixes who gets the email: the people in the segment at that moment.'),
        form([button('Start sending')], async () => {
          const p = await api('POST', `/api/v1/segments/${enc(c.segment)}/preview`, { body: { sample: 0 } });
          replace(slot, confirmPanel('Are you sure you want to start sending?',
            [`The email will be queued for ${plural(p.count, 'person', 'people')} in the segment${seg ? ` “${seg.name}”` : ''} now.`,
              'Each person’s consent is checked again just before their email goes, so some of them may not get it. You can cancel sending, but emails already sent cannot be recalled.'],
            `Yes, send to ${plural(p.count, 'person', 'people')}`, 'No, not yet',
            async () => done(await api('POST', `${path}/start`), 'Sending has started. The numbers below update as emails go.')));
        }, { attrs: { 'aria-label': 'Start sending' } }),
        slot));
    }
    if (['draft', 'approved', 'sending'].includes(c.status)) {
      const slot = h('div', {});
      out.push(section('Cancel this campaign',
        h('p', {}, 'Nothing more will be sent. Emails already sent stay sent.'),
        h('div', { class: 'button-group' }, button('Cancel campaign', {
          kind: 'warning',
          onClick: () => replace(slot, confirmPanel('Are you sure you want to cancel this campaign?', ['This cannot be undone.'],
            'Yes, cancel the campaign', 'No, keep it', async () => done(await api('POST', `${path}/cancel`), 'The campaign has been cancelled.'), 'warning')),
        })),
        slot));
    }
    return out;
  }

  function update(statusChanged) {
    replace(statusEl, statusTag(c.status));
    replace(statsEl, statsView(c));
    if (statusChanged) {
      replace(summaryEl, summary());
      replace(actionsEl, actions());
      if (c.status === 'sent') replace(liveEl, `Sending has finished: ${plural(c.stats.sent, 'email', 'emails')} sent.`);
    }
  }

  function poll() {
    const mine = ++polling;
    const tick = async () => {
      if (!isCurrent() || mine !== polling || c.status !== 'sending') return;
      try {
        const next = await api('GET', path);
        if (!isCurrent() || mine !== polling) return;
        const changed = next.status !== c.status;
        c = next;
        update(changed);
      } catch (e) {
        if (e instanceof ApiError && e.status === 401) return;
      }
      setTimeout(tick, 2000);
    };
    setTimeout(tick, 2000);
  }

  function render() {
    page(c.name, { back: ['/campaigns', 'Campaigns'], caption: 'Campaign' },
      summaryEl, liveEl, section('Numbers', statsEl), actionsEl);
    update(true);
    replace(liveEl);
    if (c.status === 'sending') poll();
  }
  render();
}, PERM);
