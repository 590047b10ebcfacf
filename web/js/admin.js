// Administration screens: staff accounts, departments, and purposes with their wordings.
import {
  h, api, ApiError, route, page, form, field, select, choices, button, summaryList, table, tag,
  section, notice, navigate, link, can, fmtDate, fmtDateTime, departments, forgetDepartments, purposes,
  forgetPurposes, hashQuery, withQuery, showErrors, session, replace,
} from './core.js';

const enc = encodeURIComponent;

/** A validation error raised in the browser, shown by form() like the API's. */
function invalid(errors) {
  return new ApiError(422, { status: 422, code: 'validation', detail: 'Check the fields below.', errors });
}

/** Errors for required text fields left empty: [[name, message]]. */
function required(v, pairs) {
  return pairs.filter(([name]) => !String(v[name] ?? '').trim())
    .map(([name, message]) => ({ field: name, code: 'required', message }));
}

/** Show a 409 in the form with a way to load the latest version; rethrow anything else. */
function conflictWithReload(f, e, path, what) {
  if (!(e instanceof ApiError && e.status === 409)) throw e;
  const summary = showErrors(f, e);
  summary.append(h('p', {}, button(`Reload the ${what}`, { kind: 'secondary', onClick: () => navigate(path) })));
}

// ---------- the landing page ----------

route('/admin', () => {
  const cards = [
    ['/admin/users', 'Staff accounts', 'Create accounts, give roles and departments, disable accounts and end sessions.', 'users_manage'],
    ['/admin/departments', 'Departments', 'Add departments and change their names.', 'departments_manage'],
    ['/admin/purposes', 'Purposes', 'What we contact people for, its lawful basis, and the wording people are shown.', 'purposes_manage'],
  ].filter(([, , , p]) => can(p));
  page('Administration',
    h('ul', { class: 'cards' }, cards.map(([path, title, text]) =>
      h('li', { class: 'card' }, h('h2', { class: 'card__title' }, link(path, title)), h('p', {}, text)))));
}, { permission: 'users_manage' });

// ---------- staff accounts ----------

const ROLES = [
  ['administrator', 'Administrator',
    'Manages staff accounts, departments and purposes, and can read and change people’s records in every department. Cannot export, erase or restrict records, and does not see restricted people.'],
  ['data_protection_officer', 'Data protection officer',
    'Handles data protection requests: keeps their register and deadlines, subject access exports, erasure and restriction. Reads every record, including restricted ones, the audit log and the suppression list, but cannot change records.'],
  ['engagement_officer', 'Engagement officer',
    'Reads and changes people’s records, consent and engagement in every department, imports lists and reviews possible duplicates.'],
  ['department_editor', 'Department editor',
    'Like an engagement officer, but only for people linked to their departments. Choose at least one department below.'],
  ['campaigns_manager', 'Campaigns manager',
    'Builds segments, templates and email campaigns, and sees journey analytics. Cannot open people’s records.'],
  ['analyst', 'Analyst',
    'Sees journey analytics only: totals, with small numbers hidden. No personal data.'],
];
const ROLE_LABEL = Object.fromEntries(ROLES.map(([v, t]) => [v, t]));

const USERS_PAGE = 100;

function statusTag(status) {
  return status === 'active' ? tag('Active', 'green') : tag('Disabled', 'grey');
}

function roleChoices(values) {
  return choices({
    name: 'roles', legend: 'Roles', values,
    hint: 'Choose every role this person needs. Each role allows the following.',
    options: ROLES,
  });
}

function departmentChoices(depts, values) {
  return choices({
    name: 'departments', legend: 'Departments', values,
    hint: 'Needed for department editors: they only see people linked to these departments. Other roles see every department.',
    options: depts.map((d) => [d.code, d.name, d.code]),
  });
}

