// Benchmark of the web client against a large database (issue targets: first meaningful paint
// of the person page < 300 ms with 1,000,000 people; search results within 150 ms of typing
// pausing; page weight < 200 KB without images).
//
//   cargo build --release
//   node tests/e2e/bench.mjs [--people 1000000] [--database-url sqlite:///tmp/bench/web.db]
//                            [--reuse] [--samples 40]
//
// Generates the people with `lighthouse generate` (unless --reuse finds them), starts the
// release binary, signs in as a fresh administrator in headless Chromium, then:
// - person page: for --samples people (ids from scattered list pages), a fresh navigation to
//   /#/people/<id>; the time from navigation start until the person's name is the page heading
//   and their record is on screen (performance.now() in the page, measured as it happens);
// - search: on /#/people, type a query (family-name prefix, an email, a postcode) and time from
//   the moment typing paused (the client's debounce has fired and the request left) until the
//   results are on screen; also reported from the last keystroke;
// - page weight: bytes transferred (bodies as sent, gzip where accepted) of every response
//   but images for the person page, cold (no cache).
// Prints a table and writes bench-out/web-<backend>.json.
import { spawn, execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { root, freePort, launchChromium } from './harness.mjs';

const args = process.argv.slice(2);
const opt = (name, dflt) => { const i = args.indexOf(`--${name}`); return i >= 0 ? args[i + 1] : dflt; };
const flag = (name) => args.includes(`--${name}`);
const people = Number(opt('people', '1000000'));
const samples = Number(opt('samples', '40'));
const dbUrl = opt('database-url', 'sqlite:///tmp/bench/web.db');
const bin = process.env.LIGHTHOUSE_BIN || join(root, 'target', 'release', 'lighthouse');
if (!existsSync(bin)) { console.error(`${bin} is missing: run cargo build --release first`); process.exit(2); }
const backend = dbUrl.startsWith('postgres') ? 'postgres' : 'sqlite';

const pct = (xs, p) => { const s = [...xs].sort((a, b) => a - b); return s[Math.min(s.length - 1, Math.floor(p / 100 * s.length))]; };
const round = (x) => Math.round(x * 10) / 10;

const port = await freePort();
const url = `http://127.0.0.1:${port}`;
const env = { ...process.env, DATABASE_URL: dbUrl, LIGHTHOUSE__SERVER__BIND: `127.0.0.1:${port}`, LIGHTHOUSE__LOG__LEVEL: 'warn', LIGHTHOUSE__CAMPAIGNS__WORKERS: '0', LIGHTHOUSE__AUTH__MFA_REQUIRED_ROLES: '', LIGHTHOUSE__RETENTION__RUN_EVERY_HOURS: '0' };
if (dbUrl.startsWith('sqlite://')) mkdirSync(join(dbUrl.slice('sqlite://'.length), '..'), { recursive: true });
execFileSync(bin, ['migrate'], { env, cwd: root, stdio: 'inherit' });

const child = spawn(bin, ['serve'], { env, cwd: root, stdio: ['ignore', 'ignore', 'inherit'] });
const stop = () => { try { child.kill('SIGTERM'); } catch (e) { /* gone */ } };
process.on('exit', stop);
for (let i = 0; i < 300; i++) { try { if ((await fetch(`${url}/readyz`)).ok) break; } catch (e) { /* starting */ } await new Promise((r) => setTimeout(r, 100)); }

const email = `bench-${Date.now()}@example.org`;
const password = 'benchmark passphrase 2026';
execFileSync(bin, ['user', 'create', '--email', email, '--name', 'Bench Admin', '--role', 'administrator'], { env: { ...env, LIGHTHOUSE_PASSWORD: password }, cwd: root, stdio: 'inherit' });
const login = await (await fetch(`${url}/api/v1/auth/login`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ email, password }) })).json();
const auth = { Authorization: `Bearer ${login.token}` };
const get = async (path) => (await fetch(`${url}${path}`, { headers: auth })).json();

let total = (await get('/api/v1/people?limit=1')).total;
if (total < people && !flag('reuse')) {
  console.log(`generating ${people - total} people…`);
  stop();
  const t0 = Date.now();
  execFileSync(bin, ['generate', '--people', String(people - total), '--seed', String(Date.now() % 100000)], { env, cwd: root, stdio: 'inherit' });
  console.log(`generated in ${((Date.now() - t0) / 1000).toFixed(1)} s; restart with --reuse`);
  process.exit(0);
}
console.log(`${total} people in the database`);

// Sample people from scattered list pages.
const picked = [];
for (let k = 0; picked.length < samples && k < samples; k++) {
  const offset = Math.floor((k + 0.5) / samples * Math.max(0, total - 50));
  const pageOf = await get(`/api/v1/people?limit=5&offset=${offset}`);
  for (const p of pageOf.items) { if (picked.length < samples && p.emails && p.emails.length) picked.push(p); }
}

