// Journey analytics: one dashboard (/journeys) with five analytics of the API — transitions,
// funnel, cohorts, paths, reach. Each shows the API's SVG chart as an image, the same numbers
// as a table (the chart's text alternative), and a CSV download. One filter form applies to
// all of them. Only counts of people come back, never people; the API suppresses small counts
// ("<5", "hidden") and this screen explains what those mean.
import {
  h, api, ApiError, route, page, field, select, button, form, summaryList, replace, loading,
  can, departments, download, withQuery, fmtDate, hashQuery,
} from './core.js';

const FILTERS = ['from', 'to', 'department', 'kind', 'activity', 'segment'];

const VIEWS = [
  {
    id: 'transitions', tab: 'What people did next', title: 'What people did next',
    intro: 'For each kind of activity, the people who took part in it and what they took part in next. The median is the typical number of days until then.',
    alt: 'Heat map: for each kind of activity, how many people took part next in each kind. The same numbers are in the table below.',
  },
  {
    id: 'funnel', tab: 'Funnel', title: 'From invitation to coming back',
    intro: 'How far people got with one activity, or with activities of one kind: invited, registered, took part, then came back for another activity later. Someone who took part without an invitation on record counts as invited and registered too.',
    alt: 'Bar chart of the funnel steps: invited, registered, took part, came back. The same numbers are in the table below.',
  },
  {
    id: 'cohorts', tab: 'Cohorts', title: 'Coming back month by month',
    intro: 'People grouped by the month they first took part, and how many of them took part again in each later month.',
    alt: 'Grid of cohorts by month of first participation, showing how many took part again in later months. The same numbers are in the table below.',
  },
  {
    id: 'paths', tab: 'Paths', title: 'The most common journeys',
    intro: 'The most frequent sequences of kinds of activity that people took part in, in order (a repeat of the same kind counts once).',
    alt: 'List of the most frequent sequences of kinds of activity, with the number of people on each. The same numbers are in the table below.',
  },
  {
    id: 'reach', tab: 'Reach', title: 'Reach across departments',
    intro: 'How many people each department engaged, how many engaged with more than one department, and how departments overlap.',
    alt: 'Bar chart of people engaged per department and across departments. The same numbers are in the tables below.',
  },
];

const STEPS = {
  invited: 'Invited',
  registered: 'Registered',
  attended: 'Took part',
  came_back: 'Came back for another activity',
};

// ---------- helpers ----------

function isSuppressed(c) {
  return typeof c === 'string' && (c === 'hidden' || /^<\d+$/.test(c));
}

/** A published count as text: a number, "<5" or "hidden". */
function count(c) {
  if (c === null || c === undefined) return '';
  if (typeof c === 'number') return c.toLocaleString('en-GB');
  return String(c);
}

/** Whether any count in a result is suppressed. */
function anySuppressed(v) {
  if (isSuppressed(v)) return true;
  if (Array.isArray(v)) return v.some(anySuppressed);
  if (v && typeof v === 'object') return Object.values(v).some(anySuppressed);
  return false;
}

function nextDay(d) {
  const [y, m, day] = d.split('-').map(Number);
  return new Date(Date.UTC(y, m - 1, day + 1)).toISOString().slice(0, 10);
}

/** The last day a period covers (its `to` is exclusive). */
function lastDay(to) {
  return new Date(Date.parse(to) - 1).toISOString().slice(0, 10);
}

function monthLabel(ym) {
  const [y, m] = String(ym).split('-').map(Number);
  if (!y || !m) return ym;
  return new Date(Date.UTC(y, m - 1, 1)).toLocaleDateString('en-GB', { month: 'long', year: 'numeric', timeZone: 'UTC' });
}

/** The API query of one analytic for the filters. */
function queryFor(view, f) {
  const q = {
    from: f.from ? `${f.from}T00:00:00Z` : '',
    to: f.to ? `${nextDay(f.to)}T00:00:00Z` : '',
    department: f.department,
    segment: f.segment,
  };
  if (view === 'funnel') {
    if (f.activity) q.activity = f.activity;
    else q.kind = f.kind;
  } else {
    q.kind = f.kind;
  }
  return q;
}