route('/admin/users', async (_params, isCurrent) => {
  const offset = Math.max(0, (Number(hashQuery().get('page')) || 1) - 1) * USERS_PAGE;
  const [r, depts] = await Promise.all([
    api('GET', '/api/v1/users', { query: { limit: USERS_PAGE, offset } }),
    departments(),
  ]);
  if (!isCurrent()) return;
  const deptName = Object.fromEntries(depts.map((d) => [d.code, d.name]));
  const pageNo = offset / USERS_PAGE + 1;
  page('Staff accounts', { back: ['/admin', 'Back to administration'], caption: 'Administration' },
    h('p', {}, h('a', { href: '#/admin/users/new', class: 'button' }, 'Create a staff account')),
    table({
      caption: `Staff accounts (${r.total})`,
      columns: [
        { label: 'Name', render: (u) => link(`/admin/users/${enc(u.id)}`, u.name) },
        { label: 'Email address', key: 'email' },
        { label: 'Roles', render: (u) => u.roles.map((x) => ROLE_LABEL[x] || x).join(', ') },
        { label: 'Departments', render: (u) => (u.departments.length ? u.departments.map((c) => deptName[c] || c).join(', ') : h('span', { class: 'muted' }, 'None')) },
        { label: 'Status', render: (u) => statusTag(u.status) },
      ],
      rows: r.items,
      empty: 'There are no staff accounts.',
    }),
    r.total > USERS_PAGE ? h('nav', { 'aria-label': 'Staff account pages' }, h('ul', { class: 'pagination' },
      pageNo > 1 ? h('li', {}, link(withQuery('/admin/users', { page: pageNo - 1 }), 'Previous page')) : null,
      offset + USERS_PAGE < r.total ? h('li', {}, link(withQuery('/admin/users', { page: pageNo + 1 }), 'Next page')) : null)) : null);
}, { permission: 'users_manage' });

/** The invitation of the account just created, shown once on its page. */
let justInvited = null;

/** An invitation link to give the person, and until when it works. */
function invitationLink(inv) {
  const url = `${location.origin}/#/invitation/${inv.token}`;
  return h('div', { class: 'inset' },
    h('p', {}, `Give this link to the person, safely (it is shown only now). It works once, until ${fmtDateTime(inv.expires_at)}:`),
    h('p', {}, h('code', { class: 'invitation-link' }, url)));
}

route('/admin/users/new', async (_params, isCurrent) => {
  const depts = await departments();
  if (!isCurrent()) return;
  page('Create a staff account', { back: ['/admin/users', 'Back to staff accounts'], caption: 'Administration' },
    form([
      field({ name: 'name', label: 'Full name', autocomplete: 'off', width: 'long' }),
      field({ name: 'email', label: 'Email address', type: 'email', hint: 'They sign in with this.', autocomplete: 'off', spellcheck: false, width: 'long' }),
      field({
        name: 'password', label: 'First password', type: 'password', autocomplete: 'new-password', width: 'long',
        hint: 'Best left empty: the account then gets an invitation link, shown once, with which the person chooses their own password. Or 12 to 128 characters, not a common password, given to them safely.',
      }),
      roleChoices([]),
      depts.length ? departmentChoices(depts, []) : h('p', { class: 'inset' }, 'There are no departments yet. ', link('/admin/departments', 'Add a department'), ' before creating a department editor.'),
      button('Create account'),
    ], async (v) => {
      const errors = required(v, [['name', 'Enter the person’s full name'], ['email', 'Enter their email address']]);
      if (!v.roles.length) errors.push({ field: 'roles', code: 'required', message: 'Choose at least one role' });
      if (errors.length) throw invalid(errors);
      const u = await api('POST', '/api/v1/users', {
        body: { name: v.name.trim(), email: v.email.trim(), password: v.password || undefined, roles: v.roles, departments: v.departments || [] },
      });
      justInvited = u.invitation ? { id: u.id, ...u.invitation } : null;
      notice(`Account created for ${u.name}.`);
      navigate(`/admin/users/${enc(u.id)}`);
    }));
}, { permission: 'users_manage' });

