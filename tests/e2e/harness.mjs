// Harness for the web client's end-to-end tests: starts the real `lighthouse` binary on a
// fresh SQLite database (a PostgreSQL URL in E2E_DATABASE_URL is used instead when given),
// an SMTP sink, headless Chromium (Debian's /usr/bin/chromium, driven by playwright-core),
// and offers sign-in, API seeding, axe-core accessibility checks and screenshots.
//
// Environment: LIGHTHOUSE_BIN (default ../../target/debug/lighthouse), CHROMIUM
// (default /usr/bin/chromium), E2E_WEB_DIR (serve web/ from disk while working on it).
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import assert from 'node:assert/strict';
import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));
export const root = join(here, '..', '..');
const require = createRequire(import.meta.url);
const axeSource = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
export const screenshotDir = join(here, 'screenshots');
mkdirSync(screenshotDir, { recursive: true });

export const PASSWORD = 'correct horse battery staple 42';

/** A free loopback port. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
  });
}

// ---------- SMTP sink ----------

/** A minimal SMTP server keeping every message: {from, to: [], data} in `messages`. */
export async function startSmtpSink() {
  const messages = [];
  const server = createServer((sock) => {
    sock.setEncoding('utf8');
    let buf = '';
    let inData = false;
    let cur = { from: '', to: [], data: '' };
    sock.write('220 sink ESMTP\r\n');
    sock.on('data', (chunk) => {
      buf += chunk;
      for (;;) {
        if (inData) {
          const end = buf.indexOf('\r\n.\r\n');
          if (end < 0) return;
          cur.data = buf.slice(0, end).replace(/\r\n\.\./g, '\r\n.');
          buf = buf.slice(end + 5);
          inData = false;
          messages.push(cur);
          cur = { from: '', to: [], data: '' };
          sock.write('250 OK queued\r\n');
          continue;
        }
        const nl = buf.indexOf('\r\n');
        if (nl < 0) return;
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 2);
        const verb = line.slice(0, 4).toUpperCase();
        if (verb === 'EHLO' || verb === 'HELO') sock.write('250-sink\r\n250 8BITMIME\r\n');
        else if (verb === 'MAIL') { cur.from = line.slice(10).trim(); sock.write('250 OK\r\n'); }
        else if (verb === 'RCPT') { cur.to.push(line.slice(8).trim()); sock.write('250 OK\r\n'); }
        else if (verb === 'DATA') { inData = true; sock.write('354 go ahead\r\n'); }
        else if (verb === 'QUIT') { sock.end('221 bye\r\n'); return; }
        else sock.write('250 OK\r\n');
      }
    });
    sock.on('error', () => {});
  });
  const port = await new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server.address().port)));
  return { port, messages, close: () => server.close() };
}

// ---------- the service ----------

/** Start the service on a fresh database. Returns {url, bin, env, api(...), stop(), smtp}. */
export async function startService(opts = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'lighthouse-e2e-'));
  const port = await freePort();
  const smtp = await startSmtpSink();
  const url = `http://127.0.0.1:${port}`;
  const bin = process.env.LIGHTHOUSE_BIN || join(root, 'target', 'debug', 'lighthouse');
  const env = {
    ...process.env,
    DATABASE_URL: process.env.E2E_DATABASE_URL || `sqlite://${join(dir, 'lighthouse.db')}`,
    LIGHTHOUSE__SERVER__BIND: `127.0.0.1:${port}`,
    LIGHTHOUSE__SERVER__PUBLIC_URL: url,
    LIGHTHOUSE__SERVER__WORKERS: '2',
    LIGHTHOUSE__CAMPAIGNS__SMTP_HOST: '127.0.0.1',
    LIGHTHOUSE__CAMPAIGNS__SMTP_PORT: String(smtp.port),
    LIGHTHOUSE__CAMPAIGNS__SMTP_TLS: 'none',
    LIGHTHOUSE__CAMPAIGNS__FROM_ADDRESS: 'city@example.org',
    LIGHTHOUSE__CAMPAIGNS__PUBLIC_BASE_URL: url,
    LIGHTHOUSE__CAMPAIGNS__RETRY_BASE_SECS: '1',
    LIGHTHOUSE__CAMPAIGNS__WORKERS: '1',
    LIGHTHOUSE__LOG__LEVEL: process.env.E2E_LOG_LEVEL || 'warn',
    // Administrators and DPOs sign in with a password alone, except where a test asks for the
    // product's default (mfa.test.mjs).
    LIGHTHOUSE__AUTH__MFA_REQUIRED_ROLES: opts.mfaRequiredRoles ?? '',
    LIGHTHOUSE__RETENTION__RUN_EVERY_HOURS: '0',
  };
  if (process.env.E2E_WEB_DIR) env.LIGHTHOUSE__SERVER__WEB_DIR = process.env.E2E_WEB_DIR;
  execFileSync(bin, ['migrate'], { env, cwd: root, stdio: ['ignore', 'ignore', 'inherit'] });
  const child = spawn(bin, ['serve'], { env, cwd: root, stdio: ['ignore', 'ignore', 'inherit'] });
  let exited = false;
  child.on('exit', () => { exited = true; });
  for (let i = 0; i < 200; i++) {
    if (exited) throw new Error('lighthouse serve exited at start-up');
    try { if ((await fetch(`${url}/readyz`)).ok) break; } catch (e) { /* not yet */ }
    await new Promise((r) => setTimeout(r, 100));
  }
  const svc = {
    url, bin, env, smtp, dir,
    stop: async () => { child.kill('SIGTERM'); smtp.close(); },
  };
  return svc;
}

