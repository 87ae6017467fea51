// remora's admin web page (GET /app.js): polls the admin's JSON and /metrics and renders the
// listeners, clusters, endpoints and canaries. No library, no external resource; everything the
// page shows from remora goes through textContent, never innerHTML.
'use strict';

const REFRESH_MS = 1500;
const CONFIG_EVERY = 4;       // /config_dump changes only on reload: every 4th refresh (6 s)
const HISTORY_POINTS = 240;   // per chart: 6 minutes at REFRESH_MS
const SPARK_POINTS = 60;      // per cluster sparkline: 90 s

const state = {
  tick: 0,
  config: null,
  lastScrape: null,           // {at: seconds, totals: {key: value}}
  ratesReady: false,          // two scrapes seen: a name without series has a rate of 0
  clusterRates: new Map(),    // cluster -> {rps, eps}
  listenerRates: new Map(),   // listener -> {rps, eps}
  clusterHistory: new Map(),  // cluster -> [{rps, eps}]
  canaryHistory: new Map(),   // canary name -> [{t, weight, baseline, canary}]
};

// --- DOM helpers: build elements with text, never markup. ---

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null) continue;
    if (key === 'class') node.className = value;
    else node.setAttribute(key, String(value));
  }
  for (const child of children) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function badge(text, cls) { return el('span', {class: 'badge ' + (cls || '')}, text); }

function table(headers, rows) {
  const head = el('tr', {}, ...headers.map(h => el('th', {class: h.num ? 'num' : null}, h.text)));
  return el('table', {}, el('thead', {}, head), el('tbody', {}, ...rows));
}

function setChildren(id, ...children) { document.getElementById(id).replaceChildren(...children); }

// --- Fetching. ---

async function get(path) {
  try {
    const response = await fetch(path, {cache: 'no-store'});
    const text = await response.text();
    return {status: response.status, text};
  } catch (error) {
    return {status: 0, text: String(error)};
  }
}

function parseJson(reply) {
  if (reply.status !== 200) return null;
  try { return JSON.parse(reply.text); } catch (error) { return null; }
}

// --- Prometheus text: the counters the rates come from, summed by the label they are shown by.

function parseLabels(text) {
  const labels = {};
  const re = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;
  let m;
  while ((m = re.exec(text)) !== null) {
    labels[m[1]] = m[2].replace(/\\(.)/g, (all, c) => (c === 'n' ? '\n' : c));
  }
  return labels;
}

// {"cluster|users|all": n, "cluster|users|5xx": n, "listener|edge|all": n, ...}
function scrapeTotals(text) {
  const wanted = {
    remora_upstream_requests_total: 'cluster',
    remora_downstream_requests_total: 'listener',
  };
  const totals = {};
  for (const line of text.split('\n')) {
    if (line === '' || line[0] === '#') continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})?\s+(\S+)/.exec(line);
    if (!m || !(m[1] in wanted)) continue;
    const by = wanted[m[1]];
    const labels = parseLabels(m[2] || '');
    const value = Number(m[3]);
    if (!(by in labels) || !Number.isFinite(value)) continue;
    const key = by + '|' + labels[by];
    totals[key + '|all'] = (totals[key + '|all'] || 0) + value;
    if (String(labels.code || '').startsWith('5')) {
      totals[key + '|5xx'] = (totals[key + '|5xx'] || 0) + value;
    }
  }
  return totals;
}

// Per second between two scrapes; a counter that went down (a restart) counts from zero.
function rate(now, before, key, seconds) {
  const current = now[key] || 0;
  const previous = before[key] || 0;
  const delta = current >= previous ? current - previous : current;
  return seconds > 0 ? delta / seconds : 0;
}

function updateRates(metricsText) {
  const at = performance.now() / 1000;
  const totals = scrapeTotals(metricsText);
  const before = state.lastScrape;
  state.lastScrape = {at, totals};
  if (!before) return;
  state.ratesReady = true;
  const seconds = at - before.at;
  for (const [kind, map] of [['cluster', state.clusterRates], ['listener', state.listenerRates]]) {
    map.clear();
    const names = new Set();
    for (const key of Object.keys(totals)) {
      if (key.startsWith(kind + '|')) names.add(key.slice(kind.length + 1, key.lastIndexOf('|')));
    }
    for (const name of names) {
      const key = kind + '|' + name;
      map.set(name, {
        rps: rate(totals, before.totals, key + '|all', seconds),
        eps: rate(totals, before.totals, key + '|5xx', seconds),
      });
    }
  }
  for (const [name, r] of state.clusterRates) {
    const history = state.clusterHistory.get(name) || [];
    history.push(r);
    if (history.length > SPARK_POINTS) history.shift();
    state.clusterHistory.set(name, history);
  }
}