route('/admin/users/:id', async ({ id }, isCurrent) => {
  const [u, depts] = await Promise.all([api('GET', `/api/v1/users/${enc(id)}`), departments()]);
  if (!isCurrent()) return;
  const path = `/admin/users/${enc(id)}`;
  const deptName = Object.fromEntries(depts.map((d) => [d.code, d.name]));
  const self = session.user && session.user.id === u.id;
  const edit = form([
    field({ name: 'name', label: 'Full name', value: u.name, autocomplete: 'off', width: 'long' }),
    roleChoices(u.roles),
    departmentChoices(depts, u.departments),
    choices({
      name: 'status', type: 'radio', legend: 'Status', value: u.status,
      options: [
        ['active', 'Active', 'Can sign in.'],
        ['disabled', 'Disabled', 'Cannot sign in. Disabling ends every session of this account at once.'],
      ],
    }),
    button('Save changes'),
  ], async (v, f) => {
    const errors = required(v, [['name', 'Enter the person’s full name']]);
    if (!v.roles.length) errors.push({ field: 'roles', code: 'required', message: 'Choose at least one role' });
    if (errors.length) throw invalid(errors);
    try {
      await api('PATCH', `/api/v1/users/${enc(id)}`, {
        body: { version: u.version, name: v.name.trim(), roles: v.roles, departments: v.departments, status: v.status || u.status },
      });
    } catch (e) {
      conflictWithReload(f, e, path, 'account');
      return;
    }
    notice(v.status === 'disabled' && u.status !== 'disabled' ? `${v.name.trim()}’s account is disabled and their sessions have ended.` : 'Changes saved.');
    navigate(path);
  });
  const sessionsMsg = h('div', { role: 'status' });
  const totpMsg = h('div', { role: 'status' });
  const inviteMsg = h('div', { role: 'status' });
  if (justInvited && justInvited.id === u.id) replace(inviteMsg, invitationLink(justInvited));
  justInvited = null;
  page(u.name, { back: ['/admin/users', 'Back to staff accounts'], caption: 'Staff account' },
    summaryList([
      ['Email address', u.email],
      ['Roles', u.roles.length ? h('ul', {}, u.roles.map((r) => h('li', {}, ROLE_LABEL[r] || r))) : ''],
      ['Departments', u.departments.map((c) => deptName[c] || c).join(', ')],
      ['Status', statusTag(u.status)],
      ['Two-step sign-in', u.totp_enabled ? 'On' : 'Off'],
      u.invitation_expires_at ? ['Password', `Not chosen yet: the invitation link works until ${fmtDateTime(u.invitation_expires_at)}`] : null,
    ]),
    section('Change this account',
      self ? h('p', { class: 'warning-text' }, 'This is your own account. Taking away your administrator role or disabling it locks you out.') : null,
      edit),
    !self && u.status === 'active' ? section('Invitation link',
      h('p', {}, 'A new single-use link with which this person chooses a new password: when their invitation expired, or they forgot their password. An earlier link stops working, and choosing the password signs them out everywhere.'),
      inviteMsg,
      actionButton('Create a new invitation link', 'secondary', inviteMsg, 'No link was made', async () => {
        const inv = await api('POST', `/api/v1/users/${enc(id)}/invitation`);
        replace(inviteMsg, invitationLink(inv));
      })) : null,
    section('Sessions',
      h('p', {}, 'Signs this person out everywhere, for example after a lost laptop. They can sign in again with their password.'),
      sessionsMsg,
      actionButton('End all sessions', 'secondary', sessionsMsg, 'The sessions could not be ended', async () => {
        await api('DELETE', `/api/v1/users/${enc(id)}/sessions`);
        replace(sessionsMsg, h('div', { class: 'notice' }, h('p', {}, `Every session of ${u.name} has ended.`)));
      })),
    u.totp_enabled && !self ? section('Two-step sign-in',
      h('p', {}, 'For someone who has lost the phone with their authenticator app: turns their two-step sign-in off and signs them out everywhere. If their role requires it, they set it up again when they next sign in.'),
      totpMsg,
      actionButton('Reset two-step sign-in', 'warning', totpMsg, 'It could not be reset', async () => {
        await api('POST', `/api/v1/users/${enc(id)}/totp/reset`);
        // Drawn again, so the summary says it is off.
        notice(`${u.name}’s two-step sign-in is reset and their sessions have ended.`);
        navigate(path);
      })) : null);
}, { permission: 'users_manage' });