/** Create a staff account through the CLI (the way the first administrator is made). */
export function createUser(svc, { email, name, roles, departments = [], password = PASSWORD }) {
  const args = ['user', 'create', '--email', email, '--name', name];
  for (const r of roles) args.push('--role', r);
  for (const d of departments) args.push('--department', d);
  execFileSync(svc.bin, args, { env: { ...svc.env, LIGHTHOUSE_PASSWORD: password }, cwd: root, stdio: ['ignore', 'ignore', 'inherit'] });
  return { email, password, name };
}

/** An API client signed in as a user, for seeding data: call(method, path, body) → JSON. */
export async function apiAs(svc, email, password = PASSWORD) {
  const res = await fetch(`${svc.url}/api/v1/auth/login`, {
    method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ email, password }),
  });
  assert.equal(res.status, 200, `sign-in of ${email} for seeding`);
  const { token } = await res.json();
  return async function call(method, path, body, headers = {}) {
    const r = await fetch(`${svc.url}${path}`, {
      method,
      headers: { Authorization: `Bearer ${token}`, ...(body !== undefined && !(body instanceof Uint8Array) && typeof body !== 'string' ? { 'Content-Type': 'application/json' } : {}), ...headers },
      body: body === undefined ? undefined : (typeof body === 'string' || body instanceof Uint8Array ? body : JSON.stringify(body)),
    });
    const text = await r.text();
    if (!r.ok) throw new Error(`${method} ${path} → ${r.status}: ${text}`);
    return text && (r.headers.get('content-type') || '').includes('json') ? JSON.parse(text) : text;
  };
}

/** The usual fixture: a service with departments and one user per role. Returns
 * {svc, admin (seeding API as the administrator), users: {admin, dpo, officer, editor, campaigns, analyst}}. */
export async function standardFixture() {
  const svc = await startService();
  const users = {};
  users.admin = createUser(svc, { email: 'admin@example.org', name: 'Ada Admin', roles: ['administrator'] });
  const admin = await apiAs(svc, users.admin.email);
  await admin('POST', '/api/v1/departments', { code: 'EVENTS', name: 'City Events' });
  await admin('POST', '/api/v1/departments', { code: 'VOLUNTEERING', name: 'Volunteering' });
  users.dpo = createUser(svc, { email: 'dpo@example.org', name: 'Dara Protection', roles: ['data_protection_officer'] });
  users.officer = createUser(svc, { email: 'officer@example.org', name: 'Owen Officer', roles: ['engagement_officer'] });
  users.editor = createUser(svc, { email: 'editor@example.org', name: 'Edie Editor', roles: ['department_editor'], departments: ['EVENTS'] });
  users.campaigns = createUser(svc, { email: 'campaigns@example.org', name: 'Cam Paigns', roles: ['campaigns_manager'] });
  users.analyst = createUser(svc, { email: 'analyst@example.org', name: 'Ana Lyst', roles: ['analyst'] });
  return { svc, admin, users };
}

// ---------- the browser ----------

let browserPromise = null;

/** Headless Chromium from Debian (CHROMIUM overrides the path), with nothing reaching out to
 * the network on its own. */
export function launchChromium() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'],
  });
}

/** One headless Chromium per test file. */
export function browser() {
  if (!browserPromise) {
    browserPromise = launchChromium();
  }
  return browserPromise;
}

export async function closeBrowser() {
  if (browserPromise) { const b = await browserPromise; browserPromise = null; await b.close(); }
}

