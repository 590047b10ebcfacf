// Two-step sign-in: enrolling an authenticator app (a secret shown once, confirmed with a code)
// and turning it off. Administrators and data protection officers must enrol before anything
// else; everyone else may.
import {
  h, api, route, page, form, field, button, section, notice, navigate, loadSession, session, replace,
  ENROL_PATH,
} from './core.js';

/** The key in groups of four, as apps show and people type it. */
function grouped(key) {
  return key.replace(/(.{4})/g, '$1 ').trim();
}

/** Step 2: the secret to put in the app, and the code that proves it is there. */
function confirmStep(enrolment) {
  const area = document.getElementById('enrol-area');
  replace(area,
    section('Add the key to your app',
      h('ol', {},
        h('li', {}, 'Open an authenticator app on your phone (for example Microsoft Authenticator, Google Authenticator or 1Password) and add an account.'),
        h('li', {}, 'Choose to enter a key by hand, and type this key (time-based, 6 digits):'),
      ),
      h('p', {}, h('code', { class: 'secret-key', 'data-secret': enrolment.key }, grouped(enrolment.key))),
      h('p', {}, 'On a phone you can instead ', h('a', { href: enrolment.otpauth_uri }, 'open the key in your authenticator app'), '.'),
      h('p', { class: 'hint' }, 'The key is shown only now. Keep it in your app only: do not write it down or share it.'),
      form([
        field({ name: 'code', label: 'The 6-digit code the app shows', autocomplete: 'one-time-code', width: 'short', attrs: { inputmode: 'numeric', maxlength: '9' } }),
        button('Turn on two-step sign-in'),
      ], async (v) => {
        await api('POST', '/api/v1/auth/totp/confirm', { body: { code: v.code.trim() } });
        await loadSession();
        notice('Two-step sign-in is on. From now on you will be asked for a code from your app when you sign in.');
        // The hash changes, so the navigation is drawn again, with every link of a full session.
        navigate('/');
      })));
  const input = area.querySelector('input[name=code]');
  if (input) input.focus();
}

route(ENROL_PATH, () => {
  const user = session.user;
  if (user.totp_enabled) {
    page('Two-step sign-in',
      h('p', {}, 'Two-step sign-in is on: you sign in with your password and a code from your authenticator app.'),
      section('Turn it off',
        h('p', {}, 'If your role requires two-step sign-in, you will have to set it up again the next time you sign in. If you have lost your phone, ask an administrator to reset it instead.'),
        form([
          field({ name: 'current_password', label: 'Your password', type: 'password', autocomplete: 'current-password', width: 'long' }),
          field({ name: 'code', label: 'The code your app shows now', autocomplete: 'one-time-code', width: 'short', attrs: { inputmode: 'numeric', maxlength: '9' } }),
          button('Turn off two-step sign-in', { kind: 'warning' }),
        ], async (v) => {
          await api('POST', '/api/v1/auth/totp/disable', { body: { current_password: v.current_password, code: v.code.trim() } });
          await loadSession();
          notice('Two-step sign-in is off.');
          navigate('/');
        })));
    return;
  }
  page('Set up two-step sign-in',
    user.enrolment_only
      ? h('p', { class: 'lead' }, 'Your role needs two-step sign-in: a code from an authenticator app as well as your password. Set it up to carry on.')
      : h('p', { class: 'lead' }, 'Sign in with a code from an authenticator app as well as your password, so a stolen password is not enough.'),
    h('div', { id: 'enrol-area' },
      form([
        field({ name: 'current_password', label: 'Your password', type: 'password', autocomplete: 'current-password', width: 'long' }),
        button('Show my key'),
      ], async (v) => {
        const enrolment = await api('POST', '/api/v1/auth/totp', { body: { current_password: v.current_password } });
        confirmStep(enrolment);
      })));
});