/** A data table whose first column heads each row. head: column labels; rows: arrays of cells. */
function grid(caption, head, rows, o = {}) {
  if (!rows.length) return h('p', { class: 'muted' }, o.empty || 'No one to count in this period.');
  return h('div', { class: 'table-wrap' }, h('table', { class: 'table journeys-table' },
    h('caption', { class: 'table__caption' }, caption),
    h('thead', {}, h('tr', {}, head.map((c, i) => h('th', { scope: 'col', class: i ? 'numeric' : null }, c)))),
    h('tbody', {}, rows.map((r) => h('tr', {}, r.map((c, i) => (i
      ? h('td', { class: 'numeric' }, c)
      : h('th', { scope: 'row' }, c))))))));
}

function suppressionNote(minCount) {
  const k = minCount || 5;
  return h('div', { class: 'inset journeys-suppressed' },
    h('p', {}, h('strong', {}, 'Some numbers are held back to protect people’s privacy.')),
    h('p', {}, `“<${k}” means fewer than ${k} people (it may be none). “hidden” means at least ${k} people, held back because it could otherwise be used to work out a smaller number from the totals. Percentages and medians are only shown when every number they come from is shown.`));
}

// ---------- the five tables ----------

function transitionsTables(r, L) {
  const kinds = r.kinds || [];
  const rows = (r.rows || []).map((row) => [
    L.kind(row.from),
    count(row.people),
    ...kinds.map((k) => {
      const c = (row.next || []).find((n) => n.to === k);
      if (!c) return '';
      return [count(c.people), c.median_days !== null && c.median_days !== undefined
        ? h('span', { class: 'journeys-median' }, `median ${c.median_days} days`) : null];
    }),
    count(row.no_later),
  ]);
  return grid('People by the kind of activity they took part in, and what they took part in next',
    ['Took part in', 'People', ...kinds.map((k) => `Next: ${L.kind(k)}`), 'Nothing later'], rows,
    { empty: 'No one took part in anything in this period.' });
}

function funnelTables(r, L) {
  const scope = r.scope || {};
  const what = scope.kind ? `activities of the kind ${L.kind(scope.kind)}` : `the activity ${L.activity(scope.activity)}`;
  const rows = (r.steps || []).map((s) => [
    STEPS[s.step] || s.step,
    count(s.people),
    s.dropped === null || s.dropped === undefined ? '' : count(s.dropped),
    s.conversion_pct === null || s.conversion_pct === undefined ? '' : `${s.conversion_pct}%`,
  ]);
  return grid(`Funnel for ${what}`, ['Step', 'People', 'Did not go on from the step before', 'Went on from the step before'], rows);
}

function cohortsTables(r) {
  const max = r.max_offset ?? 0;
  const offsets = [];
  for (let i = 0; i <= max; i++) offsets.push(i);
  const rows = (r.cohorts || []).map((c) => [
    monthLabel(c.month),
    count(c.people),
    ...offsets.map((o) => {
      const cell = (c.cells || []).find((x) => x.offset === o);
      if (!cell) return '';
      return [count(cell.people), cell.share_pct !== null && cell.share_pct !== undefined
        ? h('span', { class: 'journeys-median' }, `${cell.share_pct}%`) : null];
    }),
  ]);
  return [
    grid('People by the month they first took part, and how many took part in each later month',
      ['First took part', 'People', ...offsets.map((o) => (o === 0 ? 'Same month' : o === 1 ? '1 month later' : `${o} months later`))],
      rows, { empty: 'No one took part for the first time in this period.' }),
    r.observed_to ? h('p', { class: 'muted' }, `Months after ${monthLabel(r.observed_to)} are not shown yet.`) : null,
  ];
}