/** A new page (own cookies) on the service. Console errors and CSP violations fail checks. */
export async function newPage(svc) {
  const b = await browser();
  const context = await b.newContext({ baseURL: svc.url, viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  page.problems = [];
  // Script errors and CSP refusals count; an API answering 4xx is part of the flows.
  page.on('console', (m) => { if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) page.problems.push(m.text()); });
  page.on('response', (r) => { if (r.status() >= 500) page.problems.push(`${r.status()} from ${r.url()}`); });
  page.on('pageerror', (e) => page.problems.push(String(e)));
  page.setDefaultTimeout(10_000);
  return page;
}

/** Sign in through the sign-in page and wait for the start page. */
export async function signIn(page, user) {
  await page.goto('/#/signin');
  await page.getByLabel('Email address').fill(user.email);
  await page.getByLabel('Password').fill(user.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { level: 1, name: /Welcome/ }).waitFor();
}

/** Run axe-core on the page as it is now: no serious or critical violations of WCAG 2.x
 * A/AA (incl. 2.2). Also fails on script errors seen so far (e.g. CSP violations). */
export async function checkA11y(page, label) {
  await page.evaluate(axeSource);
  const result = await page.evaluate(async () => {
    // eslint-disable-next-line no-undef
    const r = await axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice'] } });
    return r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 3).map((n) => n.target.join(' ')) }));
  });
  const bad = result.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  assert.deepEqual(bad, [], `accessibility violations on ${label}: ${JSON.stringify(bad, null, 1)}`);
  assert.deepEqual(page.problems, [], `script errors on ${label}`);
}

/** Save a full-page screenshot as screenshots/<name>.png. */
export async function screenshot(page, name) {
  await page.screenshot({ path: join(screenshotDir, `${name}.png`), fullPage: true });
}

/** Check a page (axe-core, script errors, every control reachable with Tab) and keep a
 * picture of it. */
export async function checkPage(page, name) {
  await checkA11y(page, name);
  await screenshot(page, name);
  await checkKeyboard(page, name);
}

/** Wait until `fn` returns truthy (polling), or fail after `ms`. */
export async function eventually(fn, ms = 10_000, what = 'condition') {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Every visible interactive element on the page can be reached with the Tab key (radios count
 * once per group: arrow keys move within it). Fails naming what Tab never reaches. */
export async function checkKeyboard(page, label) {
  // A part of the page that arrives late can replace controls during the walk; the walk is then
  // about a page that no longer exists, so it starts again (at most three times).
  for (let attempt = 1; ; attempt++) {
    const missed = await keyboardWalk(page);
    const gone = await page.evaluate((ids) => ids.filter((id) => !document.querySelector(`[data-kb="${CSS.escape(id)}"]`)), missed);
    if (gone.length === 0 || attempt === 3) {
      const names = await page.evaluate((ids) => ids.map((id) => { const el = document.querySelector(`[data-kb="${CSS.escape(id)}"]`); return el ? `${el.tagName.toLowerCase()} "${(el.textContent || el.name || '').trim().slice(0, 40)}"` : id; }), missed);
      assert.deepEqual(names, [], `not reachable by keyboard on ${label}`);
      return;
    }
  }
}

/** One Tab walk over the page: the marks of the controls it never reached. */
async function keyboardWalk(page) {
  const wanted = await page.evaluate(() => {
    const seenRadio = new Set();
    let n = 0;
    for (const el of document.querySelectorAll('[data-kb]')) el.removeAttribute('data-kb');
    const els = [...document.querySelectorAll('a[href], button, input, select, textarea, summary, [tabindex]')];
    for (const el of els) {
      if (el.disabled || el.getAttribute('tabindex') === '-1' || el.type === 'hidden') continue;
      const r = el.getBoundingClientRect();
      const style = getComputedStyle(el);
      if (style.visibility === 'hidden' || style.display === 'none' || (r.width === 0 && r.height === 0 && !el.classList.contains('skip-link'))) continue;
      if (el.closest('details:not([open])') && el.tagName !== 'SUMMARY') continue;
      if (el.type === 'radio') {
        if (seenRadio.has(el.name)) continue;
        seenRadio.add(el.name);
        for (const other of document.querySelectorAll(`input[type=radio][name="${CSS.escape(el.name)}"]`)) other.setAttribute('data-kb', `radio:${el.name}`);
        n++;
        continue;
      }
      el.setAttribute('data-kb', String(n++));
    }
    return [...new Set([...document.querySelectorAll('[data-kb]')].map((e) => e.getAttribute('data-kb')))];
  });
  await page.evaluate(() => { document.activeElement && document.activeElement.blur(); window.scrollTo(0, 0); });
  await page.locator('body').focus().catch(() => {});
  const reached = new Set();
  for (let i = 0; i < wanted.length + 10; i++) {
    await page.keyboard.press('Tab');
    const id = await page.evaluate(() => document.activeElement && document.activeElement.getAttribute('data-kb'));
    if (id !== null) reached.add(id);
    if (reached.size === wanted.length) break;
  }
  return wanted.filter((w) => !reached.has(w));
}