/** A button that runs `act`, disabled while it runs; a failure is shown in `msg` as
 * “`failed`: the service's message”. */
function actionButton(text, kind, msg, failed, act) {
  return button(text, {
    kind,
    onClick: async (ev) => {
      const b = ev.currentTarget;
      b.disabled = true;
      try {
        await act();
      } catch (e) {
        replace(msg, h('div', { class: 'notice notice--error' }, h('p', {}, `${failed}: ${e.message}`)));
      } finally {
        b.disabled = false;
      }
    },
  });
}

// ---------- departments ----------

route('/admin/departments', async (_params, isCurrent) => {
  forgetDepartments();
  const depts = await departments();
  if (!isCurrent()) return;
  page('Departments', { back: ['/admin', 'Back to administration'], caption: 'Administration' },
    table({
      caption: `Departments (${depts.length})`,
      columns: [
        { label: 'Code', render: (d) => h('code', {}, d.code) },
        { label: 'Name', key: 'name' },
        { label: 'Action', render: (d) => link(`/admin/departments/${enc(d.code)}`, ['Rename', h('span', { class: 'visually-hidden' }, ` ${d.name}`)]) },
      ],
      rows: depts,
      empty: 'There are no departments yet.',
    }),
    section('Add a department', form([
      field({ name: 'code', label: 'Code', width: 'medium', spellcheck: false, autocomplete: 'off',
        hint: '2 to 16 capital letters, digits, hyphens or underscores, for example BARB. It cannot be changed later.' }),
      field({ name: 'name', label: 'Name', width: 'long', autocomplete: 'off', hint: 'For example Barbican Centre.' }),
      button('Add department'),
    ], async (v) => {
      const errors = required(v, [['code', 'Enter a code'], ['name', 'Enter a name']]);
      if (errors.length) throw invalid(errors);
      const d = await api('POST', '/api/v1/departments', { body: { code: v.code.trim(), name: v.name.trim() } });
      forgetDepartments();
      notice(`${d.name} (${d.code}) added.`);
      navigate('/admin/departments');
    })));
}, { permission: 'departments_manage' });

route('/admin/departments/:code', async ({ code }, isCurrent) => {
  forgetDepartments();
  const depts = await departments();
  if (!isCurrent()) return;
  const d = depts.find((x) => x.code === code);
  if (!d) {
    page('Not found', h('p', {}, 'There is no such department.'), h('p', {}, link('/admin/departments', 'Go to departments')));
    return;
  }
  page(`Rename ${d.name}`, { back: ['/admin/departments', 'Back to departments'], caption: `Department ${d.code}` },
    h('p', {}, 'The code stays the same; staff and lists keep their links to the department.'),
    form([
      field({ name: 'name', label: 'New name', value: d.name, width: 'long', autocomplete: 'off' }),
      h('div', { class: 'button-group' }, button('Save name'), link('/admin/departments', 'Cancel')),
    ], async (v) => {
      const errors = required(v, [['name', 'Enter a name']]);
      if (errors.length) throw invalid(errors);
      await api('PATCH', `/api/v1/departments/${enc(code)}`, { body: { name: v.name.trim() } });
      forgetDepartments();
      notice(`Department ${code} is now called ${v.name.trim()}.`);
      navigate('/admin/departments');
    }));
}, { permission: 'departments_manage' });

// ---------- purposes ----------

const CATEGORIES = [
  ['service', 'Service', 'Messages needed to deliver a service the person uses, such as booking confirmations.'],
  ['marketing', 'Marketing', 'Promotion, newsletters and invitations. Email and text messages need consent (PECR).'],
];
const CATEGORY_LABEL = Object.fromEntries(CATEGORIES.map(([v, t]) => [v, t]));