const browser = await launchChromium();
const context = await browser.newContext({ baseURL: url, viewport: { width: 1280, height: 900 } });
const page = await context.newPage();
await page.goto('/#/signin');
await page.getByLabel('Email address').fill(email);
await page.getByLabel('Password').fill(password);
await page.getByRole('button', { name: 'Sign in' }).click();
await page.getByRole('heading', { level: 1, name: /Welcome/ }).waitFor();

const displayName = (p) => p.display_name || [p.given_name, p.family_name].filter(Boolean).join(' ');

// Person page: a fresh document each time (cold JS parse, warm HTTP cache as a returning user).
const paint = [];
for (const p of picked) {
  const name = displayName(p);
  await page.goto(`/#/people/${p.id}`, { waitUntil: 'commit' });
  await page.reload({ waitUntil: 'commit' });
  const ms = await page.evaluate(async (expected) => {
    for (;;) {
      const h1 = document.querySelector('main h1');
      if (h1 && h1.textContent.includes(expected) && document.querySelector('main dl')) return performance.now();
      await new Promise((r) => requestAnimationFrame(r));
    }
  }, name);
  paint.push(ms);
}

// Page weight of the person page, cold.
const cold = await browser.newContext({ baseURL: url });
await cold.addCookies(await context.cookies());
const coldPage = await cold.newPage();
const finished = [];
coldPage.on('requestfinished', (rq) => { if (rq.resourceType() !== 'image') finished.push(rq.sizes().then((s) => s.responseBodySize, () => 0)); });
await coldPage.goto(`/#/people/${picked[0].id}`);
await coldPage.waitForLoadState('networkidle');
const bytes = (await Promise.all(finished)).reduce((a, b) => a + b, 0);
const requests = finished.length;

// Search as you type.
const queries = [];
for (const p of picked) {
  if (p.family_name) queries.push(['name prefix', p.family_name.slice(0, 4)]);
  queries.push(['email', p.emails[0].address || p.emails[0]]);
  const pc = p.addresses && p.addresses[0] && p.addresses[0].postcode;
  if (pc) queries.push(['postcode', pc]);
}
const searchFromPause = [];
const searchFromKey = [];
await page.goto('/#/people');
const box = page.getByRole('searchbox').or(page.getByLabel(/search/i)).first();
await box.waitFor();
for (const [, q] of queries) {
  await box.fill('');
  await page.evaluate(() => { window.__benchRequests = []; });
  const requestStarted = page.waitForRequest((r) => r.url().endsWith('/api/v1/people/search') && r.postDataJSON().q === q);
  await box.pressSequentially(q, { delay: 5 });
  const lastKey = await page.evaluate(() => performance.now());
  const req = await requestStarted;
  const sent = await page.evaluate(() => performance.now());
  void req;
  const done = await page.evaluate(async (query) => {
    for (;;) {
      const live = document.querySelector('[data-results-for]');
      if (live && live.getAttribute('data-results-for') === query) return performance.now();
      await new Promise((r) => requestAnimationFrame(r));
    }
  }, q);
  searchFromKey.push(done - lastKey);
  searchFromPause.push(done - Math.max(lastKey, sent - 5));
}
await browser.close();
stop();

const result = {
  backend, people: total,
  person_page_ms: { p50: round(pct(paint, 50)), p95: round(pct(paint, 95)), max: round(Math.max(...paint)), n: paint.length },
  search_from_pause_ms: { p50: round(pct(searchFromPause, 50)), p95: round(pct(searchFromPause, 95)), max: round(Math.max(...searchFromPause)), n: searchFromPause.length },
  search_from_last_key_ms: { p50: round(pct(searchFromKey, 50)), p95: round(pct(searchFromKey, 95)) },
  person_page_bytes: bytes,
  person_page_requests: requests,
};
console.log(`\nweb client, ${backend}, ${total} people`);
console.log(`person page, first meaningful paint: p50 ${result.person_page_ms.p50} ms, p95 ${result.person_page_ms.p95} ms, max ${result.person_page_ms.max} ms (target < 300 ms)`);
console.log(`search results after typing pauses: p50 ${result.search_from_pause_ms.p50} ms, p95 ${result.search_from_pause_ms.p95} ms, max ${result.search_from_pause_ms.max} ms (target < 150 ms); from the last keystroke p50 ${result.search_from_last_key_ms.p50} ms`);
console.log(`person page weight without images: ${(bytes / 1024).toFixed(1)} KB in ${requests} responses (target < 200 KB)`);
mkdirSync(join(root, 'bench-out'), { recursive: true });
writeFileSync(join(root, 'bench-out', `web-${backend}.json`), JSON.stringify(result, null, 2));
process.exit(0);