function formatRate(r) {
  if (!r && !state.ratesReady) return '– req/s';
  r = r || {rps: 0, eps: 0};
  const share = r.rps > 0 ? ` (${(100 * r.eps / r.rps).toFixed(1)}%)` : '';
  return `${r.rps.toFixed(1)} req/s · ${r.eps.toFixed(1)} 5xx/s${share}`;
}

// --- Header. ---

function renderHeader(ready, clusters) {
  const readyBadge = document.getElementById('ready');
  if (ready.status === 200) {
    readyBadge.textContent = 'ready';
    readyBadge.className = 'badge ready';
    readyBadge.title = '';
  } else {
    readyBadge.textContent = ready.status === 0 ? 'unreachable' : 'not ready';
    readyBadge.className = 'badge not-ready';
    readyBadge.title = ready.text.trim();
  }
  const registry = clusters && clusters.registry ? clusters.registry : {};
  document.getElementById('lifecycle').textContent =
      registry.lifecycle ? `lifecycle ${registry.lifecycle}` +
                               (registry.kind && registry.kind !== 'none'
                                    ? ` · registry ${registry.kind}` : '')
                         : '';
  document.getElementById('snapshot').textContent =
      clusters ? `snapshot ${clusters.version}` : '';
  document.getElementById('updated').textContent =
      `updated ${new Date().toLocaleTimeString()}`;
}

// --- Listeners (from /config_dump; rates from /metrics). ---

function renderListeners() {
  const listeners = state.config && state.config.config ? state.config.config.listeners : null;
  if (!listeners) return setChildren('listeners', el('div', {class: 'empty'}, 'unavailable'));
  if (listeners.length === 0) {
    return setChildren('listeners', el('div', {class: 'empty'}, 'no listeners'));
  }
  const rows = listeners.map(listener => {
    const hosts = listener.virtual_hosts || [];
    const routes = hosts.reduce((n, h) => n + (h.routes || []).length, 0);
    const domains = hosts.map(h => `${h.name}: ${(h.domains || []).join(', ')}`).join('; ');
    const r = state.listenerRates.get(listener.name);
    return el('tr', {'data-listener': listener.name},
              el('td', {}, el('strong', {}, listener.name)),
              el('td', {class: 'mono'}, listener.address),
              el('td', {}, listener.protocol + (listener.tls ? ' + TLS' : '')),
              el('td', {}, listener.trusted ? 'trusted' : 'untrusted'),
              el('td', {class: 'num'}, routes),
              el('td', {class: 'muted'}, domains),
              el('td', {class: 'num'}, formatRate(r)));
  });
  setChildren('listeners',
              table([{text: 'name'}, {text: 'address'}, {text: 'protocol'}, {text: 'headers'},
                     {text: 'routes', num: true}, {text: 'virtual hosts'},
                     {text: 'requests', num: true}],
                    rows));
}

// --- Clusters and endpoints (from /clusters). ---

function formatUntil(iso) {
  const until = new Date(iso);
  if (isNaN(until.getTime())) return iso;
  const seconds = Math.max(0, Math.round((until.getTime() - Date.now()) / 1000));
  const left = seconds >= 60 ? `${Math.floor(seconds / 60)}m ${seconds % 60}s` : `${seconds}s`;
  return `${until.toLocaleTimeString()} (${left} left)`;
}

function describeValue(value) {
  if (value === true) return '';
  if (value && typeof value === 'object') {
    return Object.entries(value).map(([k, v]) => `${k} ${v}`).join(', ');
  }
  return String(value);
}

