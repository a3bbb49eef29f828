// The Ringstore web console: reads the node's JSON API (/api/...) every few seconds and draws
// the page the URL's #fragment names. No framework; every value reaches the page as text
// (textContent), never as markup.
'use strict';

const refreshMs = Number(new URLSearchParams(location.search).get('refresh')) || 2000;
const pages = ['overview', 'ring', 'transfers', 'anti-entropy', 'requests'];
const palette = [
  '#4e79a7',
  '#f28e2b',
  '#59a14f',
  '#e15759',
  '#76b7b2',
  '#edc948',
  '#b07aa1',
  '#ff9da7',
  '#9c755f',
  '#bab0ac',
  '#1f77b4',
  '#2ca02c',
];

const state = { token: sessionStorage.getItem('ringstore-token') || '', key: null, timer: 0 };

function $(id) {
  return document.getElementById(id);
}

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === 'class') e.className = v;
    else e.setAttribute(k, v);
  }
  for (const c of children) e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return e;
}

function svg(tag, attrs) {
  const e = document.createElementNS('http://www.w3.org/2000/svg', tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, String(v));
  return e;
}

class Unauthorized extends Error {}

async function api(name, query) {
  const url = `/api/${name}${query ? `?${new URLSearchParams(query)}` : ''}`;
  const headers = state.token ? { authorization: `Bearer ${state.token}` } : {};
  const res = await fetch(url, { headers, cache: 'no-store' });
  const body = await res.json();
  if (res.status === 401 || res.status === 403) throw new Unauthorized(body.error.message);
  if (!res.ok) throw new Error(body.error ? body.error.message : `HTTP ${res.status}`);
  return body;
}

function ago(ms) {
  if (ms < 1000) return `${Math.round(ms)} ms ago`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s ago`;
  if (ms < 3_600_000) return `${Math.round(ms / 60_000)} min ago`;
  return `${(ms / 3_600_000).toFixed(1)} h ago`;
}

function duration(ms) {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${Math.round(ms / 1000)} s`;
  if (ms < 3_600_000) return `${Math.round(ms / 60_000)} min`;
  return `${(ms / 3_600_000).toFixed(1)} h`;
}

function seconds(s) {
  if (s === null || s === undefined) return '–';
  return s < 1 ? `${(s * 1000).toFixed(s < 0.01 ? 2 : 1)} ms` : `${s.toFixed(2)} s`;
}

function bytes(n) {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return `${n.toFixed(i === 0 ? 0 : 1)} ${units[i]}`;
}

/** Rows a table shows before "... and N more": the page stays readable during a big transition. */
const rowsShown = 20;

function more(total, columns) {
  if (total <= rowsShown) return [];
  return [
    el('tr', {}, el('td', { colspan: columns, class: 'muted' }, `… and ${total - rowsShown} more`)),
  ];
}

function fill(tbody, rows) {
  tbody.replaceChildren(...rows);
}

function colourOf(nodes, id) {
  const i = nodes.findIndex((n) => n.id === id);
  return palette[(i < 0 ? 0 : i) % palette.length];
}

// Overview: members and recent warnings.
async function drawOverview() {
  const [o, w] = await Promise.all([api('overview'), api('warnings')]);
  drawHeader(o);
  $('ring-summary').textContent =
    `Cluster ${o.ring.clusterId}: ring version ${o.ring.version} (term ${o.ring.term}), ` +
    `${o.ring.partitions} partitions, N=${o.ring.replicas}, claimant ${o.ring.claimant}` +
    (o.ring.transitioning ? ', a transition is running' : '');
  fill(
    $('members').tBodies[0],
    o.members.map((m) => {
      const live = el('span', { class: `badge ${m.liveness}` }, m.liveness);
      const row = el(
        'tr',
        { 'data-node': m.id, 'data-liveness': m.liveness, 'data-status': m.status },
        el('td', {}, m.id + (m.self ? ' (this node)' : '')),
        el('td', {}, m.address),
        el('td', {}, m.zone || '–'),
        el('td', {}, m.status),
        el('td', {}, live, m.suspected ? ' suspected' : ''),
        el('td', { class: 'num' }, m.phi === 'inf' ? '∞' : m.phi.toFixed(2)),
        el('td', {}, m.self ? '–' : ago(m.heartbeatAgeMs)),
        el('td', { class: 'num' }, m.ringVersion === null ? '?' : m.ringVersion),
        el('td', { class: 'num' }, m.partitionsOwned),
      );
      return row;
    }),
  );
  $('warnings').replaceChildren(
    ...(w.warnings.length === 0
      ? [el('li', { class: 'muted' }, 'none since the node started')]
      : w.warnings.slice(0, 30).map((x) =>
          el(
            'li',
            { class: x.level },
            el('time', {}, new Date(x.at).toLocaleTimeString()),
            ` ${x.level} `,
            el('b', {}, x.msg),
            ' ',
            el(
              'span',
              { class: 'muted' },
              Object.entries(x.fields)
                .map(([k, v]) => `${k}=${v}`)
                .join(' '),
            ),
          ),
        )),
  );
}