const BASES = [
  ['consent', 'Consent'],
  ['contract', 'Contract'],
  ['legal_obligation', 'Legal obligation'],
  ['vital_interests', 'Vital interests'],
  ['public_task', 'Public task'],
  ['legitimate_interests', 'Legitimate interests'],
];
const BASIS_LABEL = Object.fromEntries(BASES);
const BASIS_HINT = 'The UK GDPR Article 6 basis used when a consent record does not name one.';

async function freshPurposes() {
  forgetPurposes();
  return purposes();
}

function latestWording(p) {
  return p.wordings.length ? p.wordings[p.wordings.length - 1] : null;
}

route('/admin/purposes', async (_params, isCurrent) => {
  const list = await freshPurposes();
  if (!isCurrent()) return;
  page('Purposes', { back: ['/admin', 'Back to administration'], caption: 'Administration' },
    h('p', {}, 'A purpose is a reason we contact people. Consent is recorded against a purpose and the wording version the person was shown.'),
    h('p', {}, h('a', { href: '#/admin/purposes/new', class: 'button' }, 'Create a purpose')),
    table({
      caption: `Purposes (${list.length})`,
      columns: [
        { label: 'Code', render: (p) => link(`/admin/purposes/${enc(p.code)}`, p.code) },
        { label: 'Description', key: 'description' },
        { label: 'Category', render: (p) => CATEGORY_LABEL[p.category] || p.category },
        { label: 'Default lawful basis', render: (p) => BASIS_LABEL[p.default_lawful_basis] || p.default_lawful_basis },
        {
          label: 'Wording versions', numeric: true,
          render: (p) => (p.wordings.length ? `${p.wordings.length} (latest: version ${latestWording(p).version})` : 'None'),
        },
      ],
      rows: list,
      empty: 'There are no purposes yet.',
    }));
}, { permission: 'purposes_manage' });

function purposeFields(p) {
  return [
    field({ name: 'description', label: 'Description', value: p ? p.description : '', width: 'full',
      hint: 'What contact for this purpose is, in plain English, for example “The Barbican newsletter”.' }),
    choices({ name: 'category', type: 'radio', legend: 'Category', value: p ? p.category : undefined, options: CATEGORIES }),
    select({ name: 'default_lawful_basis', label: 'Default lawful basis', hint: BASIS_HINT, value: p ? p.default_lawful_basis : '',
      options: [...(p ? [] : [['', 'Choose a basis']]), ...BASES] }),
    field({ name: 'statutory_reference', label: 'Statutory reference (public task or legal obligation only)', width: 'full',
      value: p && p.statutory_reference ? p.statutory_reference : '',
      hint: 'The law that gives the task or the obligation, for example “Local Government Act 1972, s. 111”. Leave empty for other bases.' }),
  ];
}

const NEEDS_LAW = ['public_task', 'legal_obligation'];

function purposeErrors(v) {
  const errors = required(v, [['description', 'Enter a description']]);
  if (!v.category) errors.push({ field: 'category', code: 'required', message: 'Choose a category' });
  if (!v.default_lawful_basis) errors.push({ field: 'default_lawful_basis', code: 'required', message: 'Choose a default lawful basis' });
  const law = (v.statutory_reference || '').trim();
  if (NEEDS_LAW.includes(v.default_lawful_basis) && !law) {
    errors.push({ field: 'statutory_reference', code: 'required', message: 'Name the law behind a public task or legal obligation' });
  }
  if (law && v.default_lawful_basis && !NEEDS_LAW.includes(v.default_lawful_basis)) {
    errors.push({ field: 'statutory_reference', code: 'not_applicable', message: 'Only a public task or legal obligation names a law: leave this empty' });
  }
  return errors;
}

/** The statutory reference to send: only with a basis that takes one. */
function lawOf(v) {
  const law = (v.statutory_reference || '').trim();
  return NEEDS_LAW.includes(v.default_lawful_basis) && law ? { statutory_reference: law } : {};
}