// What one endpoint is doing, most severe first: {cls, label, detail}.
function endpointState(e) {
  if (e.draining) {
    return {cls: 'draining', label: 'draining', detail: describeValue(e.draining) || e.reason};
  }
  if (e.ejected) {
    const text = e.ejection || '';
    const m = /;\s*until (\S+)\s*$/.exec(text);
    return {
      cls: 'ejected',
      label: m ? `ejected until ${formatUntil(m[1])}` : 'ejected',
      detail: m ? text.slice(0, m.index) : text,
    };
  }
  if (!e.healthy) return {cls: 'unhealthy', label: 'unhealthy', detail: e.reason};
  if (e.slow_start) {
    return {cls: 'slow-start', label: 'slow start', detail: describeValue(e.slow_start)};
  }
  if (!e.in_rotation) return {cls: 'out', label: 'out of rotation', detail: e.reason};
  return {cls: 'healthy', label: 'healthy', detail: e.health_check || e.reason};
}

function renderEndpoint(e, panic) {
  const s = endpointState(e);
  const meta = Object.entries(e.meta || {}).map(([k, v]) => `${k}=${v}`).join(' ');
  return el('tr', {'data-endpoint': e.address, 'data-state': s.cls},
            el('td', {class: 'mono'}, e.address),
            el('td', {}, badge(s.label, s.cls)),
            el('td', {class: 'reason'}, s.detail || ''),
            el('td', {class: 'num'}, e.weight),
            el('td', {}, e.in_rotation ? (panic && s.cls !== 'healthy' ? 'yes (panic)' : 'yes')
                                       : 'no'),
            el('td', {class: 'muted mono'}, meta));
}

function renderClusters(clusters) {
  if (!clusters) return setChildren('clusters', el('div', {class: 'empty'}, 'unavailable'));
  if (clusters.clusters.length === 0) {
    return setChildren('clusters', el('div', {class: 'empty'}, 'no clusters'));
  }
  const cards = clusters.clusters.map(cluster => {
    const endpoints = cluster.endpoints || [];
    const counts = {};
    for (const e of endpoints) {
      const cls = endpointState(e).cls;
      counts[cls] = (counts[cls] || 0) + 1;
    }
    const summary = Object.entries(counts).map(([k, n]) => `${n} ${k}`).join(', ');
    const spark = el('canvas', {class: 'spark', width: 120, height: 24});
    drawSpark(spark, state.clusterHistory.get(cluster.name) || []);
    const body = endpoints.length === 0
        ? el('div', {class: 'empty'}, 'no endpoints')
        : table([{text: 'endpoint'}, {text: 'state'}, {text: 'reason'},
                 {text: 'weight', num: true}, {text: 'in rotation'}, {text: 'metadata'}],
                endpoints.map(e => renderEndpoint(e, cluster.panic)));
    return el('div', {class: 'card', 'data-cluster': cluster.name},
              el('div', {class: 'card-head'},
                 el('h3', {}, cluster.name),
                 cluster.panic ? badge('panic', 'panic') : null,
                 el('span', {class: 'muted'},
                    `${cluster.lb} · ${cluster.source} · ${endpoints.length} endpoint(s)` +
                        (summary ? `: ${summary}` : '')),
                 el('span', {class: 'rates'}, spark, ' ',
                    formatRate(state.clusterRates.get(cluster.name)))),
              body);
  });
  setChildren('clusters', ...cards);
}

// --- Charts, drawn by hand on canvas. ---

function setupCanvas(canvas) {
  const ratio = window.devicePixelRatio || 1;
  const width = Number(canvas.getAttribute('width'));
  const height = Number(canvas.getAttribute('height'));
  canvas.style.width = width + 'px';
  canvas.style.height = height + 'px';
  canvas.width = width * ratio;
  canvas.height = height * ratio;
  const ctx = canvas.getContext('2d');
  ctx.scale(ratio, ratio);
  return {ctx, width, height};
}

function polyline(ctx, points, color, dashed) {
  if (points.length === 0) return;
  ctx.strokeStyle = color;
  ctx.lineWidth = 2;
  ctx.setLineDash(dashed ? [4, 3] : []);
  ctx.beginPath();
  points.forEach(([x, y], i) => (i === 0 ? ctx.moveTo(x, y) : ctx.lineTo(x, y)));
  ctx.stroke();
  ctx.setLineDash([]);
}