function drawHeader(o) {
  $('node').textContent =
    `node ${o.node} · v${o.version} · ring ${o.ring.version} · ` +
    (o.serving ? 'SERVING' : 'NOT SERVING');
  $('node').className = o.serving ? 'muted' : 'bad';
}

// Ring: partitions as arcs coloured by owner; a typed key highlights its partition and replicas.
async function drawRing() {
  const [o, ring] = await Promise.all([api('overview'), api('ring')]);
  drawHeader(o);
  let key = null;
  const text = $('key').value;
  if (text !== '') {
    try {
      key = await api('key', { key: text, encoding: $('key-encoding').value });
    } catch (e) {
      if (e instanceof Unauthorized) throw e;
      key = { error: e.message };
    }
  }
  const picture = $('ring-picture');
  const q = ring.partitions;
  const arcs = [];
  for (let p = 0; p < q; p++) {
    const owner = ring.nodes[ring.owners[p]];
    const a0 = (2 * Math.PI * p) / q - Math.PI / 2;
    const a1 = (2 * Math.PI * (p + 1)) / q - Math.PI / 2;
    const r0 = 70;
    const r1 = 100;
    const pt = (r, a) => `${(r * Math.cos(a)).toFixed(2)} ${(r * Math.sin(a)).toFixed(2)}`;
    const d = `M ${pt(r0, a0)} L ${pt(r1, a0)} A ${r1} ${r1} 0 0 1 ${pt(r1, a1)} L ${pt(r0, a1)} A ${r0} ${r0} 0 0 0 ${pt(r0, a0)} Z`;
    const hit = key && !key.error && key.partition === p;
    const path = svg('path', {
      d,
      fill: colourOf(ring.nodes, owner.id),
      class: hit ? 'partition hit' : 'partition',
      'data-partition': p,
      'data-owner': owner.id,
    });
    const title = svg('title');
    title.textContent = `partition ${p}: ${owner.id}`;
    path.append(title);
    arcs.push(path);
  }
  const centre = svg('text', { x: 0, y: 4, 'text-anchor': 'middle', class: 'centre' });
  centre.textContent = key && !key.error ? `partition ${key.partition}` : `${q} partitions`;
  arcs.push(centre);
  picture.replaceChildren(...arcs);

  const owned = new Map();
  for (const o of ring.owners) owned.set(o, (owned.get(o) || 0) + 1);
  $('ring-legend').replaceChildren(
    ...ring.nodes
      .filter((n) => n.status !== 'left' && n.status !== 'removed')
      .map((n) => {
        const swatch = el('span', { class: 'swatch' });
        swatch.style.background = colourOf(ring.nodes, n.id);
        const count = owned.get(ring.nodes.indexOf(n)) || 0;
        return el('li', { 'data-node': n.id }, swatch, `${n.id} (${n.status}): ${count} owned`);
      }),
  );
  const result = $('key-result');
  if (key === null) result.replaceChildren();
  else if (key.error) result.replaceChildren(el('p', { class: 'bad' }, key.error));
  else
    result.replaceChildren(
      el('p', {}, `MD5 position ${key.position}, partition ${key.partition}`),
      el(
        'ol',
        { id: 'preference-list' },
        ...key.preferenceList.map((e) =>
          el(
            'li',
            { 'data-node': e.node, class: e.up ? 'up' : 'down' },
            e.node,
            e.hintFor ? ` (fallback for ${e.hintFor})` : ' (primary)',
            e.up ? '' : ' down',
          ),
        ),
      ),
    );
}

