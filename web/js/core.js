// Core of the web client: DOM building (text nodes only, never parsed markup, so every value is
// escaped by construction), the API client (session cookie + CSRF header, problem+json
// errors), the hash router, page layout, forms with GOV.UK-style error summaries, and small
// display helpers. Screens live in their own modules and only use what is exported here.

// ---------- DOM ----------

/** Build an element. attrs: class, id, for, on: {event: fn}, boolean and string attributes;
 * children: nodes, strings (as text), numbers, arrays; null/undefined/false are skipped. */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === 'on') {
      for (const [ev, fn] of Object.entries(v)) el.addEventListener(ev, fn);
    } else if (k === 'class') {
      el.className = Array.isArray(v) ? v.filter(Boolean).join(' ') : v;
    } else if (k === 'value' && ('value' in el)) {
      el.value = v;
    } else if (k === 'checked' || k === 'selected') {
      el[k] = !!v;
    } else if (v === true) {
      el.setAttribute(k, '');
    } else {
      el.setAttribute(k, String(v));
    }
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else if (c instanceof Node) el.appendChild(c);
    else el.appendChild(document.createTextNode(String(c)));
  }
}

/** Remove every child of a node, then append the given children. */
export function replace(node, ...children) {
  while (node.firstChild) node.removeChild(node.firstChild);
  append(node, children);
  return node;
}

// ---------- API ----------

/** An error answer from the API: status and the problem document. */
export class ApiError extends Error {
  constructor(status, problem) {
    super(problem && problem.detail ? problem.detail : `The service answered ${status}.`);
    this.status = status;
    this.problem = problem || { status, detail: this.message, errors: [] };
  }
}

export function csrfToken() {
  for (const part of document.cookie.split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k === '__Host-lighthouse_csrf') return decodeURIComponent(v.join('='));
  }
  return '';
}

/** Build a path with a query string from an object (empty values are left out). */
export function withQuery(path, query) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(query || {})) {
    if (v === null || v === undefined || v === '') continue;
    if (Array.isArray(v)) v.forEach((x) => q.append(k, x));
    else q.append(k, String(v));
  }
  const s = q.toString();
  return s ? `${path}?${s}` : path;
}

/** Call the API. opts: body (object → JSON; Blob/File → sent as is), query, headers,
 * as: 'json' (default) | 'text' | 'response'. Resolves to the parsed body (null for 204);
 * rejects with ApiError. A 401 on any call but sign-in ends the session in the client. */
export async function api(method, path, opts = {}) {
  const headers = { Accept: 'application/json', ...(opts.headers || {}) };
  let body;
  if (opts.body instanceof Blob) {
    body = opts.body;
    if (!headers['Content-Type']) headers['Content-Type'] = opts.body.type || 'application/octet-stream';
  } else if (opts.body !== undefined) {
    body = JSON.stringify(opts.body);
    headers['Content-Type'] = 'application/json';
  }
  if (method !== 'GET' && method !== 'HEAD') headers['X-CSRF-Token'] = csrfToken();
  let res;
  try {
    res = await fetch(withQuery(path, opts.query), { method, headers, body, credentials: 'same-origin' });
  } catch (e) {
    throw new ApiError(0, { status: 0, title: 'No connection', detail: 'The service could not be reached. Check your connection and try again.', errors: [] });
  }
  if (opts.as === 'response' && res.ok) return res;
  if (!res.ok) {
    let problem = null;
    try { problem = await res.json(); } catch (e) { problem = null; }
    const err = new ApiError(res.status, problem);
    if (res.status === 401 && path !== '/api/v1/auth/login') {
      sessionEnded();
    }
    throw err;
  }
  if (res.status === 204) return null;
  if (opts.as === 'text') return res.text();
  const type = res.headers.get('Content-Type') || '';
  return type.includes('json') ? res.json() : res.text();
}

// ---------- session ----------

/** The signed-in user (`/api/v1/auth/me`: id, email, name, roles, departments, permissions). */
export const session = { user: null };

/** Where a user enrols (or turns off) their second sign-in factor. */
export const ENROL_PATH = '/account/two-step';

/** Whether the signed-in user's roles grant a permission (e.g. 'people_write'). The server
 * checks every request; this only decides what is shown. */
export function can(permission) {
  return !!(session.user && session.user.permissions.includes(permission));
}