// Requests per second (blue) and 5xx per second (red) over the last SPARK_POINTS refreshes.
function drawSpark(canvas, history) {
  const {ctx, width, height} = setupCanvas(canvas);
  ctx.fillStyle = '#eef1f4';
  ctx.fillRect(0, 0, width, height);
  if (history.length < 2) return;
  const top = Math.max(1, ...history.map(h => h.rps));
  const x = i => (i * (width - 2)) / (SPARK_POINTS - 1) + 1;
  const y = v => height - 2 - (v / top) * (height - 4);
  polyline(ctx, history.map((h, i) => [x(i), y(h.rps)]), '#2b6cb0');
  polyline(ctx, history.map((h, i) => [x(i), y(h.eps)]), '#c0392b');
}

// The canary's weight (percent, left axis) and both arms' error rates (right axis, scaled to
// the highest seen, at least 1%) over this tab's history.
function drawCanaryChart(canvas, history) {
  const {ctx, width, height} = setupCanvas(canvas);
  const pad = {left: 40, right: 52, top: 10, bottom: 22};
  const w = width - pad.left - pad.right;
  const h = height - pad.top - pad.bottom;
  ctx.fillStyle = '#fff';
  ctx.fillRect(0, 0, width, height);
  ctx.font = '11px system-ui, sans-serif';
  ctx.strokeStyle = '#d9dee3';
  ctx.lineWidth = 1;
  ctx.fillStyle = '#5c6670';
  const maxError = Math.max(0.01, ...history.map(p => Math.max(p.baseline, p.canary)));
  for (let i = 0; i <= 4; i++) {
    const yy = pad.top + (h * i) / 4;
    ctx.beginPath();
    ctx.moveTo(pad.left, yy);
    ctx.lineTo(pad.left + w, yy);
    ctx.stroke();
    ctx.textAlign = 'right';
    ctx.fillText(`${100 - 25 * i}%`, pad.left - 4, yy + 4);
    ctx.textAlign = 'left';
    ctx.fillText(`${((maxError * (4 - i)) / 4 * 100).toFixed(2)}%`, pad.left + w + 4, yy + 4);
  }
  ctx.textAlign = 'center';
  if (history.length === 0) {
    ctx.fillText('waiting for data', pad.left + w / 2, pad.top + h / 2);
    return;
  }
  const t0 = history[0].t;
  const span = Math.max(1, history[history.length - 1].t - t0);
  ctx.fillText(`last ${Math.round(span)} s`, pad.left + w / 2, height - 6);
  const x = p => pad.left + ((p.t - t0) / span) * w;
  const yWeight = p => pad.top + h - (p.weight / 100) * h;
  const yError = v => pad.top + h - (v / maxError) * h;
  // The weight moves in steps: drawn as a staircase.
  const steps = [];
  history.forEach((p, i) => {
    if (i > 0) steps.push([x(p), yWeight(history[i - 1])]);
    steps.push([x(p), yWeight(p)]);
  });
  polyline(ctx, steps, '#2b6cb0');
  polyline(ctx, history.map(p => [x(p), yError(p.baseline)]), '#7f8c8d', true);
  polyline(ctx, history.map(p => [x(p), yError(p.canary)]), '#c0392b');
}

// --- Canaries (from /canaries; 404 until remora has them). ---

function armRow(name, arm) {
  arm = arm || {};
  const fixed = (v, d) => (typeof v === 'number' ? v.toFixed(d) : '–');
  return el('tr', {'data-arm': name},
            el('td', {}, name),
            el('td', {class: 'num'}, arm.requests ?? '–'),
            el('td', {class: 'num'}, arm.errors ?? '–'),
            el('td', {class: 'num'},
               typeof arm.error_rate === 'number' ? `${fixed(arm.error_rate * 100, 2)}%` : '–'),
            el('td', {class: 'num'},
               typeof arm.p99_seconds === 'number' ? `${fixed(arm.p99_seconds * 1000, 1)} ms`
                                                   : '–'));
}

function recordCanary(canary, seen) {
  seen.add(canary.name);
  const history = state.canaryHistory.get(canary.name) || [];
  const arms = canary.arms || {};
  history.push({
    t: performance.now() / 1000,
    weight: Number(canary.weight) || 0,
    baseline: Number((arms.baseline || {}).error_rate) || 0,
    canary: Number((arms.canary || {}).error_rate) || 0,
  });
  if (history.length > HISTORY_POINTS) history.shift();
  state.canaryHistory.set(canary.name, history);
  return history;
}