// Transfers: the running transition's partitions, this node's inbound progress, hints.
async function drawTransfers() {
  const [o, t, h] = await Promise.all([api('overview'), api('transfers'), api('hints')]);
  drawHeader(o);
  const byState = (list) => {
    const counts = new Map();
    for (const x of list) counts.set(x.state, (counts.get(x.state) || 0) + 1);
    return [...counts].map(([state, n]) => `${state} ${n}`).join(', ');
  };
  $('transition-summary').textContent =
    t.transitions.length === 0
      ? 'No transition is running.'
      : `${t.transitions.filter((x) => x.state === 'done').length} of ${t.transitions.length} ` +
        `partitions done (${byState(t.transitions)}).`;
  const moving = t.transitions.filter((x) => x.state !== 'done');
  fill($('transitions').tBodies[0], [
    ...moving
      .slice(0, rowsShown)
      .map((x) =>
        el(
          'tr',
          { 'data-partition': x.partition, 'data-state': x.state },
          el('td', { class: 'num' }, x.partition),
          el('td', {}, x.added.join(', ')),
          el('td', {}, x.removed.join(', ')),
          el('td', {}, x.state),
        ),
      ),
    ...more(moving.length, 4),
  ]);
  // Moving ones first (streaming, catch-up), then waiting, then finished.
  const order = { streaming: 0, 'catch-up': 1, pending: 2, 'read-new': 3, done: 4 };
  const inbound = [...t.inbound].sort(
    (a, b) => (order[a.state] ?? 5) - (order[b.state] ?? 5) || a.partition - b.partition,
  );
  const objects = t.inbound.reduce((n, x) => n + x.objectsDone, 0);
  const rate = t.inbound.reduce((n, x) => n + x.objectsPerSecond, 0);
  $('inbound-summary').textContent =
    t.inbound.length === 0
      ? 'No transfer into this node.'
      : `${t.inbound.length} partitions (${byState(t.inbound)}); ${objects} objects received, ` +
        `${rate.toFixed(0)} objects/s now.`;
  fill($('transfers').tBodies[0], [
    ...inbound.slice(0, rowsShown).map((x) => {
      const fraction =
        x.objectsTotal > 0
          ? Math.min(1, x.objectsDone / x.objectsTotal)
          : x.state === 'done' || x.state === 'read-new'
            ? 1
            : 0;
      const bar = el('div', { class: 'bar' }, el('div', { class: 'bar-fill' }));
      bar.firstChild.style.width = `${(fraction * 100).toFixed(1)}%`;
      return el(
        'tr',
        { 'data-partition': x.partition, 'data-state': x.state },
        el('td', { class: 'num' }, x.partition),
        el('td', {}, x.from || '–'),
        el('td', {}, x.state),
        el(
          'td',
          {},
          bar,
          `${x.objectsDone}/${x.objectsTotal || '?'} objects, ${bytes(x.bytesDone)}`,
        ),
        el('td', {}, `${x.objectsPerSecond.toFixed(0)} obj/s, ${bytes(x.bytesPerSecond)}/s`),
        el('td', { class: x.stalled ? 'bad' : '' }, x.stalled || ''),
      );
    }),
    ...more(inbound.length, 6),
  ]);
  fill(
    $('hints').tBodies[0],
    h.targets.length === 0
      ? [el('tr', {}, el('td', { colspan: 3, class: 'muted' }, 'no hints held'))]
      : h.targets.map((x) =>
          el(
            'tr',
            { 'data-target': x.target },
            el('td', {}, x.target),
            el('td', { class: 'num' }, x.pending),
            el(
              'td',
              {},
              el('span', { class: `badge ${x.up ? 'up' : 'down'}` }, x.up ? 'up' : 'down'),
            ),
          ),
        ),
  );
}

// Anti-entropy: a heat map of the partitions by the age of their last exchange.
async function drawAntiEntropy() {
  const [o, ae] = await Promise.all([api('overview'), api('anti-entropy')]);
  drawHeader(o);
  const exchanged = ae.partitions.filter((p) => p.lastExchangeMs > 0);
  const differences = ae.partitions.reduce((n, p) => n + p.differences, 0);
  const round = ae.fullRoundMs === null ? 'exchanges run on demand only' : duration(ae.fullRoundMs);
  $('ae-summary').textContent =
    `${exchanged.length} of ${ae.partitions.length} partitions exchanged, ` +
    `${ae.partitions.length - exchanged.length} never; ${differences} differences found; ` +
    `a full round takes ${round} (one partition every ${duration(ae.intervalMs)}).`;
  const horizon = ae.fullRoundMs || 3_600_000;
  $('ae-heatmap').replaceChildren(
    ...ae.partitions.map((p) => {
      const cell = el('div', {
        class: `cell${p.lastExchangeMs === 0 ? ' never' : ''}${p.differences > 0 ? ' diff' : ''}`,
        'data-partition': p.partition,
        title:
          `partition ${p.partition}: ` +
          (p.lastExchangeMs === 0
            ? 'never exchanged'
            : `last exchange ${ago(ae.now - p.lastExchangeMs)} with ${p.lastPeer}`) +
          `, ${p.differences} differences, ${p.repairs} repairs, ${p.keys} keys`,
      });
      if (p.lastExchangeMs > 0) {
        const age = Math.min(1, (ae.now - p.lastExchangeMs) / horizon);
        cell.style.opacity = String(1 - 0.75 * age);
      }
      return cell;
    }),
  );
}