function pathsTables(r, L) {
  const rows = (r.paths || []).map((p) => [
    (p.kinds || []).map(L.kind).join(' → ') || p.label,
    count(p.people),
  ]);
  return [
    summaryList([
      ['People who took part', count(r.people)],
      ['People on other paths', count(r.other)],
    ]),
    grid('The most common sequences of kinds of activity', ['Path', 'People'], rows,
      { empty: 'No paths to show in this period.' }),
  ];
}

function reachTables(r, L) {
  const codes = r.department_codes || [];
  return [
    summaryList([
      ['People engaged by any department', count(r.people)],
      ['People engaged by more than one department', count(r.more_than_one)],
    ]),
    grid('People engaged by each department', ['Department', 'People'],
      (r.departments || []).map((d) => [L.department(d.department), count(d.people)])),
    grid('People by how many departments engaged them', ['Departments', 'People'],
      (r.by_department_count || []).map((b) => [b.departments === 1 ? '1 department' : `${b.departments} departments`, count(b.people)])),
    codes.length > 1 ? grid('People engaged by both departments (the diagonal repeats each department’s own count)',
      ['Department', ...codes.map(L.department)],
      (r.overlap || []).map((row, i) => [L.department(codes[i]), ...row.map(count)])) : null,
  ];
}

const TABLES = {
  transitions: transitionsTables, funnel: funnelTables, cohorts: cohortsTables, paths: pathsTables, reach: reachTables,
};

// ---------- the dashboard ----------

function problemText(e) {
  if (!(e instanceof ApiError)) return e.message || String(e);
  const items = (e.problem.errors || []).map((x) => x.message);
  return [e.message, ...items].filter(Boolean).join(' ');
}