route('/admin/purposes/new', () => {
  page('Create a purpose', { back: ['/admin/purposes', 'Back to purposes'], caption: 'Administration' },
    form([
      field({ name: 'code', label: 'Code', width: 'medium', spellcheck: false, autocomplete: 'off',
        hint: '2 to 40 lower-case letters, digits or underscores, for example barbican_news. It cannot be changed later.' }),
      ...purposeFields(null),
      field({ name: 'wording', label: 'First wording (optional)', type: 'textarea', rows: 4,
        hint: 'The exact text people are shown when they are asked, for example “Email me the Barbican newsletter.” It becomes version 1.' }),
      button('Create purpose'),
    ], async (v) => {
      const errors = [...required(v, [['code', 'Enter a code']]), ...purposeErrors(v)];
      if (errors.length) throw invalid(errors);
      const body = { code: v.code.trim(), description: v.description.trim(), category: v.category, default_lawful_basis: v.default_lawful_basis, ...lawOf(v) };
      if (v.wording.trim()) body.wording = v.wording.trim();
      const p = await api('POST', '/api/v1/purposes', { body });
      forgetPurposes();
      notice(`Purpose ${p.code} created.`);
      navigate(`/admin/purposes/${enc(p.code)}`);
    }));
}, { permission: 'purposes_manage' });

route('/admin/purposes/:code', async ({ code }, isCurrent) => {
  const list = await freshPurposes();
  if (!isCurrent()) return;
  const p = list.find((x) => x.code === code);
  if (!p) {
    page('Not found', h('p', {}, 'There is no such purpose.'), h('p', {}, link('/admin/purposes', 'Go to purposes')));
    return;
  }
  const path = `/admin/purposes/${enc(code)}`;
  const next = (latestWording(p) ? latestWording(p).version : 0) + 1;
  page(p.description, { back: ['/admin/purposes', 'Back to purposes'], caption: `Purpose ${p.code}` },
    summaryList([
      ['Code', h('code', {}, p.code)],
      ['Category', CATEGORY_LABEL[p.category] || p.category],
      ['Default lawful basis', BASIS_LABEL[p.default_lawful_basis] || p.default_lawful_basis],
      ...(p.statutory_reference ? [['Statutory reference', p.statutory_reference]] : []),
    ]),
    section('Wording versions',
      h('p', {}, 'Old versions never change: consent records say which version the person saw.'),
      table({
        caption: `Wording versions of ${p.code}`,
        columns: [
          { label: 'Version', numeric: true, render: (w) => String(w.version) },
          { label: 'Text', render: (w) => h('span', { class: 'admin-wording' }, w.text) },
          { label: 'Added', render: (w) => fmtDate(w.created_at) },
        ],
        rows: p.wordings,
        empty: 'No wording yet.',
      }),
      h('h3', {}, `Add version ${next}`),
      form([
        field({ name: 'text', label: 'Text people will be shown', type: 'textarea', rows: 4 }),
        button('Add wording version'),
      ], async (v) => {
        const errors = required(v, [['text', 'Enter the text people will be shown']]);
        if (errors.length) throw invalid(errors);
        const np = await api('POST', `/api/v1/purposes/${enc(code)}/wordings`, { body: { text: v.text.trim() } });
        forgetPurposes();
        const added = np && np.wordings && np.wordings.length ? np.wordings[np.wordings.length - 1].version : next;
        notice(`Wording version ${added} added.`);
        navigate(path);
      })),
    section('Change this purpose',
      form([
        ...purposeFields(p),
        button('Save changes'),
      ], async (v) => {
        const errors = purposeErrors(v);
        if (errors.length) throw invalid(errors);
        await api('PATCH', path.replace('/admin/purposes/', '/api/v1/purposes/'), {
          body: { description: v.description.trim(), category: v.category, default_lawful_basis: v.default_lawful_basis, ...lawOf(v) },
        });
        forgetPurposes();
        notice('Changes saved.');
        navigate(path);
      })));
}, { permission: 'purposes_manage' });

export { route };