// Requests: the latest sample per operation, and the last minutes as sparklines.
async function drawRequests() {
  const [o, r] = await Promise.all([api('overview'), api('requests')]);
  drawHeader(o);
  const samples = r.samples;
  $('requests-window').textContent =
    samples.length === 0
      ? `The first sample comes ${r.intervalMs / 1000} s after start.`
      : `Last ${duration(samples.length * r.intervalMs)}, one sample every ${r.intervalMs / 1000} s.`;
  const ops = [...new Set(samples.flatMap((s) => Object.keys(s.ops)))].sort();
  const last = samples[samples.length - 1];
  fill(
    $('requests').tBodies[0],
    ops.map((op) => {
      const now = (last && last.ops[op]) || {
        rate: 0,
        errorRate: 0,
        p50: null,
        p95: null,
        p99: null,
      };
      const rates = samples.map((s) => (s.ops[op] ? s.ops[op].rate : 0));
      const p99s = samples.map((s) => (s.ops[op] && s.ops[op].p99 !== null ? s.ops[op].p99 : 0));
      return el(
        'tr',
        { 'data-op': op },
        el('td', {}, op),
        el('td', { class: 'num' }, now.rate.toFixed(1)),
        el('td', { class: `num${now.errorRate > 0 ? ' bad' : ''}` }, now.errorRate.toFixed(1)),
        el('td', { class: 'num' }, seconds(now.p50)),
        el('td', { class: 'num' }, seconds(now.p95)),
        el('td', { class: 'num' }, seconds(now.p99)),
        el('td', {}, sparkline(rates)),
        el('td', {}, sparkline(p99s)),
      );
    }),
  );
}

function sparkline(values) {
  const w = 160;
  const h = 28;
  const s = svg('svg', { width: w, height: h, viewBox: `0 0 ${w} ${h}`, class: 'spark' });
  if (values.length < 2) return s;
  const max = Math.max(...values) || 1;
  const points = values
    .map(
      (v, i) =>
        `${((i / (values.length - 1)) * w).toFixed(1)},${(h - 2 - (v / max) * (h - 4)).toFixed(1)}`,
    )
    .join(' ');
  s.append(svg('polyline', { points, fill: 'none', stroke: '#4e79a7', 'stroke-width': 1.5 }));
  return s;
}

const drawers = {
  overview: drawOverview,
  ring: drawRing,
  transfers: drawTransfers,
  'anti-entropy': drawAntiEntropy,
  requests: drawRequests,
};

function currentPage() {
  const name = location.hash.slice(1);
  return pages.includes(name) ? name : 'overview';
}

async function refresh() {
  clearTimeout(state.timer);
  const page = currentPage();
  for (const s of document.querySelectorAll('main section'))
    s.hidden = s.getAttribute('data-page') !== page;
  for (const a of document.querySelectorAll('nav a'))
    a.classList.toggle('active', a.getAttribute('data-page') === page);
  try {
    await drawers[page]();
    $('error').hidden = true;
    $('login').hidden = true;
    document.querySelector('main').hidden = false;
    $('refreshed').textContent = `updated ${new Date().toLocaleTimeString()}`;
    document.body.setAttribute('data-loaded', page);
  } catch (e) {
    if (e instanceof Unauthorized) {
      $('login').hidden = false;
      document.querySelector('main').hidden = true;
      $('login-error').textContent = state.token ? e.message : '';
    } else {
      $('error').hidden = false;
      $('error').textContent = `cannot reach the node: ${e.message}`;
    }
  }
  state.timer = setTimeout(refresh, refreshMs);
}

$('login').addEventListener('submit', (event) => {
  event.preventDefault();
  state.token = $('token').value.trim();
  sessionStorage.setItem('ringstore-token', state.token);
  void refresh();
});
$('key-form').addEventListener('submit', (event) => {
  event.preventDefault();
  void refresh();
});
$('key').addEventListener('input', () => void refresh());
$('key-encoding').addEventListener('change', () => void refresh());
window.addEventListener('hashchange', () => void refresh());
void refresh();