route('/journeys', async (params, isCurrent) => {
  const hq = hashQuery();
  const filters = {};
  for (const k of FILTERS) filters[k] = hq.get(k) || '';
  let active = VIEWS.some((v) => v.id === hq.get('view')) ? hq.get('view') : 'transitions';
  const mayUseSegments = can('campaigns_manage');
  if (!mayUseSegments) filters.segment = '';

  page('Journeys', { caption: 'Analytics' }, loading());
  const safe = (p, fallback) => p.catch((e) => { if (e instanceof ApiError && e.status === 401) throw e; return fallback; });
  const [depts, kinds, acts, segs] = await Promise.all([
    safe(departments(), []),
    safe(api('GET', '/api/v1/activity-kinds'), []),
    safe(api('GET', '/api/v1/activities', { query: { limit: 200 } }), { items: [] }),
    mayUseSegments ? safe(api('GET', '/api/v1/segments'), []) : Promise.resolve([]),
  ]);
  if (!isCurrent()) return;
  const kindList = Array.isArray(kinds) ? kinds : (kinds.items || []);
  const actList = Array.isArray(acts) ? acts : (acts.items || []);
  const L = {
    kind: (c) => (kindList.find((k) => k.code === c) || {}).label || c,
    department: (c) => (depts.find((d) => d.code === c) || {}).name || c,
    activity: (id) => (actList.find((a) => a.id === id) || {}).title || 'chosen',
  };

  const status = h('p', { class: 'journeys-status', role: 'status' });
  const loaded = {};
  const panels = {};
  const tabs = {};

  function describeFilters() {
    const parts = [];
    parts.push(filters.department ? L.department(filters.department) : 'all departments');
    parts.push(filters.kind ? `kind: ${L.kind(filters.kind)}` : 'all kinds of activity');
    if (filters.segment) parts.push(`segment: ${(segs.find((s) => s.id === filters.segment) || {}).name || 'chosen'}`);
    return parts.join(', ');
  }

  function remember() {
    history.replaceState(null, '', '#' + withQuery('/journeys', { ...filters, view: active }));
  }

  async function load(view) {
    const v = VIEWS.find((x) => x.id === view);
    const panel = panels[view];
    const key = JSON.stringify(filters);
    if (loaded[view] === key) return;
    loaded[view] = key;
    const heading = h('h2', { class: 'journeys-panel__title' }, v.title);
    replace(panel, heading, h('p', {}, v.intro), loading());
    const q = queryFor(view, filters);
    if (view === 'funnel' && !q.activity && !q.kind) {
      replace(panel, heading, h('p', {}, v.intro),
        h('div', { class: 'inset' }, h('p', {}, 'A funnel follows one activity, or the activities of one kind. Choose a kind of activity or an activity in the filters above, then select “Apply filters”.')));
      return;
    }
    let data;
    try {
      data = await api('GET', `/api/v1/journeys/${view}`, { query: q });
    } catch (e) {
      if (e instanceof ApiError && e.status === 401) return;
      loaded[view] = null;
      replace(panel, heading, h('div', { class: 'notice notice--error', role: 'alert' },
        h('p', {}, `This analytic could not be shown. ${problemText(e)}`)));
      return;
    }
    if (!isCurrent() || loaded[view] !== key) return;
    const r = data.result || {};
    const from = data.period.from.slice(0, 10);
    const to = lastDay(data.period.to);
    const img = h('img', { class: 'chart journeys-chart', src: withQuery(`/api/v1/journeys/${view}`, { ...q, format: 'svg' }), alt: v.alt });
    img.addEventListener('error', () => img.replaceWith(h('p', { class: 'muted' }, 'The chart could not be shown. The numbers are in the table below.')));
    const dlStatus = h('p', { class: 'journeys-download-status', role: 'status' });
    const dl = button(`Download ${v.tab.toLowerCase()} as CSV`, {
      kind: 'secondary',
      onClick: async () => {
        replace(dlStatus);
        dl.disabled = true;
        try {
          await download(`/api/v1/journeys/${view}`, `${view}-${from}-${to}.csv`, { ...q, format: 'csv' });
          replace(dlStatus, 'The CSV file has been downloaded.');
        } catch (e) {
          if (!(e instanceof ApiError && e.status === 401)) replace(dlStatus, `The file could not be downloaded. ${problemText(e)}`);
        } finally {
          dl.disabled = false;
        }
      },
    });
    replace(panel,
      heading,
      h('p', {}, v.intro),
      h('p', { class: 'muted' }, `From ${fmtDate(from)} to ${fmtDate(to)}; ${describeFilters()}.`),
      anySuppressed(r) ? suppressionNote(r.min_count) : null,
      h('div', { class: 'journeys-figure' }, img),
      TABLES[view](r, L),
      h('div', { class: 'button-group' }, dl),
      dlStatus);
    replace(status, `Showing ${fmtDate(from)} to ${fmtDate(to)}; ${describeFilters()}.`);
  }

  function showView(view, focus) {
    active = view;
    for (const v of VIEWS) {
      const on = v.id === view;
      tabs[v.id].setAttribute('aria-selected', on ? 'true' : 'false');
      tabs[v.id].tabIndex = on ? 0 : -1;
      panels[v.id].hidden = !on;
    }
    if (focus) tabs[view].focus();
    remember();
    load(view);
  }

  const tablist = h('div', { role: 'tablist', 'aria-label': 'Analytics', class: 'journeys-tabs__list' },
    VIEWS.map((v) => {
      tabs[v.id] = h('button', {
        type: 'button', role: 'tab', id: `journeys-tab-${v.id}`, class: 'journeys-tabs__tab',
        'aria-controls': `journeys-panel-${v.id}`, 'aria-selected': 'false', tabindex: '-1',
        on: { click: () => showView(v.id, false) },
      }, v.tab);
      return tabs[v.id];
    }));
  tablist.addEventListener('keydown', (ev) => {
    const i = VIEWS.findIndex((v) => v.id === active);
    let j = null;
    if (ev.key === 'ArrowRight') j = (i + 1) % VIEWS.length;
    else if (ev.key === 'ArrowLeft') j = (i - 1 + VIEWS.length) % VIEWS.length;
    else if (ev.key === 'Home') j = 0;
    else if (ev.key === 'End') j = VIEWS.length - 1;
    if (j === null) return;
    ev.preventDefault();
    showView(VIEWS[j].id, true);
  });
  const panelEls = VIEWS.map((v) => {
    panels[v.id] = h('div', {
      role: 'tabpanel', id: `journeys-panel-${v.id}`, class: 'journeys-tabs__panel',
      'aria-labelledby': `journeys-tab-${v.id}`, tabindex: '0', hidden: true,
    });
    return panels[v.id];
  });

  const opts = (list, all) => [['', all], ...list];
  const filterForm = form([
    h('div', { class: 'field' }, h('fieldset', { class: 'fieldset', 'aria-describedby': 'journeys-period-hint' },
      h('legend', { class: 'legend' }, 'Period'),
      h('div', { class: 'hint', id: 'journeys-period-hint' }, 'Leave both dates empty for the last 12 months.'),
      h('div', { class: 'inline-fields' },
        field({ name: 'from', label: 'From', type: 'date', value: filters.from }),
        field({ name: 'to', label: 'To (including this day)', type: 'date', value: filters.to })))),
    h('div', { class: 'inline-fields' },
      select({ name: 'department', label: 'Department', value: filters.department, options: opts(depts.map((d) => [d.code, d.name]), 'All departments') }),
      select({ name: 'kind', label: 'Kind of activity', value: filters.kind, options: opts(kindList.map((k) => [k.code, k.label]), 'All kinds') })),
    select({
      name: 'activity', label: 'Activity (funnel only)', value: filters.activity,
      hint: 'The funnel follows this activity. If none is chosen, it follows the kind of activity chosen above.',
      options: opts(actList.map((a) => [a.id, `${a.title}${a.starts_at ? ` (${fmtDate(a.starts_at)})` : ''}`]), 'No activity chosen'),
    }),
    mayUseSegments ? select({
      name: 'segment', label: 'Segment', value: filters.segment,
      hint: 'Only the people in this saved segment, as it selects them today.',
      options: opts(segs.map((s) => [s.id, s.name]), 'Everyone'),
    }) : null,
    h('div', { class: 'button-group' },
      button('Apply filters'),
      button('Clear filters', {
        kind: 'secondary',
        onClick: () => {
          for (const el of filterForm.elements) if (el.name && FILTERS.includes(el.name)) el.value = '';
          filterForm.requestSubmit();
        },
      })),
  ], async (v) => {
    const next = {};
    for (const k of FILTERS) next[k] = (v[k] || '').trim();
    const errors = [];
    const dateRe = /^\d{4}-\d{2}-\d{2}$/;
    if (next.from && !dateRe.test(next.from)) errors.push({ field: 'from', message: 'Enter a real start date.' });
    if (next.to && !dateRe.test(next.to)) errors.push({ field: 'to', message: 'Enter a real end date.' });
    if (!errors.length && next.from && next.to && next.to < next.from) errors.push({ field: 'to', message: 'The end date must be the same as or after the start date.' });
    if (errors.length) throw new ApiError(422, { code: 'validation', detail: 'Check the filters.', errors });
    // Ask the API once so that a bad filter is reported against its field.
    const probe = queryFor('transitions', next);
    await api('GET', '/api/v1/journeys/transitions', { query: probe });
    if (next.activity) await api('GET', '/api/v1/journeys/funnel', { query: queryFor('funnel', next) });
    Object.assign(filters, next);
    remember();
    for (const k of Object.keys(loaded)) loaded[k] = null;
    await load(active);
  }, { attrs: { 'aria-label': 'Filters' } });

  page('Journeys', { caption: 'Analytics' },
    h('p', { class: 'lead' }, 'How people move between the City’s activities.'),
    h('p', {}, 'Every number here counts people; no one is named. Numbers for fewer than a handful of people are held back to protect their privacy.'),
    h('section', { class: 'section journeys-filters', 'aria-labelledby': 'journeys-filters-title' },
      h('h2', { id: 'journeys-filters-title' }, 'Filters'),
      filterForm),
    status,
    h('div', { class: 'journeys-tabs' }, tablist, panelEls));
  showView(active, false);
}, { permission: 'journeys_read' });
