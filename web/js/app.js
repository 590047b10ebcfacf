// Entry point: sign-in and sign-out, the navigation for the user's role, the start page, and
// the router. Screens register themselves when their module is imported.
import {
  h, api, ApiError, session, can, loadSession, route, navigate, dispatch, currentPath, isPublicPath, page,
  field, button, form, notice, replace, link, setSessionEndedHandler, ENROL_PATH,
} from './core.js';
import './account.js';
import './people.js';
import './privacy.js';
import './requests.js';
import './imports.js';
import './review.js';
import './journeys.js';
import './campaigns.js';
import './admin.js';

const NAV = [
  ['/people', 'People', 'people_read'],
  ['/imports', 'Imports', 'imports_run'],
  ['/review', 'Review duplicates', 'people_merge'],
  ['/journeys', 'Journeys', 'journeys_read'],
  ['/campaigns', 'Campaigns', 'campaigns_manage'],
  // The data protection area needs the audit log; whoever may only manage the suppression list
  // (engagement officers) gets a link straight to it instead.
  ['/privacy', 'Data protection', 'audit_read'],
  ['/privacy/suppressions', 'Suppression list', (can) => !can('audit_read') && can('suppressions_manage')],
  ['/admin', 'Administration', 'users_manage'],
];

/** Whether a nav item or start page card is for the user: a permission, or a test of them. */
const allowed = (p) => (typeof p === 'function' ? p(can) : can(p));

function renderNav() {
  const nav = document.getElementById('nav');
  if (!session.user) { replace(nav); return; }
  const here = currentPath();
  const enrolling = session.user.enrolment_only;
  const items = NAV.filter(([, , p]) => !enrolling && allowed(p)).map(([path, text]) =>
    h('li', {}, h('a', { href: '#' + path, class: 'nav__link', 'aria-current': here.startsWith(path) ? 'page' : null }, text)));
  replace(nav,
    h('ul', { class: 'nav__list' }, items,
      h('li', { class: 'nav__user' },
        h('a', { href: '#' + ENROL_PATH, class: 'nav__account', title: 'Two-step sign-in' }, session.user.name),
        h('button', { type: 'button', class: 'nav__signout', on: { click: signOut } }, 'Sign out'))));
}

let returnTo = null;
// Whose screens this page has shown: screens keep some state in memory (the last search, an
// erasure report), which must not be shown to someone else signing in at the same screen.
let shownTo = null;

/** Start afresh at `path`: a reload, so that nothing held in memory outlives the user. */
function fresh(path) {
  location.replace(`${location.pathname}#${path}`);
  location.reload();
}

async function signOut() {
  try {
    await api('POST', '/api/v1/auth/logout');
  } catch (e) {
    // A 401: the session had ended already. Anything else: it may still be live, so say so.
    if (!(e instanceof ApiError && e.status === 401)) {
      notice('Signing out did not work, so you are still signed in. Try again.', 'error');
      return;
    }
  }
  fresh('/signed-out');
}

setSessionEndedHandler(() => {
  const here = currentPath();
  if (here !== '/signin') returnTo = here;
  renderNav();
  notice('Your session has ended. Sign in again to carry on.', 'warning');
  navigate('/signin');
});

// The sign-in form; `pending` keeps the email and password while asking for a one-time code.
function signInPage(pending) {
  const fields = pending
    ? [
      h('p', {}, 'Enter the 6-digit code your authenticator app shows for Data Lighthouse.'),
      field({ name: 'totp', label: 'One-time code', autocomplete: 'one-time-code', width: 'short', attrs: { inputmode: 'numeric', maxlength: '9' } }),
      button('Continue'),
    ]
    : [
      h('p', {}, 'Sign in with your City staff account.'),
      field({ name: 'email', label: 'Email address', type: 'email', autocomplete: 'username', spellcheck: false, width: 'long' }),
      field({ name: 'password', label: 'Password', type: 'password', autocomplete: 'current-password', width: 'long' }),
      button('Sign in'),
    ];
  page(pending ? 'Two-step sign-in' : 'Sign in',
    form(fields, async (v) => {
      const body = pending ? { ...pending, totp: v.totp.trim() } : { email: v.email.trim(), password: v.password };
      let signedIn;
      try {
        signedIn = await api('POST', '/api/v1/auth/login', { body });
      } catch (e) {
        const code = e instanceof ApiError && e.problem ? e.problem.code : null;
        if (e instanceof ApiError && e.status === 429) {
          throw new ApiError(429, { ...e.problem, detail: 'This account is locked for a while after too many failed attempts. Try again later, or ask an administrator.' });
        }
        if (code === 'mfa_required') { signInPage(body); return; }
        if (code === 'mfa_invalid') {
          throw new ApiError(422, { ...e.problem, detail: 'That code is not right, or was used already. Wait for the next code and try again.', errors: [{ field: 'totp', code: 'mfa_invalid', message: 'Enter the code your app shows now.' }] });
        }
        if (e instanceof ApiError && e.status === 401) {
          throw new ApiError(400, { ...e.problem, detail: 'The email address or password is not right.', errors: [] });
        }
        throw e;
      }
      await loadSession();
      if (shownTo && session.user && session.user.id !== shownTo) {
        fresh(signedIn.enrolment_only ? ENROL_PATH : '/');
        return;
      }
      shownTo = session.user && session.user.id;
      renderNav();
      const to = returnTo && returnTo !== '/signin' ? returnTo : '/';
      returnTo = null;
      navigate(signedIn.enrolment_only ? ENROL_PATH : to);
    }));
  if (pending) {
    const input = document.querySelector('input[name=totp]');
    if (input) input.focus();
  }
}