export async function loadSession() {
  try {
    session.user = await api('GET', '/api/v1/auth/me');
  } catch (e) {
    session.user = null;
  }
  return session.user;
}

let onSessionEnded = () => {};
export function setSessionEndedHandler(fn) { onSessionEnded = fn; }
function sessionEnded() {
  if (!session.user) return;
  session.user = null;
  onSessionEnded();
}

// ---------- routing ----------

const routes = [];

/** Register a screen. pattern: '/people/:id'; handler(params) renders the page (may be async);
 * opts.permission: the permission needed to see it (else a "you cannot see this" page). */
export function route(pattern, handler, opts = {}) {
  const names = [];
  const re = new RegExp('^' + pattern.replace(/:([a-z_]+)/g, (_, n) => { names.push(n); return '([^/]+)'; }) + '$');
  routes.push({ re, names, handler, permission: opts.permission, public: !!opts.public });
}

/** Whether a screen is open to anyone (sign-in, an invitation link). */
export function isPublicPath(path) {
  return routes.some((r) => r.public && r.re.test(path));
}

export function currentPath() {
  const hash = location.hash.replace(/^#/, '');
  return hash.split('?')[0] || '/';
}

/** Query parameters of the current hash (never put personal data there). */
export function hashQuery() {
  const hash = location.hash.replace(/^#/, '');
  const i = hash.indexOf('?');
  return new URLSearchParams(i < 0 ? '' : hash.slice(i + 1));
}

/** Go to a screen. */
export function navigate(path) {
  if (location.hash === '#' + path) dispatch();
  else location.hash = '#' + path;
}

/** A link to a screen. */
export function link(path, text, attrs = {}) {
  return h('a', { href: '#' + path, class: 'link', ...attrs }, text);
}

let dispatching = 0;
export async function dispatch() {
  const path = currentPath();
  const ticket = ++dispatching;
  for (const r of routes) {
    const m = r.re.exec(path);
    if (!m) continue;
    if (!r.public && !session.user) { onSessionEnded(); return; }
    // A session signed in without the second factor the user's roles require can only enrol.
    if (!r.public && session.user.enrolment_only && path !== ENROL_PATH) { navigate(ENROL_PATH); return; }
    if (r.permission && !can(r.permission)) {
      page('You cannot see this page', h('p', {}, 'Your role does not allow this. Ask an administrator if you need access.'));
      return;
    }
    const params = {};
    r.names.forEach((n, i) => { params[n] = decodeURIComponent(m[i + 1]); });
    try {
      await r.handler(params, () => ticket === dispatching);
    } catch (e) {
      if (ticket !== dispatching) return;
      if (e instanceof ApiError && e.status === 401) return;
      showFailure(e);
    }
    return;
  }
  page('Page not found', h('p', {}, 'If you typed the web address, check it is correct.'), h('p', {}, link('/', 'Go to the start page')));
}

/** A page for an error that stopped a screen from loading. */
export function showFailure(e) {
  if (e instanceof ApiError && e.status === 404) {
    page('Not found', h('p', {}, 'There is nothing here, or you do not have access to it.'));
  } else if (e instanceof ApiError && e.status === 410) {
    page('This record has been erased', h('p', {}, e.message));
  } else if (e instanceof ApiError && e.status === 403) {
    page('You cannot do this', h('p', {}, e.message));
  } else {
    page('Sorry, there is a problem', h('p', {}, e.message || 'Something went wrong. Try again later.'));
  }
}

// ---------- layout ----------

let pendingNotice = null;

/** Show a success (or other) banner on the next page rendered (or now with now=true). */
export function notice(message, kind = 'success', now = false) {
  pendingNotice = { message, kind };
  if (now) {
    const main = document.getElementById('main');
    const old = main.querySelector('.notice');
    if (old) old.remove();
    main.insertBefore(takeNotice(), main.firstChild);
  }
}

function takeNotice() {
  if (!pendingNotice) return null;
  const { message, kind } = pendingNotice;
  pendingNotice = null;
  return h('div', { class: ['notice', `notice--${kind}`], role: kind === 'success' ? 'status' : 'alert' },
    h('p', {}, message));
}

/** Render a page: its heading (h1, focused for screen readers), an optional back link, and
 * content. Returns the main element. opts: {back: [path, text], caption} */
export function page(title, ...content) {
  let opts = {};
  if (content.length && content[0] && content[0].constructor === Object && !(content[0] instanceof Node)) opts = content.shift();
  document.title = `${title} – Data Lighthouse`;
  const main = document.getElementById('main');
  const heading = h('h1', { tabindex: '-1' }, opts.caption ? h('span', { class: 'caption' }, opts.caption) : null, title);
  replace(main,
    opts.back ? h('p', {}, h('a', { href: '#' + opts.back[0], class: 'back-link' }, opts.back[1] || 'Back')) : null,
    takeNotice(),
    heading,
    ...content);
  heading.focus({ preventScroll: false });
  return main;
}

/** A placeholder shown while something loads. */
export function loading(text = 'Loading…') {
  return h('p', { class: 'loading', role: 'status' }, text);
}

// ---------- forms ----------

let fieldSeq = 0;

/** A labelled input. o: {name, label, type, value, hint, required, autocomplete, width, attrs} */
export function field(o) {
  const id = `f-${o.name.replace(/[^a-zA-Z0-9_-]/g, '-')}-${++fieldSeq}`;
  const hintId = o.hint ? `${id}-hint` : null;
  const input = h(o.type === 'textarea' ? 'textarea' : 'input', {
    id, name: o.name, class: ['input', o.width ? `input--${o.width}` : null],
    type: o.type === 'textarea' ? null : (o.type || 'text'),
    value: o.value ?? '', required: !!o.required, autocomplete: o.autocomplete || null,
    'aria-describedby': hintId, rows: o.type === 'textarea' ? (o.rows || 5) : null,
    spellcheck: o.spellcheck === false ? 'false' : null,
    ...(o.attrs || {}),
  });
  if (o.type === 'textarea') input.value = o.value ?? '';
  return h('div', { class: 'field', 'data-field': o.name },
    h('label', { for: id, class: 'label' }, o.label),
    o.hint ? h('div', { id: hintId, class: 'hint' }, o.hint) : null,
    input);
}

/** A labelled select. o: {name, label, options: [[value, text]], value, hint, required} */
export function select(o) {
  const id = `f-${o.name.replace(/[^a-zA-Z0-9_-]/g, '-')}-${++fieldSeq}`;
  const hintId = o.hint ? `${id}-hint` : null;
  const sel = h('select', { id, name: o.name, class: 'select', required: !!o.required, 'aria-describedby': hintId, ...(o.attrs || {}) },
    o.options.map(([v, t]) => h('option', { value: v, selected: String(v) === String(o.value ?? '') }, t)));
  return h('div', { class: 'field', 'data-field': o.name },
    h('label', { for: id, class: 'label' }, o.label),
    o.hint ? h('div', { id: hintId, class: 'hint' }, o.hint) : null,
    sel);
}

/** A group of checkboxes (type 'checkbox') or radios (type 'radio') in a fieldset.
 * o: {name, legend, options: [[value, text, hint?]], values: [...] (or value), hint, type} */
export function choices(o) {
  const type = o.type || 'checkbox';
  const chosen = new Set((o.values || (o.value !== undefined ? [o.value] : [])).map(String));
  const hintId = o.hint ? `f-${o.name}-${++fieldSeq}-hint` : null;
  return h('div', { class: 'field', 'data-field': o.name },
    h('fieldset', { class: 'fieldset', 'aria-describedby': hintId },
      h('legend', { class: 'legend' }, o.legend),
      o.hint ? h('div', { id: hintId, class: 'hint' }, o.hint) : null,
      h('div', { class: type === 'radio' ? 'radios' : 'checkboxes' }, o.options.map(([v, t, hint]) => {
        const id = `f-${o.name}-${++fieldSeq}`;
        return h('div', { class: 'choice' },
          h('input', { type, id, name: o.name, value: v, checked: chosen.has(String(v)), class: 'choice__input' }),
          h('label', { for: id, class: 'choice__label' }, t),
          hint ? h('div', { class: 'hint choice__hint' }, hint) : null);
      }))));
}

/** A button. o: {kind: 'primary'|'secondary'|'warning', type: 'submit'|'button', onClick} */
export function button(text, o = {}) {
  return h('button', {
    type: o.type || (o.onClick ? 'button' : 'submit'),
    class: ['button', o.kind && o.kind !== 'primary' ? `button--${o.kind}` : null],
    on: o.onClick ? { click: o.onClick } : null,
    ...(o.attrs || {}),
  }, text);
}

/** A form: submit handler receives the values (from formValues) and the form; while it runs
 * the submit buttons are disabled; an ApiError is shown as an error summary linked to the
 * fields. fieldMap maps API error paths (prefix) to form field names. */
export function form(children, onSubmit, o = {}) {
  const f = h('form', { class: 'form', novalidate: true, ...(o.attrs || {}) }, children);
  f.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clearErrors(f);
    const buttons = [...f.querySelectorAll('button[type=submit]')];
    buttons.forEach((b) => { b.disabled = true; });
    try {
      await onSubmit(formValues(f), f);
    } catch (e) {
      if (e instanceof ApiError && e.status === 401) return;
      showErrors(f, e, o.fieldMap);
    } finally {
      buttons.forEach((b) => { b.disabled = false; });
    }
  });
  return f;
}