// Who decides the canary: this remora alone, or the fleet's leader through the registry.
function fleetText(fleet) {
  if (!fleet || !fleet.coordinated) return 'decided by this remora alone';
  const who = fleet.leading ? 'this remora leads' : `led by ${fleet.leader || 'nobody yet'}`;
  const reach = fleet.registry_reachable === false
      ? ` · ${fleet.registry} unreachable${fleet.last_error ? `: ${fleet.last_error}` : ''}` : '';
  return `fleet through ${fleet.registry}: ${who}${reach}`;
}

function renderCanaries(reply) {
  const body = parseJson(reply);
  if (reply.status === 404 || (body && Array.isArray(body.canaries) &&
                               body.canaries.length === 0)) {
    state.canaryHistory.clear();
    return setChildren('canaries', el('div', {class: 'card empty', id: 'no-canaries'},
                                      'no canaries'));
  }
  if (!body || !Array.isArray(body.canaries)) {
    return setChildren('canaries',
                       el('div', {class: 'card error'},
                          `canaries unavailable (HTTP ${reply.status || 'error'})`));
  }
  const seen = new Set();
  const cards = body.canaries.map(canary => {
    const history = recordCanary(canary, seen);
    const steps = Array.isArray(canary.steps) ? canary.steps : [];
    const stepText = steps.length
        ? `step ${Number(canary.step) + 1} of ${steps.length} (${steps.join(' → ')} %)` : '';
    const chart = el('canvas', {width: 560, height: 180});
    drawCanaryChart(chart, history);
    const legend = el('div', {class: 'legend'},
                      el('span', {}, el('i', {class: 'swatch weight'}), 'weight (left axis)'),
                      el('span', {}, el('i', {class: 'swatch baseline'}),
                         'baseline error rate (right, dashed)'),
                      el('span', {}, el('i', {class: 'swatch canary'}),
                         'canary error rate (right)'));
    return el('div', {class: 'card', 'data-canary': canary.name},
              el('div', {class: 'card-head'},
                 el('h3', {}, canary.name),
                 badge(canary.state, canary.state),
                 el('span', {class: 'muted'},
                    `cluster ${canary.cluster} · route ${canary.route} · weight ` +
                        `${canary.weight}% · ${stepText}` +
                        (canary.shadow ? ' · shadow step: the canary gets copies only' : '')),
                 canary.reason ? el('span', {class: 'reason'}, canary.reason) : null,
                 canary.fleet ? el('span', {class: 'muted', 'data-fleet': ''},
                                   fleetText(canary.fleet))
                              : null),
              el('div', {class: 'canary-body'},
                 table([{text: 'arm'}, {text: 'requests', num: true},
                        {text: 'errors', num: true}, {text: 'error rate', num: true},
                        {text: 'p99', num: true}],
                       [armRow('baseline', (canary.arms || {}).baseline),
                        armRow('canary', (canary.arms || {}).canary)]),
                 el('div', {}, chart, legend)));
  });
  for (const name of [...state.canaryHistory.keys()]) {
    if (!seen.has(name)) state.canaryHistory.delete(name);
  }
  setChildren('canaries', ...cards);
}

// --- The loop: one refresh at a time, the next one REFRESH_MS after the last ended. ---

async function refresh() {
  const wantConfig = state.tick % CONFIG_EVERY === 0 || !state.config;
  const [clustersReply, metrics, canaries, ready, config] = await Promise.all([
    get('/clusters'), get('/metrics'), get('/canaries'), get('/ready'),
    wantConfig ? get('/config_dump') : Promise.resolve(null),
  ]);
  state.tick++;
  if (config) state.config = parseJson(config) || state.config;
  if (metrics.status === 200) updateRates(metrics.text);
  const clusters = parseJson(clustersReply);
  const failed = [clustersReply, metrics, ready].filter(r => r.status === 0).length;
  document.getElementById('fetch-error').textContent =
      failed ? 'remora does not answer: showing the last data' : '';
  renderHeader(ready, clusters);
  renderListeners();
  if (clusters || clustersReply.status !== 0) renderClusters(clusters);
  renderCanaries(canaries);
}

async function loop() {
  try {
    await refresh();
  } catch (error) {
    document.getElementById('fetch-error').textContent = `page error: ${error}`;
  }
  setTimeout(loop, REFRESH_MS);
}

loop();