route('/signin', () => {
  if (session.user) { navigate('/'); return; }
  signInPage(null);
}, { public: true });

// An invitation link: the new user chooses their own password. The token is in the address's
// fragment, which the browser never sends to the server.
route('/invitation/:token', ({ token }) => {
  page('Choose your password',
    h('p', {}, 'An administrator opened a Data Lighthouse account for you. Choose the password you will sign in with. This link works once.'),
    form([
      field({ name: 'password', label: 'New password', type: 'password', autocomplete: 'new-password', width: 'long', hint: '12 to 128 characters, not a common password. A few unrelated words make a good one.' }),
      field({ name: 'again', label: 'Type it again', type: 'password', autocomplete: 'new-password', width: 'long' }),
      button('Set my password'),
    ], async (v) => {
      const errors = [];
      if (!v.password) errors.push({ field: 'password', code: 'required', message: 'Enter a password' });
      else if (v.again !== v.password) errors.push({ field: 'again', code: 'mismatch', message: 'Type the same password again' });
      if (errors.length) throw new ApiError(422, { status: 422, code: 'validation', detail: 'Check the fields below.', errors });
      await api('POST', '/api/v1/auth/invitation', { body: { token, password: v.password } });
      notice('Your password is set. Sign in with your email address and it.');
      navigate('/signin');
    }));
}, { public: true });

route('/', () => {
  const cards = [
    ['/people', 'People', 'Find someone, see their record across departments, their consent and what they took part in.', 'people_read'],
    ['/imports', 'Import a list', 'Upload a departmental CSV or Excel list, check every row, then commit it.', 'imports_run'],
    ['/review', 'Review possible duplicates', 'Decide whether two records are the same person.', 'people_merge'],
    ['/journeys', 'Journeys', 'How people move between City activities.', 'journeys_read'],
    ['/campaigns', 'Campaigns', 'Segments, templates and emails that respect consent.', 'campaigns_manage'],
    ['/privacy', 'Data protection', 'The audit log, suppression list and data protection requests.', 'audit_read'],
    ['/privacy/requests', 'Rights requests', 'Requests to see, correct or erase personal data, and the date each must be answered by.', 'rights_requests'],
    ['/privacy/suppressions', 'Suppression list', 'Email addresses and phone numbers that must never be contacted.', (c) => !c('audit_read') && c('suppressions_manage')],
    ['/admin', 'Administration', 'Staff accounts, departments and purposes.', 'users_manage'],
  ].filter(([, , , p]) => allowed(p));
  page(`Welcome, ${session.user.name}`,
    h('p', { class: 'lead' }, 'What do you want to do?'),
    h('ul', { class: 'cards' }, cards.map(([path, title, text]) =>
      h('li', { class: 'card' }, h('h2', { class: 'card__title' }, link(path, title)), h('p', {}, text)))),
    cards.length ? null : h('p', {}, 'Your account has no role yet. Ask an administrator.'));
});

window.addEventListener('hashchange', async () => { renderNav(); await dispatch(); });

(async function start() {
  await loadSession();
  shownTo = session.user && session.user.id;
  renderNav();
  if (currentPath() === '/signed-out') {
    if (!session.user) notice('You have signed out.');
    navigate(session.user ? '/' : '/signin');
    return;
  }
  if (!session.user && !isPublicPath(currentPath())) {
    if (currentPath() !== '/') returnTo = currentPath();
    navigate('/signin');
    return;
  }
  await dispatch();
})();

export { link };