/** The values of a form: one string per input name; checkboxes give arrays of checked
 * values; empty strings are kept (callers decide what empty means). */
export function formValues(f) {
  const out = {};
  for (const el of f.elements) {
    if (!el.name || el.disabled) continue;
    if (el.type === 'checkbox') {
      if (!out[el.name]) out[el.name] = [];
      if (el.checked) out[el.name].push(el.value);
    } else if (el.type === 'radio') {
      if (el.checked) out[el.name] = el.value;
      else if (!(el.name in out)) out[el.name] = '';
    } else if (el.type === 'file') {
      out[el.name] = el.files && el.files[0] ? el.files[0] : null;
    } else if (el.tagName !== 'BUTTON') {
      out[el.name] = el.value;
    }
  }
  return out;
}

export function clearErrors(f) {
  const s = f.querySelector(':scope > .error-summary');
  if (s) s.remove();
  f.querySelectorAll('.field--error').forEach((el) => el.classList.remove('field--error'));
  f.querySelectorAll('.error-message').forEach((el) => el.remove());
  f.querySelectorAll('[aria-invalid]').forEach((el) => el.removeAttribute('aria-invalid'));
}

function fieldFor(f, path, fieldMap) {
  const candidates = [];
  if (fieldMap) {
    for (const [prefix, name] of Object.entries(fieldMap)) if (path === prefix || path.startsWith(prefix + '.') || path.startsWith(prefix + '[')) candidates.push(name);
  }
  candidates.push(path, path.split(/[.[]/)[0]);
  for (const name of candidates) {
    const wrap = f.querySelector(`[data-field="${CSS.escape(name)}"]`);
    if (wrap) return wrap;
  }
  return null;
}

/** Show an error summary at the top of a form (focused, role=alert) with links to each
 * field in error, and the message beside each field. */
export function showErrors(f, e, fieldMap) {
  clearErrors(f);
  const problem = e instanceof ApiError ? e.problem : { detail: e.message || String(e), errors: [] };
  const items = [];
  for (const fe of problem.errors || []) {
    const wrap = fieldFor(f, fe.field, fieldMap);
    if (wrap) {
      wrap.classList.add('field--error');
      const control = wrap.querySelector('input, select, textarea');
      const msgId = `${control ? control.id : 'x'}-error-${++fieldSeq}`;
      const label = wrap.querySelector('label, legend');
      const msg = h('p', { class: 'error-message', id: msgId }, h('span', { class: 'visually-hidden' }, 'Error: '), fe.message);
      if (label) label.after(msg); else wrap.prepend(msg);
      if (control) {
        control.setAttribute('aria-invalid', 'true');
        const d = control.getAttribute('aria-describedby');
        control.setAttribute('aria-describedby', d ? `${d} ${msgId}` : msgId);
        items.push(h('li', {}, h('a', { href: '#' + control.id, on: { click: (ev) => { ev.preventDefault(); control.focus(); } } }, fe.message)));
        continue;
      }
    }
    items.push(h('li', {}, fe.field ? `${fe.field}: ${fe.message}` : fe.message));
  }
  // Only a change that lost to someone else's says so; other 409s (a duplicate, a wrong state,
  // something in use) are problems like any other.
  const conflict = e instanceof ApiError
    && (e.status === 412 || ['stale_version', 'stale', 'changed_meanwhile', 'segment_changed'].includes(problem.code));
  const summary = h('div', { class: 'error-summary', role: 'alert', tabindex: '-1' },
    h('h2', { class: 'error-summary__title' }, conflict ? 'Someone else changed this first' : 'There is a problem'),
    h('p', {}, items.length && problem.code === 'validation_failed' ? 'Check the fields below.' : problem.detail || e.message),
    items.length ? h('ul', { class: 'error-summary__list' }, items) : null);
  f.prepend(summary);
  summary.focus();
  return summary;
}

// ---------- display ----------

/** A summary list (GOV.UK pattern): rows of [key, value (node or text), action?]. */
export function summaryList(rows) {
  return h('dl', { class: 'summary-list' }, rows.filter(Boolean).map(([k, v, action]) =>
    h('div', { class: 'summary-list__row' },
      h('dt', { class: 'summary-list__key' }, k),
      h('dd', { class: 'summary-list__value' }, v === null || v === undefined || v === '' ? h('span', { class: 'muted' }, 'Not given') : v),
      action ? h('dd', { class: 'summary-list__actions' }, action) : null)));
}

/** A table. o: {caption, columns: [{label, render(row) | key, numeric}], rows, empty} */
export function table(o) {
  if (!o.rows.length) return h('p', { class: 'muted' }, o.empty || 'Nothing to show.');
  return h('div', { class: 'table-wrap' }, h('table', { class: 'table' },
    o.caption ? h('caption', { class: 'table__caption' }, o.caption) : null,
    h('thead', {}, h('tr', {}, o.columns.map((c) => h('th', { scope: 'col', class: c.numeric ? 'numeric' : null }, c.label)))),
    h('tbody', {}, o.rows.map((r) => h('tr', {}, o.columns.map((c) => {
      const v = c.render ? c.render(r) : r[c.key];
      return h('td', { class: c.numeric ? 'numeric' : null }, v === null || v === undefined ? '' : v);
    }))))));
}

/** A coloured tag (status label). kind: 'green' | 'red' | 'yellow' | 'grey' | 'blue' */
export function tag(text, kind = 'blue') {
  return h('strong', { class: ['tag', `tag--${kind}`] }, text);
}

/** A section with an h2 heading. */
export function section(title, ...content) {
  return h('section', { class: 'section' }, h('h2', {}, title), ...content);
}

/** Date like "3 March 2026". */
export function fmtDate(s) {
  if (!s) return '';
  const d = new Date(s.length === 10 ? s + 'T00:00:00Z' : s);
  if (Number.isNaN(d.getTime())) return s;
  return d.toLocaleDateString('en-GB', { day: 'numeric', month: 'long', year: 'numeric', timeZone: 'UTC' });
}

/** Date and time like "3 March 2026, 14:05". */
export function fmtDateTime(s) {
  if (!s) return '';
  const d = new Date(s);
  if (Number.isNaN(d.getTime())) return s;
  return d.toLocaleString('en-GB', { day: 'numeric', month: 'long', year: 'numeric', hour: '2-digit', minute: '2-digit' });
}

/** Delay calls until the input has paused for `ms`. */
export function debounce(fn, ms) {
  let t = null;
  return (...args) => { clearTimeout(t); t = setTimeout(() => fn(...args), ms); };
}

/** Person page extension points: functions (person) → node | null, added by other modules
 * (privacy actions, merge history); the person page shows them in its "Actions" area. */
export const personActions = [];

/** Save a response body as a file download (the API's CSV and JSON exports). */
export async function download(path, filename, query) {
  const res = await api('GET', path, { query, as: 'response' });
  const blob = await res.blob();
  const url = URL.createObjectURL(blob);
  const a = h('a', { href: url, download: filename, class: 'visually-hidden' }, 'download');
  document.body.appendChild(a);
  a.click();
  setTimeout(() => { URL.revokeObjectURL(url); a.remove(); }, 1000);
}

/** Departments (cached for the page's life). */
let departmentsCache = null;
export async function departments() {
  if (!departmentsCache) departmentsCache = await api('GET', '/api/v1/departments');
  return departmentsCache;
}
export function forgetDepartments() { departmentsCache = null; }

/** Purposes (cached for the page's life). */
let purposesCache = null;
export async function purposes() {
  if (!purposesCache) purposesCache = await api('GET', '/api/v1/purposes');
  return purposesCache;
}
export function forgetPurposes() { purposesCache = null; }
