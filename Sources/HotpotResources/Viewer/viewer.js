// Hotpot viewer: a single-page client of the Hotpot JSON API (no private endpoints, no libraries).
//
// Flow: an API key (typed in, or passed once as `#key=...` in the address, which is removed at once) is
// kept in sessionStorage; GET /v1/dashboards lists the dashboards, GET /v1/dashboards/{id} gives one
// definition (filters, panels and their chart hints), GET /v1/dashboards/{id}/data?<filters> gives every
// panel's rows, and ?format=csv&panel=<id> exports one panel. Charts are SVG drawn here.
//
// For tests and tools: <body data-state="loading|signin|ready|error">, and every panel is an
// <article data-panel-id data-chart data-rendered="svg|table|stat|empty|error" data-marks> with
// data-error="<code>" when its answer is an error.
'use strict';

(() => {
  const KEY_STORAGE = 'hotpot.viewer.key';
  const LAST_DASHBOARD = 'hotpot.viewer.dashboard'; // not secret: kept across sessions
  const SVG_NS = 'http://www.w3.org/2000/svg';
  const PALETTE = ['#3366d6', '#ef8a1f', '#1b9e6b', '#9558d6', '#dc4437', '#1597b8', '#c9a000', '#d9539a', '#5f7687', '#6fae3c',
    '#7d4fb0', '#b5651d'];
  const LIGHT_RAMP = ['#eef4fc', '#c9dcf4', '#94bce9', '#5b95d8', '#2f6cc0', '#17478f', '#0b2a5c'];
  const DARK_RAMP = ['#172338', '#1b3560', '#22508f', '#2f6cc0', '#4f8fdc', '#86b6f0', '#cfe3fb'];
  const darkScheme = window.matchMedia ? window.matchMedia('(prefers-color-scheme: dark)') : null;
  const ramp = () => (darkScheme && darkScheme.matches ? DARK_RAMP : LIGHT_RAMP);
  const PRESETS = [['7D', '-7d', 'Last 7 days'], ['30D', '-30d', 'Last 30 days'], ['90D', '-90d', 'Last 90 days']];
  const WEEKDAYS = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'];

  const state = {
    key: null,
    tenant: null,
    dashboards: [],
    dashboardId: null,
    definition: null,   // the dashboard definition (filters, panels)
    explicit: {},       // filter name -> value as set by the user or the link (relative dates stay relative)
    resolved: {},       // filter name -> value the server resolved in the last answer
    answer: null,       // the last data answer
    entries: new Map(), // panel id -> {panel, result, el, body, foot, sort, hidden}
    seq: 0,
    controller: null,
    loadTimer: 0,
    embed: null,        // embed mode: {locked, editable, perms} read from the token (the server checks them)
    mode: 'dashboard',  // or 'explore' (the analyst's schema browser and scratch queries)
    schema: null,       // GET /v1/schema, once per session
    params: {},         // explore: placeholder name -> {type, value}
  };

  const $ = (id) => document.getElementById(id);
  // /embed/{dashboard}: one dashboard opened with a portal's signed token (docs/embedding.md).
  const EMBED = document.body.dataset.mode === 'embed';

  // ---------------------------------------------------------------------------------------------------
  // DOM helpers

  function h(tag, attrs, ...children) {
    const el = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs || {})) {
      if (value == null || value === false) continue;
      if (name === 'class') el.className = value;
      else if (name === 'text') el.textContent = value;
      else if (name.startsWith('on')) el.addEventListener(name.slice(2), value);
      else el.setAttribute(name, value === true ? '' : String(value));
    }
    for (const child of children.flat()) {
      if (child == null || child === false) continue;
      el.append(child instanceof Node ? child : String(child));
    }
    return el;
  }

  function svgEl(tag, attrs, parent) {
    const el = document.createElementNS(SVG_NS, tag);
    for (const [name, value] of Object.entries(attrs || {})) {
      if (value == null) continue;
      if (name === 'text') el.textContent = value;
      else el.setAttribute(name, String(value));
    }
    if (parent) parent.append(el);
    return el;
  }

  const measureContext = document.createElement('canvas').getContext('2d');
  function textWidth(text, size = 11.5, weight = 400) {
    if (!measureContext) return String(text).length * size * 0.6;
    measureContext.font = `${weight} ${size}px system-ui, -apple-system, "Segoe UI", Roboto, Arial, sans-serif`;
    return measureContext.measureText(String(text)).width;
  }

  function truncate(text, maxWidth, size = 11.5) {
    text = String(text);
    if (textWidth(text, size) <= maxWidth) return text;
    let lo = 0;
    let hi = text.length;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (textWidth(text.slice(0, mid) + '…', size) <= maxWidth) lo = mid; else hi = mid - 1;
    }
    return text.slice(0, Math.max(1, lo)) + '…';
  }

  function announce(text) {
    const el = $('announcer');
    el.textContent = '';
    window.setTimeout(() => { el.textContent = text; }, 30);
  }

  // ---------------------------------------------------------------------------------------------------
  // Formatting (the panels' `format` patterns such as "0,0", "0.00%", "+0.0%", and their `units`)

  const numberFormats = new Map();
  function numberFormat(options) {
    const key = JSON.stringify(options);
    let format = numberFormats.get(key);
    if (!format) {
      format = new Intl.NumberFormat(undefined, options);
      numberFormats.set(key, format);
    }
    return format;
  }

  const UNIT_PATTERNS = { count: '0,0', percent: '0.0%', ratio: '0.000', milliseconds: '0,0', seconds: '0,0.0', score: '0,0.0', currency: '0,0.00' };

  function parsePattern(pattern) {
    const match = /^(\+)?0(,0)?(?:\.(0+))?(%)?$/.exec(pattern || '');
    if (!match) return null;
    return { sign: Boolean(match[1]), group: Boolean(match[2]), decimals: match[3] ? match[3].length : 0, percent: Boolean(match[4]) };
  }

  /** How to show one column of a panel: its pattern, unit and SQL-ish type. */
  function columnSpec(panel, name, type, unitOverride) {
    let unit = unitOverride || (panel.units || {})[name];
    // Columns a panel gives no hint for: shares and rates of another panel of the same metric are fractions.
    if (!unit && !(panel.format || {})[name] && type === 'float' && /(^|_)(share|rate|ctr|retention|coverage|precision|lift)(_|$)/.test(name)) unit = 'percent';
    const pattern = parsePattern((panel.format || {})[name]) || parsePattern(UNIT_PATTERNS[unit]);
    return { name, type, unit, pattern };
  }

  function formatNumber(value, spec) {
    if (spec && spec.name === 'p_value' && value >= 0 && value < 0.001) return '< 0.001';
    // Durations: milliseconds of a second or more read better as seconds.
    if (spec && spec.unit === 'milliseconds' && Math.abs(value) >= 1000) {
      return `${numberFormat({ maximumFractionDigits: Math.abs(value) >= 100000 ? 0 : 1 }).format(value / 1000)} s`;
    }
    let pattern = spec && spec.pattern;
    if (!pattern && spec && spec.type === 'int') pattern = { group: true, decimals: 0 };
    let text;
    if (pattern) {
      const scaled = pattern.percent ? value * 100 : value;
      text = numberFormat({ minimumFractionDigits: pattern.decimals, maximumFractionDigits: pattern.decimals, useGrouping: pattern.group })
        .format(scaled);
      if (pattern.percent) text += '%';
      if (pattern.sign && scaled > 0 && Math.abs(scaled) >= 0.5 * 10 ** -pattern.decimals) text = '+' + text;
    } else if (Number.isInteger(value)) {
      text = numberFormat({ maximumFractionDigits: 0 }).format(value);
    } else {
      const magnitude = Math.abs(value);
      text = magnitude >= 100 ? numberFormat({ maximumFractionDigits: 1 }).format(value)
        : magnitude >= 1 ? numberFormat({ maximumFractionDigits: 2 }).format(value)
          : numberFormat({ maximumSignificantDigits: 3 }).format(value);
    }
    if (spec && spec.unit === 'milliseconds') text += ' ms';
    else if (spec && spec.unit === 'seconds') text += ' s';
    return text;
  }

  function pad(n) { return String(n).padStart(2, '0'); }

  function formatTimestamp(text) {
    const date = new Date(text);
    if (Number.isNaN(date.getTime())) return text;
    return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())} ${pad(date.getHours())}:${pad(date.getMinutes())}`;
  }

  function formatValue(value, spec) {
    if (value == null || value === '') return '—';
    if (typeof value === 'boolean') return value ? 'yes' : 'no';
    if (Array.isArray(value)) return value.map((item) => formatValue(item, spec)).join(', ');
    if (typeof value === 'number') return formatNumber(value, spec);
    if (spec && spec.type === 'timestamp') return formatTimestamp(value);
    return String(value);
  }

  const DAY_RE = /^\d{4}-\d{2}-\d{2}$/;
  const dayShort = new Intl.DateTimeFormat(undefined, { month: 'short', day: 'numeric', timeZone: 'UTC' });
  const dayLong = new Intl.DateTimeFormat(undefined, { weekday: 'short', year: 'numeric', month: 'short', day: 'numeric', timeZone: 'UTC' });
  const dayMedium = new Intl.DateTimeFormat(undefined, { year: 'numeric', month: 'short', day: 'numeric', timeZone: 'UTC' });
  const stampFormat = new Intl.DateTimeFormat(undefined, { year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' });
  const localDayShort = new Intl.DateTimeFormat(undefined, { month: 'short', day: 'numeric' });

  function isDay(value) { return typeof value === 'string' && DAY_RE.test(value); }
  function dayDate(value) { return new Date(value + 'T00:00:00Z'); }

  function formatAsOf(text) {
    if (!text) return null;
    const date = new Date(text);
    return Number.isNaN(date.getTime()) ? text : stampFormat.format(date);
  }

  const WORDS = {
    ctr: 'CTR', ces: 'CES', id: 'ID', ms: '', ci: 'CI', dau: 'DAU', prev: 'previous', p25: 'P25', p50: 'P50', p75: 'P75', p90: 'P90',
    p95: 'P95', p99: 'P99', pct: '%', avg: 'average', num: 'number',
  };
  function humanize(name) {
    if (!name) return '';
    if (name === 'p_value') return 'p-value';
    const text = String(name).split('_').filter(Boolean).map((word) => (Object.hasOwn(WORDS, word) ? WORDS[word] : word)).filter(Boolean).join(' ');
    return text.charAt(0).toUpperCase() + text.slice(1);
  }

  /** A category value as a label: days as "Nov 3", weekdays by name where the column says so. */
  function categoryLabel(value, column, long) {
    if (value == null || value === '') return '(none)';
    if (isDay(value)) return (long ? dayLong : dayShort).format(dayDate(value));
    if (typeof value === 'string' && /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}/.test(value)) {
      const date = new Date(value);
      if (!Number.isNaN(date.getTime())) return long ? stampFormat.format(date) : `${localDayShort.format(date)} ${pad(date.getHours())}:${pad(date.getMinutes())}`;
    }
    if (column === 'weekday' && Number.isInteger(value) && value >= 1 && value <= 7) return WEEKDAYS[value - 1];
    if (column === 'hour' && Number.isInteger(value)) return long ? `${pad(value)}:00–${pad((value + 1) % 24)}:00` : String(value);
    return String(value);
  }

  // ---------------------------------------------------------------------------------------------------
  // Scales

  function niceStep(span, count) {
    const raw = span / Math.max(1, count);
    const power = 10 ** Math.floor(Math.log10(raw));
    const fraction = raw / power;
    return (fraction <= 1 ? 1 : fraction <= 2 ? 2 : fraction <= 2.5 ? 2.5 : fraction <= 5 ? 5 : 10) * power;
  }

  /** A linear scale over [lo, hi] widened to nice ticks. */
  function linearScale(lo, hi, count) {
    if (!Number.isFinite(lo) || !Number.isFinite(hi)) { lo = 0; hi = 1; }
    if (lo === hi) { if (lo === 0) hi = 1; else if (lo > 0) lo = 0; else hi = 0; }
    const step = niceStep(hi - lo, count);
    const min = Math.floor(lo / step + 1e-9) * step;
    const max = Math.ceil(hi / step - 1e-9) * step;
    const ticks = [];
    for (let v = min; v <= max + step / 2; v += step) ticks.push(Math.abs(v) < step / 1e6 ? 0 : v);
    return { min, max, step, ticks };
  }

  /** Decimals needed to write `step` exactly (2.5 -> 1, 0.25 -> 2, 20 -> 0). */
  function decimalsOf(step) {
    for (let d = 0; d < 6; d += 1) {
      const scaled = step * 10 ** d;
      if (Math.abs(scaled - Math.round(scaled)) < 1e-6 * Math.max(1, scaled)) return d;
    }
    return 6;
  }

  function tickFormatter(spec, step, max) {
    const pattern = spec && spec.pattern;
    const unit = spec && spec.unit;
    if (pattern && pattern.percent) {
      const decimals = Math.min(3, decimalsOf(step * 100));
      return (v) => numberFormat({ minimumFractionDigits: decimals, maximumFractionDigits: decimals }).format(v * 100) + '%';
    }
    if (unit === 'milliseconds' && Math.abs(max) >= 1000) {
      const decimals = Math.min(3, decimalsOf(step / 1000));
      return (v) => `${numberFormat({ minimumFractionDigits: decimals, maximumFractionDigits: decimals }).format(v / 1000)} s`;
    }
    const suffix = unit === 'milliseconds' ? ' ms' : unit === 'seconds' ? ' s' : '';
    if (Math.abs(max) >= 10000) {
      return (v) => numberFormat({ notation: 'compact', maximumFractionDigits: 1 }).format(v) + suffix;
    }
    const decimals = Math.min(4, decimalsOf(step));
    return (v) => numberFormat({ minimumFractionDigits: decimals, maximumFractionDigits: decimals }).format(v) + suffix;
  }

  function rampColor(t) {
    t = Math.max(0, Math.min(1, Number.isFinite(t) ? t : 0));
    const stops = ramp();
    const scaled = t * (stops.length - 1);
    const i = Math.min(stops.length - 2, Math.floor(scaled));
    const f = scaled - i;
    const a = hexRGB(stops[i]);
    const b = hexRGB(stops[i + 1]);
    return `rgb(${Math.round(a[0] + (b[0] - a[0]) * f)}, ${Math.round(a[1] + (b[1] - a[1]) * f)}, ${Math.round(a[2] + (b[2] - a[2]) * f)})`;
  }
  function hexRGB(hex) { return [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16)); }

  // ---------------------------------------------------------------------------------------------------
  // Tooltip (pointer and keyboard)

  const tip = {
    show(content, x, y) {
      const el = $('tooltip');
      el.replaceChildren(content);
      el.hidden = false;
      const w = el.offsetWidth;
      const hgt = el.offsetHeight;
      let left = x + 14;
      let top = y + 14;
      if (left + w > window.innerWidth - 8) left = Math.max(8, x - w - 14);
      if (top + hgt > window.innerHeight - 8) top = Math.max(8, y - hgt - 14);
      el.style.left = `${left}px`;
      el.style.top = `${top}px`;
    },
    hide() { $('tooltip').hidden = true; },
  };

  /** Tooltip content: a title and rows of [colour, label, value]. */
  function tipContent(title, rows) {
    const table = h('table');
    for (const [color, label, value] of rows) {
      table.append(h('tr', null, h('td', null, color ? h('span', { class: 'sw', 'data-color': color }) : null, label), h('td', { text: value })));
    }
    const content = h('div', null, h('div', { class: 'tt-title', text: title }), table);
    for (const swatch of content.querySelectorAll('.sw')) swatch.style.background = swatch.dataset.color;
    return content;
  }

  function tipText(title, rows) { return [title, ...rows.map(([, label, value]) => `${label}: ${value}`)].join('. '); }

  /**
   * Makes a chart explorable: `points` are hover targets, each {x, y, title, rows, enter?, leave?}; `pick`
   * maps a pointer position (chart coordinates) to a point index. Arrow keys move between points.
   */
  function interactive(svg, points, pick, grid) {
    let current = -1;
    const place = (index, clientX, clientY, fromKeyboard) => {
      if (index < 0 || index >= points.length) return;
      if (current >= 0 && current !== index && points[current].leave) points[current].leave();
      current = index;
      const point = points[index];
      if (point.enter) point.enter();
      const box = svg.getBoundingClientRect();
      const x = clientX != null ? clientX : box.left + point.x;
      const y = clientY != null ? clientY : box.top + point.y;
      tip.show(tipContent(point.title, point.rows), x, y);
      if (fromKeyboard) announce(tipText(point.title, point.rows));
    };
    const clear = () => {
      if (current >= 0 && points[current].leave) points[current].leave();
      current = -1;
      tip.hide();
    };
    svg.addEventListener('pointermove', (event) => {
      const box = svg.getBoundingClientRect();
      const index = pick(event.clientX - box.left, event.clientY - box.top, event.target);
      if (index == null || index < 0) clear(); else place(index, event.clientX, event.clientY, false);
    });
    svg.addEventListener('pointerleave', clear);
    svg.addEventListener('blur', clear);
    svg.addEventListener('focus', () => place(current >= 0 ? current : 0, null, null, true));
    svg.addEventListener('keydown', (event) => {
      const columns = grid || 1;
      const moves = { ArrowRight: 1, ArrowLeft: -1, ArrowDown: columns, ArrowUp: -columns, Home: -Infinity, End: Infinity };
      if (event.key === 'Escape') { clear(); return; }
      if (!(event.key in moves)) return;
      event.preventDefault();
      let next = current < 0 ? 0 : current + moves[event.key];
      if (next === -Infinity) next = 0;
      if (next === Infinity) next = points.length - 1;
      next = Math.max(0, Math.min(points.length - 1, next));
      place(next, null, null, true);
    });
  }

  // ---------------------------------------------------------------------------------------------------
  // API

  class ApiError extends Error {
    constructor(status, code, message, details, requestId) {
      super(message);
      this.status = status;
      this.code = code;
      this.details = details || {};
      this.requestId = requestId;
    }
  }

  async function api(path, options = {}) {
    let response;
    try {
      const headers = { Authorization: `Bearer ${state.key}`, Accept: options.accept || 'application/json' };
      if (options.body !== undefined) headers['Content-Type'] = 'application/json';
      response = await fetch(path, {
        method: options.method || 'GET',
        headers,
        body: options.body !== undefined ? JSON.stringify(options.body) : undefined,
        signal: options.signal,
        cache: 'no-cache',
        credentials: 'omit',
      });
    } catch (error) {
      if (error.name === 'AbortError') throw error;
      throw new ApiError(0, 'network', 'The Hotpot server could not be reached. Check your connection and try again.');
    }
    if (!response.ok) {
      let body = null;
      try { body = await response.json(); } catch (_) { /* not JSON */ }
      const err = (body && body.error) || {};
      throw new ApiError(response.status, err.code || `http_${response.status}`, err.message || response.statusText || 'The request failed.',
        err.details, err.request_id || response.headers.get('X-Request-Id'));
    }
    return response;
  }

  async function apiJSON(path, options) { return (await api(path, options)).json(); }

  // ---------------------------------------------------------------------------------------------------
  // Address bar: `#dashboard=<id>&<filter>=<value>` (shareable); `#key=` is taken once and removed.

  function readHash() {
    const params = new URLSearchParams(window.location.hash.replace(/^#/, ''));
    const result = { key: params.get('key'), dashboard: params.get('dashboard'), filters: {},
      explore: params.has('explore') ? { sql: params.get('sql') } : null };
    for (const [name, value] of params) {
      if (name === 'key' || name === 'dashboard' || name === 'explore' || name === 'sql') continue;
      result.filters[name] = result.filters[name] != null ? `${result.filters[name]},${value}` : value;
    }
    return result;
  }

  function writeHash() {
    if (EMBED) return;
    const params = new URLSearchParams();
    if (state.mode === 'explore') {
      params.set('explore', '');
      const sql = $('explore-sql').value.trim();
      if (sql && sql.length <= 2000) params.set('sql', sql); // a link to the query, while it stays short
      const url = `${window.location.pathname}${window.location.search}#${params.toString().replace(/^explore=&?/, 'explore&')}`;
      if (url !== window.location.pathname + window.location.search + window.location.hash) window.history.replaceState(null, '', url);
      return;
    }
    if (state.dashboardId) params.set('dashboard', state.dashboardId);
    for (const [name, value] of Object.entries(state.explicit)) params.set(name, value);
    const hash = params.toString();
    const url = window.location.pathname + window.location.search + (hash ? `#${hash}` : '');
    if (url !== window.location.pathname + window.location.search + window.location.hash) window.history.replaceState(null, '', url);
  }

  // ---------------------------------------------------------------------------------------------------
  // Screens

  function setState(value) { document.body.dataset.state = value; }

  function showScreen(name) {
    if ($('signin')) $('signin').hidden = name !== 'signin';
    $('dashboard').hidden = name !== 'dashboard';
    if ($('explore')) $('explore').hidden = name !== 'explore';
    $('loading-screen').hidden = name !== 'loading';
    if ($('picker')) $('picker').hidden = name !== 'dashboard';
    if ($('session')) $('session').hidden = name !== 'dashboard' && name !== 'explore';
    if ($('explore-link')) $('explore-link').hidden = !canExplore() || name === 'explore' || name === 'signin';
  }

  function showSignin(error) {
    tip.hide();
    showScreen('signin');
    const banner = $('signin-error');
    if (error) {
      banner.replaceChildren(h('strong', { text: error.title }), error.message);
      if (error.detail) banner.append(h('div', { class: 'detail', text: error.detail }));
      banner.dataset.error = error.code || 'error';
      banner.hidden = false;
    } else {
      banner.hidden = true;
      delete banner.dataset.error;
    }
    setState('signin');
    document.title = 'Hotpot dashboards';
    const input = $('key-input');
    input.value = '';
    window.setTimeout(() => input.focus(), 0);
  }

  function keyProblem(error) {
    if (error.status === 401) {
      return { code: error.code, title: 'This API key was not accepted.', message: 'Check that you pasted the whole key and that it has not been revoked.', detail: `Server: ${error.message}` };
    }
    if (error.status === 403) {
      return { code: error.code, title: 'This key cannot open dashboards.', message: 'Dashboards need a tenant key with the viewer role (or analyst, admin).', detail: `Server: ${error.message}` };
    }
    return { code: error.code, title: 'Could not open the dashboards.', message: error.message, detail: error.requestId ? `Request ${error.requestId}` : null };
  }

  function forgetKey() {
    sessionStorage.removeItem(KEY_STORAGE);
    state.key = null;
    if (state.controller) state.controller.abort();
  }

  /** The token in the fragment (`#token=<jwt>` or the bare JWT), and the claims the viewer needs to lay out. */
  function readEmbedToken() {
    const raw = window.location.hash.replace(/^#/, '');
    const token = raw.startsWith('eyJ') ? raw : new URLSearchParams(raw).get('token');
    if (!token) return null;
    try {
      const part = token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
      const claims = JSON.parse(atob(part + '='.repeat((4 - (part.length % 4)) % 4)));
      return { token, locked: claims.locked || {}, editable: new Set(claims.editable || []), perms: new Set(claims.perms || []) };
    } catch (_) {
      return { token, locked: {}, editable: new Set(), perms: new Set() };
    }
  }

  function showEmbedRefusal(title, message) {
    showScreen('dashboard');
    $('dash-title').textContent = 'This dashboard cannot be shown';
    $('dash-description').textContent = '';
    $('panels').replaceChildren();
    $('filters').replaceChildren();
    showBanner(title, message, null, 'embed_token');
    setState('refused');
    // The portal may answer with a fresh token in the frame's fragment (hashchange).
    if (window.parent !== window) window.parent.postMessage({ type: 'hotpot:embed-token-refused', dashboard: state.dashboardId }, '*');
  }

  async function startEmbed() {
    state.dashboardId = decodeURIComponent(window.location.pathname.replace(/^\/embed\//, '').split('/')[0] || '');
    const embed = readEmbedToken();
    if (!embed) {
      showEmbedRefusal('No embed token.', 'This page shows a dashboard only with a token signed by your portal, in the address fragment (#token=…).');
      return;
    }
    state.key = embed.token;
    state.embed = embed;
    window.history.replaceState(null, '', window.location.pathname + window.location.search); // the token leaves the address bar
    await selectDashboard(state.dashboardId, {}, null);
  }

  async function start() {
    if (EMBED) { await startEmbed(); return; }
    const hash = readHash();
    if (hash.key) {
      sessionStorage.setItem(KEY_STORAGE, hash.key.trim());
      state.explicit = hash.filters;
      state.dashboardId = hash.dashboard;
      writeHash(); // drops the key from the address bar and history entry
    }
    state.key = sessionStorage.getItem(KEY_STORAGE);
    if (!state.key) { showSignin(null); return; }
    await openSession(hash.dashboard, hash.filters, hash.explore);
  }

  async function openSession(dashboardId, filters, explore) {
    showScreen('loading');
    setState('loading');
    // The dashboard named by the link (or seen last) is fetched at once, alongside the listing.
    let wanted = dashboardId;
    try { wanted = wanted || localStorage.getItem(LAST_DASHBOARD); } catch (_) { /* storage may be off */ }
    let early = null;
    if (wanted) {
      state.dashboardId = wanted;
      state.explicit = dashboardId ? { ...(filters || {}) } : {};
      early = { id: wanted, definition: apiJSON(`/v1/dashboards/${encodeURIComponent(wanted)}`), data: fetchData() };
      early.definition.catch(() => {});
    }
    let listing;
    try {
      const [list, tenant] = await Promise.all([
        apiJSON('/v1/dashboards'),
        apiJSON('/v1/tenant').catch(() => null),
      ]);
      listing = list;
      state.tenant = tenant;
    } catch (error) {
      if (error.status === 401 || error.status === 403) forgetKey();
      showSignin(keyProblem(error));
      return;
    }
    state.dashboards = listing.dashboards || [];
    renderSession();
    if (explore) {
      if (early) state.seq += 1;
      await openExplore(explore.sql);
      return;
    }
    if (state.dashboards.length === 0) {
      showScreen('dashboard');
      $('dash-title').textContent = 'No dashboards yet';
      $('dash-description').textContent = 'This tenant has no dashboards.';
      setState('ready');
      return;
    }
    if (early && state.dashboards.some((d) => d.id === early.id)) {
      await selectDashboard(early.id, state.explicit, null, early);
      return;
    }
    if (early) state.seq += 1; // drops the early answer
    await selectDashboard(state.dashboards[0].id, {},
      dashboardId ? `There is no dashboard “${dashboardId}”; showing ${state.dashboards[0].title}.` : null);
  }

  function renderSession() {
    const select = $('dashboard-select');
    select.replaceChildren(...state.dashboards.map((d) => h('option', { value: d.id, text: d.title })));
    const tenant = $('tenant-name');
    tenant.replaceChildren();
    if (state.tenant) {
      tenant.append(h('span', { class: 'sr-only', text: 'Tenant ' }), h('strong', { text: state.tenant.slug }), h('span', { class: 'role', text: state.tenant.role }));
      tenant.title = `Tenant ${state.tenant.slug}, time zone ${state.tenant.timezone}`;
    }
  }

  async function selectDashboard(id, filters, notice, early) {
    state.mode = 'dashboard';
    state.dashboardId = id;
    state.explicit = { ...(filters || {}) };
    try { localStorage.setItem(LAST_DASHBOARD, id); } catch (_) { /* storage may be off */ }
    // The definition and the data are fetched together (the data does not need the definition).
    const definitionRequest = early ? early.definition : apiJSON(`/v1/dashboards/${encodeURIComponent(id)}`);
    definitionRequest.catch(() => {});
    const dataRequest = early ? early.data : fetchData();
    if ($('dashboard-select')) $('dashboard-select').value = id;
    showScreen('dashboard');
    setState('loading');
    $('panels').replaceChildren();
    $('filters').replaceChildren();
    hideBanner();
    const summary = state.dashboards.find((d) => d.id === id);
    $('dash-title').textContent = summary ? summary.title : id;
    $('dash-description').textContent = summary ? summary.description : '';
    $('dash-meta').textContent = '';
    let definition;
    try {
      definition = (await definitionRequest).dashboard;
    } catch (error) {
      if (state.dashboardId === id) handleLoadError(error);
      return;
    }
    if (state.dashboardId !== id) return;
    state.definition = definition;
    document.title = `${definition.title} · Hotpot`;
    $('dash-title').textContent = definition.title;
    $('dash-description').textContent = definition.description || '';
    // Filters from a link that this dashboard does not have are dropped (with a note) rather than failing.
    const names = new Set(definition.filters.map((f) => f.name));
    const dropped = Object.keys(state.explicit).filter((name) => !names.has(name));
    for (const name of dropped) delete state.explicit[name];
    renderFilters();
    renderPanelShells();
    renderDashboardAlerts(id);
    const notes = [notice, dropped.length ? `Ignored filters this dashboard does not have: ${dropped.join(', ')}.` : null].filter(Boolean);
    await loadData(notes.length ? notes.join(' ') : null, dropped.length ? null : dataRequest);
  }

  function handleLoadError(error) {
    if (error.name === 'AbortError') return;
    if (EMBED && (error.status === 401 || error.status === 403)) {
      showEmbedRefusal(error.status === 401 ? 'The embed token was not accepted.' : 'The embed token does not allow this.', error.message);
      return;
    }
    if (error.status === 401 || error.status === 403) {
      forgetKey();
      showSignin(keyProblem(error));
      return;
    }
    const parameter = error.details && error.details.parameter;
    showBanner(error.status === 400 ? 'These filters cannot be applied.' : 'The dashboard could not be loaded.', error.message,
      error.requestId ? `Request ${error.requestId}` : null, error.code);
    if (parameter) {
      const input = document.getElementById(`f-${parameter}`);
      if (input) input.setAttribute('aria-invalid', 'true');
    }
    for (const entry of state.entries.values()) {
      entry.el.classList.remove('is-loading');
      if (!entry.result) entry.body.replaceChildren(h('div', { class: 'empty', text: 'Not loaded: see the message above.' }));
    }
    setState('error');
  }

  function showBanner(title, message, detail, code) {
    const banner = $('banner');
    banner.replaceChildren(h('strong', { text: title }), message);
    if (detail) banner.append(h('div', { class: 'detail', text: detail }));
    banner.dataset.error = code || 'error';
    banner.classList.add('error');
    banner.setAttribute('role', 'alert');
    banner.hidden = false;
  }

  function showNotice(message) {
    const banner = $('banner');
    banner.replaceChildren(message);
    delete banner.dataset.error;
    banner.classList.remove('error');
    banner.setAttribute('role', 'status');
    banner.hidden = false;
  }

  function hideBanner() {
    const banner = $('banner');
    banner.hidden = true;
    banner.replaceChildren();
    delete banner.dataset.error;
  }

  // ---------------------------------------------------------------------------------------------------
  // Filters

  // Spaces travel as %20, not as URLSearchParams' '+': the API reads '+' literally (relative dates such as +1d).
  function filterQuery(extra = []) {
    return [...Object.entries(state.explicit), ...extra]
      .map(([name, value]) => `${encodeURIComponent(name)}=${encodeURIComponent(value)}`).join('&');
  }

  function setFilter(name, value) {
    if (value == null || value === '') delete state.explicit[name]; else state.explicit[name] = String(value);
    const input = document.getElementById(`f-${name}`);
    if (input) input.removeAttribute('aria-invalid');
    scheduleLoad();
  }

  function scheduleLoad() {
    window.clearTimeout(state.loadTimer);
    state.loadTimer = window.setTimeout(() => loadData(null), 250);
  }

  function renderFilters() {
    const form = $('filters');
    form.replaceChildren();
    // Embedded: only the filters the token lets the viewer change (locked ones are fixed by the portal).
    const filters = state.definition.filters.filter((f) => !EMBED || (state.embed && state.embed.editable.has(f.name)));
    form.hidden = filters.length === 0;
    const byName = Object.fromEntries(filters.map((f) => [f.name, f]));
    const hasRange = byName.from && byName.to && byName.from.type === 'date' && byName.to.type === 'date';
    if (hasRange) form.append(rangeField(byName.from, byName.to));
    for (const filter of filters) {
      if (hasRange && (filter.name === 'from' || filter.name === 'to')) continue;
      form.append(filterField(filter));
    }
    form.append(h('div', { class: 'filter-actions' },
      h('button', { type: 'button', class: 'button small', text: 'Reset', title: 'Back to the dashboard\'s default filters', onclick: () => {
        state.explicit = {};
        for (const input of form.querySelectorAll('[aria-invalid]')) input.removeAttribute('aria-invalid');
        loadData(null);
      } }),
      h('button', { type: 'button', class: 'button small', text: 'Refresh', title: 'Fetch the latest data', onclick: () => loadData(null) })));
    form.onsubmit = (event) => { event.preventDefault(); loadData(null); };
  }

  function rangeField(from, to) {
    const legendText = /\sfrom$/i.test(from.label) ? from.label.replace(/\s+from$/i, '') : 'Period';
    const presets = h('div', { class: 'presets', role: 'group', 'aria-label': 'Quick periods' },
      PRESETS.map(([label, value, long]) => h('button', {
        type: 'button', 'data-from': value, 'aria-pressed': 'false', title: long, 'aria-label': long, text: label,
        onclick: () => { state.explicit.from = value; state.explicit.to = 'today'; scheduleLoad(); updatePresets(); },
      })));
    return h('fieldset', { class: 'field' },
      h('legend', { text: legendText }),
      h('div', { class: 'range' },
        h('input', { type: 'date', id: 'f-from', 'aria-label': from.label, onchange: (e) => { setFilter('from', e.target.value); updatePresets(); } }),
        h('span', { class: 'sep', 'aria-hidden': 'true', text: '–' }),
        h('input', { type: 'date', id: 'f-to', 'aria-label': to.label, onchange: (e) => { setFilter('to', e.target.value); updatePresets(); } }),
        presets));
  }

  function updatePresets() {
    const toIsToday = (state.explicit.to || defaultOf('to')) === 'today';
    const from = state.explicit.from || defaultOf('from');
    for (const button of document.querySelectorAll('.presets button')) {
      button.setAttribute('aria-pressed', String(toIsToday && button.dataset.from === from));
    }
  }

  function defaultOf(name) {
    const filter = state.definition && state.definition.filters.find((f) => f.name === name);
    return filter && filter.default ? filter.default.join(',') : null;
  }

  function filterField(filter) {
    const id = `f-${filter.name}`;
    const label = filter.label || humanize(filter.name);
    if (filter.type === 'bool') {
      return h('div', { class: 'field' }, h('span', { class: 'label', 'aria-hidden': 'true', text: '\u00a0' }),
        h('label', { class: 'check' },
          h('input', { type: 'checkbox', id, onchange: (e) => setFilter(filter.name, e.target.checked ? 'true' : 'false') }), label));
    }
    if (filter.allowed && filter.type === 'text[]') {
      const chips = h('div', { class: 'chips' }, filter.allowed.map((value) => h('label', { class: 'chip' },
        h('input', { type: 'checkbox', value, 'data-filter': filter.name, onchange: () => {
          const chosen = [...document.querySelectorAll(`input[data-filter="${filter.name}"]:checked`)].map((i) => i.value);
          setFilter(filter.name, chosen.join(','));
        } }), h('span', { text: value }))));
      return h('fieldset', { class: 'field', id }, h('legend', { text: filter.optional ? `${label} (none picked: all)` : label }), chips);
    }
    if (filter.allowed) {
      const options = [];
      if (filter.optional) options.push(h('option', { value: '', text: 'All' }));
      for (const value of filter.allowed) options.push(h('option', { value, text: value }));
      return h('div', { class: 'field' }, h('label', { for: id, text: label }),
        h('select', { id, onchange: (e) => setFilter(filter.name, e.target.value) }, options));
    }
    if (filter.type === 'int' || filter.type === 'float') {
      return h('div', { class: 'field' }, h('label', { for: id, text: label }),
        h('input', { type: 'number', id, inputmode: filter.type === 'int' ? 'numeric' : 'decimal', step: filter.type === 'int' ? '1' : 'any',
          min: filter.min, max: filter.max, onchange: (e) => setFilter(filter.name, e.target.value) }));
    }
    if (filter.type === 'date') {
      return h('div', { class: 'field' }, h('label', { for: id, text: label }),
        h('input', { type: 'date', id, onchange: (e) => setFilter(filter.name, e.target.value) }));
    }
    if (filter.type === 'timestamp') {
      return h('div', { class: 'field' }, h('label', { for: id, text: label }),
        h('input', { type: 'datetime-local', id, onchange: (e) => {
          const date = e.target.value ? new Date(e.target.value) : null;
          setFilter(filter.name, date && !Number.isNaN(date.getTime()) ? date.toISOString().replace(/\.\d{3}Z$/, 'Z') : '');
        } }));
    }
    const list = filter.type.endsWith('[]');
    return h('div', { class: 'field wide' }, h('label', { for: id, text: label }),
      h('input', { type: 'text', id, placeholder: list ? (filter.optional ? 'all (comma-separated)' : 'comma-separated') : (filter.optional ? 'any' : ''),
        autocomplete: 'off', spellcheck: 'false', onchange: (e) => setFilter(filter.name, e.target.value.split(',').map((s) => s.trim()).filter(Boolean).join(',')) }));
  }

  /** Shows the values the server resolved (defaults, relative dates) in the filter inputs. */
  function fillFilters(resolved) {
    for (const filter of state.definition.filters) {
      const value = resolved[filter.name];
      const input = document.getElementById(`f-${filter.name}`);
      if (!input) continue;
      if (filter.type === 'bool') input.checked = value === 'true';
      else if (filter.allowed && filter.type === 'text[]') {
        const chosen = new Set(Array.isArray(value) ? value : []);
        for (const box of input.querySelectorAll('input')) box.checked = chosen.has(box.value);
      } else if (filter.type === 'timestamp') {
        const date = value ? new Date(/[zZ]|[+-]\d\d:?\d\d$/.test(value) ? value : `${value}Z`) : null;
        input.value = date && !Number.isNaN(date.getTime())
          ? `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:${pad(date.getMinutes())}` : '';
      } else if (Array.isArray(value)) input.value = value.join(', ');
      else input.value = value == null ? '' : value;
    }
    updatePresets();
  }

  // ---------------------------------------------------------------------------------------------------
  // Data

  /** Starts fetching the current dashboard's data with the current filters; older requests are dropped. */
  function fetchData() {
    window.clearTimeout(state.loadTimer);
    if (state.controller) state.controller.abort();
    const controller = new AbortController();
    state.controller = controller;
    const seq = ++state.seq;
    const promise = apiJSON(`/v1/dashboards/${encodeURIComponent(state.dashboardId)}/data?${filterQuery()}`, { signal: controller.signal });
    promise.catch(() => {});
    return { seq, promise };
  }

  async function loadData(notice, request) {
    if (!state.definition) return;
    const pending = request && request.seq === state.seq ? request : fetchData();
    setState('loading');
    for (const entry of state.entries.values()) entry.el.classList.add('is-loading');
    let answer;
    try {
      answer = await pending.promise;
    } catch (error) {
      if (pending.seq === state.seq) handleLoadError(error);
      return;
    }
    if (pending.seq !== state.seq) return;
    state.answer = answer;
    state.resolved = answer.filters || {};
    if (notice) showNotice(notice); else hideBanner();
    fillFilters(state.resolved);
    renderMeta(answer);
    const byId = new Map((answer.panels || []).map((p) => [p.id, p]));
    let errors = 0;
    // Widths are read once, before any panel changes, so drawing does not force a layout per panel.
    for (const entry of state.entries.values()) entry.width = entry.body.clientWidth;
    for (const entry of state.entries.values()) {
      entry.result = byId.get(entry.panel.id) || { id: entry.panel.id, error: { code: 'missing', message: 'The answer has no data for this panel.' } };
      if (entry.result.error) errors += 1;
      renderPanel(entry);
    }
    writeHash();
    document.body.dataset.panelErrors = String(errors);
    document.body.dataset.height = String(document.documentElement.scrollHeight);
    if (!document.body.dataset.readyMs) document.body.dataset.readyMs = String(Math.round(performance.now()));
    setState('ready');
    announce(`${state.definition.title}: ${state.entries.size} panels loaded${errors ? `, ${errors} with errors` : ''}.`);
  }

  function renderMeta(answer) {
    const meta = $('dash-meta');
    meta.replaceChildren();
    const asOf = formatAsOf(answer.as_of);
    meta.append(h('span', { class: 'dot', 'aria-hidden': 'true' }),
      asOf ? `Data as of ${asOf}` : 'No data imported yet',
      h('span', { class: 'sep', 'aria-hidden': 'true', text: ' · ' }), `data version ${answer.data_version}`);
    meta.title = `Data version ${answer.data_version}; dashboard version ${answer.version}`;
  }

  // ---------------------------------------------------------------------------------------------------
  // Panels

  function renderPanelShells() {
    const grid = $('panels');
    grid.replaceChildren();
    state.entries = new Map();
    for (const panel of state.definition.panels) {
      const titleId = `panel-${panel.id}-title`;
      const csv = h('button', { type: 'button', class: 'button small', 'aria-label': `Download “${panel.title}” as CSV`, title: 'Download this panel as CSV' },
        downloadIcon(), 'CSV');
      if (EMBED && !(state.embed && state.embed.perms.has('csv'))) csv.hidden = true;
      const body = h('div', { class: 'panel-body' }, h('div', { class: 'skeleton', 'aria-hidden': 'true' }));
      const foot = h('footer', { class: 'panel-foot' });
      const el = h('article', {
        class: `panel span-${Math.max(1, Math.min(12, panel.width || 12))} is-loading`, 'aria-labelledby': titleId,
        'data-panel-id': panel.id, 'data-chart': panel.chart,
      }, h('header', { class: 'panel-head' }, h('h2', { id: titleId, text: panel.title }), h('div', { class: 'panel-actions' }, csv)), body, foot);
      const entry = { panel, result: null, el, body, foot, sort: null, hidden: new Set(), width: 0 };
      csv.addEventListener('click', () => downloadCSV(entry, csv));
      state.entries.set(panel.id, entry);
      grid.append(el);
    }
  }

  function downloadIcon() {
    const svg = svgEl('svg', { viewBox: '0 0 16 16', width: 14, height: 14, 'aria-hidden': 'true', focusable: 'false' });
    svgEl('path', { d: 'M8 2v8m0 0L4.5 6.5M8 10l3.5-3.5M3 13h10', fill: 'none', stroke: 'currentColor', 'stroke-width': 1.6, 'stroke-linecap': 'round', 'stroke-linejoin': 'round' }, svg);
    return svg;
  }

  async function downloadCSV(entry, button) {
    const params = filterQuery([['format', 'csv'], ['panel', entry.panel.id]]);
    button.disabled = true;
    try {
      const response = await api(`/v1/dashboards/${encodeURIComponent(state.dashboardId)}/data?${params}`, { accept: 'text/csv' });
      const blob = await response.blob();
      const disposition = response.headers.get('Content-Disposition') || '';
      const match = /filename="?([^";]+)"?/i.exec(disposition);
      const url = URL.createObjectURL(blob);
      const link = h('a', { href: url, download: match ? match[1] : `${state.dashboardId}-${entry.panel.id}.csv`, hidden: true });
      document.body.append(link);
      link.click();
      link.remove();
      window.setTimeout(() => URL.revokeObjectURL(url), 30000);
      announce(`Downloaded ${entry.panel.title} as CSV.`);
    } catch (error) {
      if (!EMBED && (error.status === 401 || error.status === 403)) { forgetKey(); showSignin(keyProblem(error)); return; }
      showBanner('The CSV export failed.', error.message, error.requestId ? `Request ${error.requestId}` : null, error.code);
    } finally {
      button.disabled = false;
    }
  }

  function renderPanel(entry) {
    const { el, body, panel, result } = entry;
    el.classList.remove('is-loading');
    delete el.dataset.error;
    body.replaceChildren();
    let outcome;
    if (result.error) {
      el.dataset.error = result.error.code || 'error';
      body.append(h('div', { class: 'panel-error', role: 'alert' },
        h('div', null, h('strong', { text: 'This panel could not be computed.' }), h('span', { text: result.error.message }),
          h('div', null, h('code', { text: result.error.code || '' })))));
      outcome = { kind: 'error', marks: 0 };
    } else if (!result.rows || result.rows.length === 0) {
      body.append(h('div', { class: 'empty' }, h('div', null, h('strong', { text: 'No data for these filters.' }),
        h('div', { class: 'hint-small', text: 'Try a longer period or looser thresholds.' }))));
      outcome = { kind: 'empty', marks: 0 };
    } else {
      try {
        outcome = drawChart(entry);
      } catch (error) {
        // A chart that cannot be drawn from these columns still shows its rows.
        console.error(`panel ${panel.id}:`, error);
        body.replaceChildren();
        outcome = tableView(body, entry);
      }
    }
    el.dataset.rendered = outcome.kind;
    el.dataset.marks = String(outcome.marks);
    renderFoot(entry);
  }

  function drawChart(entry) {
    const { body, panel } = entry;
    switch (panel.chart) {
      case 'stat': return statView(body, entry);
      case 'line': return lineChart(body, entry);
      case 'bar': return barChart(body, entry);
      case 'funnel': return funnelChart(body, entry);
      case 'heatmap': return heatmapChart(body, entry);
      default: return tableView(body, entry);
    }
  }

  function renderFoot(entry) {
    const { foot, panel, result } = entry;
    foot.replaceChildren();
    const definition = panel.definition || 'No definition is available for this metric.';
    const sentence = /^(.*?[^.]\.)(\s|$)/.exec(definition);
    const gist = (sentence ? sentence[1] : definition).replace(/:$/, '');
    const details = h('details', null,
      h('summary', { title: 'What this panel shows: the metric\'s definition' }, h('span', { class: 'gist' }, richText(gist))),
      h('p', { class: 'definition' }, richText(definition)));
    const meta = result && result.meta;
    if (meta) {
      const params = Object.entries(meta.params || {}).filter(([, v]) => v != null)
        .map(([k, v]) => `${k}=${Array.isArray(v) ? v.join(',') : v}`).join('  ');
      details.append(h('p', { class: 'params', text: `${meta.metric} (version ${meta.version})${params ? `: ${params}` : ''}` }));
    } else {
      details.append(h('p', { class: 'params', text: `${panel.metric}${panel.version ? `@${panel.version}` : ''}` }));
    }
    foot.append(details);
    if (meta) {
      const asOf = formatAsOf(meta.as_of);
      foot.append(h('div', { class: 'meta' },
        h('span', { title: 'Data version: changes with every import' }, `Data v${meta.data_version}`),
        h('span', { title: 'Time of the newest imported data' }, asOf ? `as of ${asOf}` : 'no data yet'),
        h('span', null, `${meta.row_count} ${meta.row_count === 1 ? 'row' : 'rows'}${meta.truncated ? ' (truncated)' : ''}`)));
    }
  }

  /** Text with `code` spans (metric definitions quote parameters and columns that way). */
  function richText(text) {
    return String(text).split(/(`[^`]+`)/).filter(Boolean)
      .map((part) => (part.length > 2 && part.startsWith('`') && part.endsWith('`') ? h('code', { text: part.slice(1, -1) }) : part));
  }

  function columnIndex(result, name) { return result.columns.findIndex((c) => c.name === name); }
  function columnType(result, name) { const c = result.columns.find((col) => col.name === name); return c ? c.type : null; }
  function specFor(entry, name, unit) { return columnSpec(entry.panel, name, columnType(entry.result, name), unit); }

  function chartSize(body, preferred) {
    const entry = [...state.entries.values()].find((e) => e.body === body);
    const width = Math.max(260, Math.floor(entry && entry.width ? entry.width : body.clientWidth));
    const height = width < 480 ? Math.round(preferred * 0.8) : preferred;
    return { width, height };
  }

  function newSvg(body, width, height, label) {
    const svg = svgEl('svg', { class: 'chart', width, height, viewBox: `0 0 ${width} ${height}`, role: 'img', tabindex: 0, 'aria-label': label });
    body.append(svg);
    return svg;
  }

  function legend(body, entry, series, redraw, line) {
    if (series.length < 2) return;
    const list = h('ul', { class: 'legend', 'aria-label': 'Series (select to show or hide)' });
    for (const s of series) {
      const swatch = h('span', { class: `swatch${line ? ' swatch-line' : ''}`, 'aria-hidden': 'true' });
      swatch.style.background = s.color;
      const button = h('button', { type: 'button', 'aria-pressed': String(!entry.hidden.has(s.key)), title: s.name },
        swatch, h('span', { class: 'name', text: s.name }));
      button.addEventListener('click', () => {
        if (entry.hidden.has(s.key)) entry.hidden.delete(s.key);
        else if (series.length - entry.hidden.size > 1) entry.hidden.add(s.key);
        redraw();
        const again = entry.body.querySelector(`.legend button[title="${CSS.escape(s.name)}"]`);
        if (again) again.focus();
      });
      list.append(h('li', null, button));
    }
    body.append(list);
  }

  function yAxis(svg, scale, y, left, right, format) {
    for (const tick of scale.ticks) {
      const py = Math.round(y(tick)) + 0.5;
      svgEl('line', { class: tick === 0 && scale.min < 0 ? 'zero-line' : 'grid-line', x1: left, x2: right, y1: py, y2: py }, svg);
      svgEl('text', { class: 'tick', x: left - 8, y: py, 'text-anchor': 'end', 'dominant-baseline': 'middle', text: format(tick) }, svg);
    }
  }

  function yLabelWidth(scale, format) { return Math.max(...scale.ticks.map((t) => textWidth(format(t)))) + 14; }

  // ----- stat cards

  function statView(body, entry) {
    const { panel, result } = entry;
    const row = result.rows[0];
    const stats = panel.stats && panel.stats.length ? panel.stats : panel.y.map((y) => ({ label: humanize(y), value: y }));
    const cards = h('div', { class: 'stats' });
    const get = (name) => { const i = columnIndex(result, name); return i >= 0 ? row[i] : null; };
    for (const stat of stats) {
      const spec = specFor(entry, stat.value, stat.unit);
      const value = get(stat.value);
      const card = h('div', { class: 'stat', role: 'group', 'aria-label': stat.label },
        h('div', { class: 'stat-label', text: stat.label }),
        h('div', { class: 'stat-value', text: formatValue(value, spec), title: value == null ? 'no value' : String(value) }));
      const line = h('div', { class: 'stat-change' });
      if (stat.change) {
        const change = get(stat.change);
        const changeSpec = columnSpec(panel, stat.change, 'float', 'percent');
        if (!(panel.format || {})[stat.change]) changeSpec.pattern = parsePattern('+0.0%');
        if (typeof change === 'number') {
          const direction = Math.abs(change) < 0.0005 ? 'flat' : change > 0 ? 'up' : 'down';
          const arrow = direction === 'up' ? '▲' : direction === 'down' ? '▼' : '■';
          line.append(h('span', { class: `delta ${direction}` }, h('span', { 'aria-hidden': 'true', text: arrow }),
            h('span', { class: 'sr-only', text: direction === 'up' ? 'up ' : direction === 'down' ? 'down ' : 'unchanged ' }),
            formatValue(change, changeSpec)));
        } else {
          line.append(h('span', { class: 'delta flat', text: 'n/a', title: 'No previous value to compare with' }));
        }
      }
      if (stat.previous) {
        const previous = get(stat.previous);
        line.append(h('span', { text: `vs ${formatValue(previous, specFor(entry, stat.previous, stat.unit))}` }));
      }
      if (line.childNodes.length) card.append(line);
      cards.append(card);
    }
    body.append(cards);
    const prevFrom = get('prev_from_day');
    const prevTo = get('prev_to_day');
    const from = get('from_day');
    const to = get('to_day');
    if (isDay(prevFrom) && isDay(prevTo) && isDay(from) && isDay(to)) {
      body.append(h('p', { class: 'table-note', text:
        `${dayMedium.format(dayDate(from))} – ${dayMedium.format(dayDate(to))}, compared with ${dayMedium.format(dayDate(prevFrom))} – ${dayMedium.format(dayDate(prevTo))}.` }));
    }
    return { kind: 'stat', marks: stats.length };
  }

  // ----- line chart

  /** Series of a line or bar chart: one per y column, or one per value of the `series` column. */
  function buildSeries(entry) {
    const { panel, result } = entry;
    const xi = columnIndex(result, panel.x);
    if (xi < 0) throw new Error(`no column ${panel.x}`);
    const ys = panel.y.filter((y) => columnIndex(result, y) >= 0);
    if (!ys.length) throw new Error('no y column');
    const si = panel.series ? columnIndex(result, panel.series) : -1;
    const xs = [];
    const seen = new Map();
    for (const row of result.rows) {
      const key = JSON.stringify(row[xi]);
      if (!seen.has(key)) { seen.set(key, xs.length); xs.push(row[xi]); }
    }
    let order = xs.map((_, i) => i);
    if (xs.every(isDay) || xs.every((x) => typeof x === 'number')) {
      order.sort((a, b) => (xs[a] < xs[b] ? -1 : xs[a] > xs[b] ? 1 : 0));
    }
    const sortedXs = order.map((i) => xs[i]);
    const position = new Map(sortedXs.map((x, i) => [JSON.stringify(x), i]));
    const series = [];
    const byKey = new Map();
    for (const row of result.rows) {
      const groups = si >= 0 ? [row[si] == null ? '(none)' : String(row[si])] : [null];
      for (const group of groups) {
        for (const y of ys) {
          const key = group == null ? y : ys.length > 1 ? `${group} · ${y}` : group;
          let s = byKey.get(key);
          if (!s) {
            s = { key, name: group == null ? humanize(y) : ys.length > 1 ? `${group} · ${humanize(y)}` : group, column: y,
              values: new Array(sortedXs.length).fill(null), rows: new Array(sortedXs.length).fill(null) };
            byKey.set(key, s);
            series.push(s);
          }
          const at = position.get(JSON.stringify(row[xi]));
          const v = row[columnIndex(result, y)];
          s.values[at] = typeof v === 'number' ? v : null;
          s.rows[at] = row;
        }
      }
    }
    // With many series, the largest first keeps colours stable for what matters.
    if (si >= 0 && series.length > 1) {
      const total = (s) => s.values.reduce((sum, v) => sum + Math.abs(v || 0), 0);
      series.sort((a, b) => total(b) - total(a));
    }
    series.forEach((s, i) => { s.color = PALETTE[i % PALETTE.length]; });
    return { xs: sortedXs, series, ys };
  }

  function lineChart(body, entry) {
    const { panel } = entry;
    const { xs, series } = buildSeries(entry);
    const redraw = () => { body.replaceChildren(); const o = lineChart(body, entry); entry.el.dataset.marks = String(o.marks); };
    legend(body, entry, series, redraw, true);
    const visible = series.filter((s) => !entry.hidden.has(s.key));
    const { width, height } = chartSize(body, panel.width >= 12 ? 300 : 260);
    const values = visible.flatMap((s) => s.values.filter((v) => v != null));
    const spec = specFor(entry, visible[0].column);
    const scale = linearScale(Math.min(0, ...values), Math.max(0, ...values), height < 240 ? 4 : 5);
    const format = tickFormatter(spec, scale.step, Math.max(Math.abs(scale.min), Math.abs(scale.max)));
    const top = 10;
    const bottom = height - 26;
    const left = Math.max(40, yLabelWidth(scale, format));
    const right = width - 14;
    const n = xs.length;
    const x = (i) => (n === 1 ? (left + right) / 2 : left + (i * (right - left)) / (n - 1));
    const y = (v) => bottom - ((v - scale.min) / (scale.max - scale.min)) * (bottom - top);
    const xLabel = (i, long) => categoryLabel(xs[i], panel.x, long);
    const label = `Line chart: ${panel.title}. ${visible.length} series over ${n} ${humanize(panel.x).toLowerCase()} values. Use the arrow keys to read values.`;
    const svg = newSvg(body, width, height, label);
    yAxis(svg, scale, y, left, right, format);
    svgEl('line', { class: 'axis-line', x1: left, x2: right, y1: bottom + 0.5, y2: bottom + 0.5 }, svg);
    // x labels: as many as fit
    const labelWidth = Math.max(...xs.map((_, i) => textWidth(xLabel(i, false)))) + 16;
    const every = Math.max(1, Math.ceil((n * labelWidth) / Math.max(1, right - left)));
    for (let i = 0; i < n; i += 1) {
      if ((n - 1 - i) % every !== 0) continue;
      svgEl('text', { class: 'tick', x: x(i), y: bottom + 17, 'text-anchor': n === 1 ? 'middle' : i === 0 ? 'start' : i === n - 1 ? 'end' : 'middle', text: xLabel(i, false) }, svg);
    }
    let marks = 0;
    for (const s of visible) {
      let d = '';
      let pen = false;
      s.values.forEach((v, i) => {
        if (v == null) { pen = false; return; }
        d += `${pen ? 'L' : 'M'}${x(i).toFixed(1)},${y(v).toFixed(1)}`;
        pen = true;
      });
      if (visible.length === 1 && d) {
        const first = s.values.findIndex((v) => v != null);
        let last = s.values.length - 1;
        while (last > 0 && s.values[last] == null) last -= 1;
        if (s.values.slice(first, last + 1).every((v) => v != null) && last > first) {
          svgEl('path', { d: `${d}L${x(last).toFixed(1)},${y(Math.max(scale.min, 0)).toFixed(1)}L${x(first).toFixed(1)},${y(Math.max(scale.min, 0)).toFixed(1)}Z`,
            fill: s.color, 'fill-opacity': 0.08, stroke: 'none' }, svg);
        }
      }
      svgEl('path', { d, fill: 'none', stroke: s.color, 'stroke-width': visible.length > 6 ? 1.6 : 2.2, 'stroke-linejoin': 'round', 'stroke-linecap': 'round' }, svg);
      if (n <= 24 && visible.length <= 3) {
        s.values.forEach((v, i) => { if (v != null) svgEl('circle', { cx: x(i), cy: y(v), r: 2.6, fill: s.color }, svg); });
      }
      marks += 1;
    }
    // hover: a cursor line and a dot per series at the nearest x
    const cursor = svgEl('g', { visibility: 'hidden' }, svg);
    const rule = svgEl('line', { class: 'cursor-line', y1: top, y2: bottom }, cursor);
    const dots = visible.map((s) => svgEl('circle', { class: 'cursor-dot', r: 4.5, fill: s.color }, cursor));
    svgEl('rect', { class: 'hit', x: left, y: top, width: Math.max(1, right - left), height: Math.max(1, bottom - top) }, svg);
    const specs = new Map(visible.map((s) => [s.key, specFor(entry, s.column)]));
    const points = xs.map((_, i) => {
      let rows = visible.map((s) => ({ s, v: s.values[i] }));
      if (rows.length > 5) rows = rows.filter((r) => r.v != null).sort((a, b) => b.v - a.v).slice(0, 12);
      return {
        x: x(i), y: top + 12, title: xLabel(i, true),
        rows: rows.map(({ s, v }) => [s.color, s.name, formatValue(v, specs.get(s.key))]),
        enter: () => {
          cursor.setAttribute('visibility', 'visible');
          rule.setAttribute('x1', x(i)); rule.setAttribute('x2', x(i));
          visible.forEach((s, k) => {
            const v = s.values[i];
            dots[k].setAttribute('visibility', v == null ? 'hidden' : 'visible');
            if (v != null) { dots[k].setAttribute('cx', x(i)); dots[k].setAttribute('cy', y(v)); }
          });
        },
        leave: () => cursor.setAttribute('visibility', 'hidden'),
      };
    });
    interactive(svg, points, (px) => (n === 1 ? 0 : Math.round(((px - left) / (right - left)) * (n - 1))));
    return { kind: 'svg', marks };
  }

  // ----- bar chart

  function barChart(body, entry) {
    const { panel } = entry;
    const { xs, series, ys } = buildSeries(entry);
    // y = [v, v_ci_low, v_ci_high] draws v with its interval as a whisker.
    const interval = ys.length === 3 && ys[1] === `${ys[0]}_ci_low` && ys[2] === `${ys[0]}_ci_high` && !panel.series;
    const bars = interval ? series.slice(0, 1) : series;
    const redraw = () => { body.replaceChildren(); const o = barChart(body, entry); entry.el.dataset.marks = String(o.marks); };
    if (!interval) legend(body, entry, bars, redraw, false);
    const visible = bars.filter((s) => !entry.hidden.has(s.key));
    const low = interval ? series[1] : null;
    const high = interval ? series[2] : null;
    const catLabels = xs.map((v) => categoryLabel(v, panel.x, false));
    const horizontal = xs.length > 8 || Math.max(...catLabels.map((l) => textWidth(l))) > 110;
    let values = visible.flatMap((s) => s.values.filter((v) => v != null));
    if (interval) values = values.concat(low.values, high.values).filter((v) => v != null);
    const spec = specFor(entry, visible[0].column);
    const { width } = chartSize(body, 260);
    const groups = visible.length;
    const height = horizontal ? Math.max(140, xs.length * Math.max(22, groups * 14 + 10) + 40) : chartSize(body, panel.width >= 12 ? 300 : 260).height;
    const scale = linearScale(Math.min(0, ...values), Math.max(0, ...values), horizontal ? Math.max(3, Math.floor(width / 120)) : 5);
    const format = tickFormatter(spec, scale.step, Math.max(Math.abs(scale.min), Math.abs(scale.max)));
    const svg = newSvg(body, width, height, `Bar chart: ${panel.title}. ${xs.length} categories${groups > 1 ? `, ${groups} series` : ''}. Use the arrow keys to read values.`);
    const specs = new Map(series.map((s) => [s.key, specFor(entry, s.column)]));
    const allRows = (i) => {
      if (interval) {
        return [[bars[0].color, humanize(ys[0]), formatValue(bars[0].values[i], specs.get(bars[0].key))],
          [null, '95% interval', `${formatValue(low.values[i], specs.get(low.key))} to ${formatValue(high.values[i], specs.get(high.key))}`]];
      }
      return visible.map((s) => [s.color, s.name, formatValue(s.values[i], specs.get(s.key))]);
    };
    const shapes = xs.map(() => []);
    const points = [];
    let marks = 0;
    const showValues = !interval && xs.length * groups <= 16;
    if (!horizontal) {
      const top = showValues ? 22 : 12;
      const bottom = height - 28;
      const left = Math.max(40, yLabelWidth(scale, format));
      const right = width - 10;
      const band = (right - left) / xs.length;
      const inner = Math.min(band * 0.72, groups * 64);
      const barW = inner / groups;
      const y = (v) => bottom - ((v - scale.min) / (scale.max - scale.min)) * (bottom - top);
      yAxis(svg, scale, y, left, right, format);
      svgEl('line', { class: 'axis-line', x1: left, x2: right, y1: Math.round(y(Math.max(scale.min, 0))) + 0.5, y2: Math.round(y(Math.max(scale.min, 0))) + 0.5 }, svg);
      xs.forEach((_, i) => {
        const cx = left + band * (i + 0.5);
        svgEl('text', { class: 'tick', x: cx, y: bottom + 18, 'text-anchor': 'middle', text: truncate(catLabels[i], band - 6) }, svg);
        if (visible.every((s) => s.values[i] == null)) {
          svgEl('text', { class: 'tick', x: cx, y: y(Math.max(scale.min, 0)) - 8, 'text-anchor': 'middle', text: 'no value' }, svg);
        }
        visible.forEach((s, k) => {
          const v = s.values[i];
          if (v == null) return;
          const x0 = cx - inner / 2 + k * barW + (groups > 1 ? 1 : 0);
          const y0 = y(Math.max(0, v));
          const y1 = y(Math.min(0, v));
          const rect = svgEl('rect', { class: 'bar', x: x0, y: y0, width: Math.max(1, barW - (groups > 1 ? 2 : 0)), height: Math.max(1, y1 - y0), rx: 3, fill: s.color }, svg);
          shapes[i].push(rect);
          marks += 1;
          if (showValues && barW >= 26) {
            svgEl('text', { class: 'value-label', x: x0 + barW / 2, y: v >= 0 ? y0 - 5 : y1 + 13, 'text-anchor': 'middle', text: formatValue(v, specs.get(s.key)) }, svg);
          }
        });
        if (interval && low.values[i] != null && high.values[i] != null) {
          const yl = y(low.values[i]);
          const yh = y(high.values[i]);
          svgEl('line', { class: 'whisker', x1: cx, x2: cx, y1: yl, y2: yh }, svg);
          svgEl('line', { class: 'whisker', x1: cx - 8, x2: cx + 8, y1: yl, y2: yl }, svg);
          svgEl('line', { class: 'whisker', x1: cx - 8, x2: cx + 8, y1: yh, y2: yh }, svg);
          if (bars[0].values[i] != null) {
            svgEl('text', { class: 'value-label', x: cx + inner / 2 + 6, y: y(bars[0].values[i]), 'dominant-baseline': 'middle', text: formatValue(bars[0].values[i], specs.get(bars[0].key)) }, svg);
          }
        }
        points.push({ x: cx, y: top + 10, title: categoryLabel(xs[i], panel.x, true), rows: allRows(i) });
      });
      svgEl('rect', { class: 'hit', x: left, y: top, width: Math.max(1, right - left), height: Math.max(1, bottom - top) }, svg);
      interactive(svg, withHighlight(points, shapes), (px) => Math.floor((px - left) / band));
    } else {
      const top = 8;
      const bottom = height - 24;
      const labelW = Math.min(Math.max(...catLabels.map((l) => textWidth(l))) + 14, width * 0.34);
      const left = labelW + 6;
      const right = width - (showValues ? 60 : 14);
      const band = (bottom - top) / xs.length;
      const inner = Math.min(band * 0.74, groups * 22);
      const barH = inner / groups;
      const xScale = (v) => left + ((v - scale.min) / (scale.max - scale.min)) * (right - left);
      for (const tick of scale.ticks) {
        const px = Math.round(xScale(tick)) + 0.5;
        svgEl('line', { class: tick === 0 && scale.min < 0 ? 'zero-line' : 'grid-line', x1: px, x2: px, y1: top, y2: bottom }, svg);
        svgEl('text', { class: 'tick', x: px, y: bottom + 16, 'text-anchor': 'middle', text: format(tick) }, svg);
      }
      xs.forEach((_, i) => {
        const cy = top + band * (i + 0.5);
        svgEl('text', { class: 'tick', x: labelW, y: cy, 'text-anchor': 'end', 'dominant-baseline': 'middle', text: truncate(catLabels[i], labelW - 8) }, svg);
        visible.forEach((s, k) => {
          const v = s.values[i];
          if (v == null) return;
          const y0 = cy - inner / 2 + k * barH;
          const x0 = xScale(Math.min(0, v));
          const x1 = xScale(Math.max(0, v));
          shapes[i].push(svgEl('rect', { class: 'bar', x: x0, y: y0, width: Math.max(1, x1 - x0), height: Math.max(1, barH - 1), rx: 3, fill: s.color }, svg));
          marks += 1;
          if (showValues) svgEl('text', { class: 'value-label', x: x1 + 5, y: y0 + barH / 2, 'dominant-baseline': 'middle', text: formatValue(v, specs.get(s.key)) }, svg);
        });
        if (interval && low.values[i] != null && high.values[i] != null) {
          const xl = xScale(low.values[i]);
          const xh = xScale(high.values[i]);
          svgEl('line', { class: 'whisker', x1: xl, x2: xh, y1: cy, y2: cy }, svg);
          svgEl('line', { class: 'whisker', x1: xl, x2: xl, y1: cy - 6, y2: cy + 6 }, svg);
          svgEl('line', { class: 'whisker', x1: xh, x2: xh, y1: cy - 6, y2: cy + 6 }, svg);
        }
        points.push({ x: right, y: cy, title: categoryLabel(xs[i], panel.x, true), rows: allRows(i) });
      });
      svgEl('rect', { class: 'hit', x: 0, y: top, width, height: Math.max(1, bottom - top) }, svg);
      interactive(svg, withHighlight(points, shapes), (_px, py) => Math.floor((py - top) / band));
    }
    return { kind: 'svg', marks };
  }

  /** Hovering a category dims the other categories' bars. */
  function withHighlight(points, shapes) {
    return points.map((point, i) => ({
      ...point,
      enter: () => shapes.forEach((group, k) => group.forEach((shape) => shape.classList.toggle('dimmed', k !== i))),
      leave: () => shapes.forEach((group) => group.forEach((shape) => shape.classList.remove('dimmed'))),
    }));
  }

  // ----- funnel

  function funnelChart(body, entry) {
    const { panel, result } = entry;
    const xi = columnIndex(result, panel.x);
    const vi = columnIndex(result, panel.y[0]);
    if (xi < 0 || vi < 0) throw new Error('funnel needs x and y');
    const minI = columnIndex(result, 'min_impressions');
    const shareI = columnIndex(result, 'share_of_published');
    const promoI = columnIndex(result, 'promotion_rate');
    const rows = [...result.rows].sort((a, b) => (a[xi] < b[xi] ? -1 : a[xi] > b[xi] ? 1 : 0));
    const { width } = chartSize(body, 260);
    const stepH = width < 480 ? 38 : 42;
    const gap = 24;
    const height = rows.length * stepH + (rows.length - 1) * gap + 8;
    const labelW = Math.min(190, width * 0.34);
    const left = labelW + 8;
    const right = width - 8;
    const mid = (left + right) / 2;
    const full = right - left;
    const max = Math.max(1, ...rows.map((r) => r[vi] || 0));
    const svg = newSvg(body, width, height, `Funnel: ${panel.title}. ${rows.length} steps. Use the arrow keys to read values.`);
    const vSpec = specFor(entry, panel.y[0]);
    const points = [];
    const shapes = rows.map(() => []);
    const widthOf = (v) => Math.max(3, (Math.max(0, v || 0) / max) * full);
    rows.forEach((row, i) => {
      const top = 4 + i * (stepH + gap);
      const w = widthOf(row[vi]);
      const tier = row[xi];
      const threshold = minI >= 0 ? row[minI] : null;
      const name = typeof tier === 'number' ? (tier === 0 && threshold === 0 ? 'All published' : `Tier ${tier}`) : String(tier);
      const sub = threshold != null && threshold > 0 ? `≥ ${formatValue(threshold, specFor(entry, 'min_impressions'))} impressions` : threshold === 0 ? 'every new note' : null;
      if (i > 0) {
        const prevW = widthOf(rows[i - 1][vi]);
        const y0 = top - gap;
        svgEl('path', { class: 'funnel-link', d: `M${mid - prevW / 2},${y0}L${mid + prevW / 2},${y0}L${mid + w / 2},${top}L${mid - w / 2},${top}Z` }, svg);
        const rate = promoI >= 0 ? row[promoI] : null;
        if (rate != null) {
          svgEl('text', { class: 'funnel-rate', x: mid, y: y0 + gap / 2, 'text-anchor': 'middle', 'dominant-baseline': 'middle',
            text: `↓ ${formatValue(rate, specFor(entry, 'promotion_rate'))} moved up` }, svg);
        }
      }
      const rect = svgEl('rect', { class: 'bar', x: mid - w / 2, y: top, width: w, height: stepH, rx: 6, fill: PALETTE[0], 'fill-opacity': 1 - (i / Math.max(1, rows.length)) * 0.45 }, svg);
      shapes[i].push(rect);
      svgEl('text', { class: 'funnel-label', x: 0, y: top + (sub ? stepH / 2 - 7 : stepH / 2), 'dominant-baseline': 'middle', text: truncate(name, labelW) }, svg);
      if (sub) svgEl('text', { class: 'funnel-sub', x: 0, y: top + stepH / 2 + 9, 'dominant-baseline': 'middle', text: truncate(sub, labelW) }, svg);
      const valueText = formatValue(row[vi], vSpec) + (shareI >= 0 && row[shareI] != null && i > 0 ? ` · ${formatValue(row[shareI], specFor(entry, 'share_of_published'))}` : '');
      const inside = textWidth(valueText, 13, 700) + 16 < w;
      const label = svgEl('text', { class: 'funnel-value', x: inside ? mid : mid + w / 2 + 8, y: top + stepH / 2, 'text-anchor': inside ? 'middle' : 'start', 'dominant-baseline': 'middle', text: valueText }, svg);
      if (inside) label.setAttribute('fill', '#ffffff');
      const tipRows = result.columns.map((c, k) => (k === xi ? null : [null, humanize(c.name), formatValue(row[k], specFor(entry, c.name))])).filter(Boolean);
      points.push({ x: mid, y: top + stepH / 2, title: sub ? `${name} (${sub})` : name, rows: tipRows });
    });
    svgEl('rect', { class: 'hit', x: 0, y: 0, width, height }, svg);
    interactive(svg, withHighlight(points, shapes), (_px, py) => Math.min(rows.length - 1, Math.floor((py - 4 + gap / 2) / (stepH + gap))));
    return { kind: 'svg', marks: rows.length };
  }

  // ----- heatmap (weekday x hour, cohort triangle)

  function heatmapChart(body, entry) {
    const { panel, result } = entry;
    const xi = columnIndex(result, panel.x);
    const vi = columnIndex(result, panel.y[0]);
    const ri = panel.series ? columnIndex(result, panel.series) : -1;
    if (xi < 0 || vi < 0) throw new Error('heatmap needs x and y');
    const sortValues = (values) => values.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    const xs = sortValues([...new Set(result.rows.map((r) => r[xi]))]);
    const rs = ri >= 0 ? sortValues([...new Set(result.rows.map((r) => r[ri]))]) : [null];
    const cells = new Map();
    for (const row of result.rows) cells.set(`${ri >= 0 ? row[ri] : null}|${row[xi]}`, row);
    const vSpec = specFor(entry, panel.y[0]);
    const values = result.rows.map((r) => r[vi]).filter((v) => typeof v === 'number');
    let lo = Math.min(0, ...values);
    let hi = Math.max(...values);
    // Retention: week 0 is 100% by definition; colour the later weeks by their own range.
    const firstColumn = result.rows.filter((r) => r[xi] === xs[0]).map((r) => r[vi]);
    if (xs.length > 1 && vSpec.pattern && vSpec.pattern.percent && firstColumn.length && firstColumn.every((v) => v === 1)) {
      const rest = result.rows.filter((r) => r[xi] !== xs[0]).map((r) => r[vi]).filter((v) => typeof v === 'number');
      if (rest.length) hi = Math.max(...rest);
    }
    if (hi <= lo) hi = lo + 1;
    const rowLabel = (r) => (r == null ? '' : panel.series === 'cohort_week' && isDay(r) ? `Week of ${dayShort.format(dayDate(r))}` : categoryLabel(r, panel.series, false));
    const { width } = chartSize(body, 260);
    const roomy = width / Math.max(1, xs.length) >= 70;
    const colLabel = (x) => (panel.x === 'week_offset' ? (roomy ? `Week ${x}` : `+${x}w`) : categoryLabel(x, panel.x, false));
    const labelW = Math.min(Math.max(...rs.map((r) => textWidth(rowLabel(r)))) + 12, width * 0.3);
    const left = labelW + 4;
    const right = width - 4;
    const cellW = (right - left) / xs.length;
    const cellH = Math.max(20, Math.min(xs.length > 12 ? 34 : rs.length <= 8 ? 46 : 38, cellW * (xs.length > 12 ? 0.9 : 0.62)));
    const top = 22;
    const height = top + rs.length * cellH + 22;
    const svg = newSvg(body, width, height, `Heatmap: ${panel.title}. ${rs.length} rows by ${xs.length} columns. Use the arrow keys to read values.`);
    const every = Math.max(1, Math.ceil((textWidth(colLabel(xs[xs.length - 1])) + 10) / cellW));
    xs.forEach((x, c) => {
      if (c % every === 0) svgEl('text', { class: 'tick', x: left + cellW * (c + 0.5), y: top - 8, 'text-anchor': 'middle', text: colLabel(x) }, svg);
    });
    svgEl('text', { class: 'axis-title', x: left + (right - left) / 2, y: height - 6, 'text-anchor': 'middle', text: humanize(panel.x) }, svg);
    const showText = cellW >= 34 && cellH >= 18;
    const points = [];
    let marks = 0;
    rs.forEach((r, rIndex) => {
      const y = top + rIndex * cellH;
      svgEl('text', { class: 'tick', x: labelW, y: y + cellH / 2, 'text-anchor': 'end', 'dominant-baseline': 'middle', text: truncate(rowLabel(r), labelW - 4) }, svg);
      xs.forEach((x, c) => {
        const row = cells.get(`${r}|${x}`);
        const cx = left + c * cellW;
        const point = { x: cx + cellW / 2, y: y + cellH / 2, title: '', rows: [] };
        points.push(point);
        if (!row) { point.title = `${rowLabel(r)} · ${colLabel(x)}`; point.rows = [[null, 'No value', '—']]; return; }
        const v = row[vi];
        const t = typeof v === 'number' ? (v - lo) / (hi - lo) : 0;
        const color = typeof v === 'number' ? rampColor(t) : 'transparent';
        const rect = svgEl('rect', { class: 'cell', x: cx, y, width: Math.max(1, cellW), height: cellH, rx: 3, fill: color }, svg);
        marks += 1;
        if (showText && typeof v === 'number' && !(v === 0 && vSpec.unit === 'count')) {
          const short = vSpec.pattern && vSpec.pattern.percent ? { ...vSpec, pattern: { ...vSpec.pattern, decimals: cellW >= 48 ? vSpec.pattern.decimals : 0 } } : vSpec;
          svgEl('text', { class: 'cell-label', x: cx + cellW / 2, y: y + cellH / 2, 'text-anchor': 'middle', 'dominant-baseline': 'central',
            fill: (t > 0.5) !== Boolean(darkScheme && darkScheme.matches) ? '#ffffff' : '#0f172a', text: formatValue(v, short) }, svg);
        }
        const titleRow = ri >= 0 ? (panel.series === 'cohort_week' && isDay(r) ? `Cohort week of ${dayMedium.format(dayDate(r))}` : categoryLabel(r, panel.series, true)) : '';
        const titleCol = panel.x === 'week_offset' ? `${x} ${x === 1 ? 'week' : 'weeks'} later` : categoryLabel(x, panel.x, true);
        point.title = [titleRow, titleCol].filter(Boolean).join(' · ');
        point.rows = result.columns.map((col, k) => (k === xi || k === ri ? null : [null, humanize(col.name), formatValue(row[k], specFor(entry, col.name))])).filter(Boolean);
        point.enter = () => rect.classList.add('active');
        point.leave = () => rect.classList.remove('active');
      });
    });
    svgEl('rect', { class: 'hit', x: left, y: top, width: Math.max(1, right - left), height: rs.length * cellH }, svg);
    interactive(svg, points, (px, py) => {
      const c = Math.floor((px - left) / cellW);
      const r = Math.floor((py - top) / cellH);
      if (c < 0 || c >= xs.length || r < 0 || r >= rs.length) return -1;
      return r * xs.length + c;
    }, xs.length);
    const scaleBar = h('span', { class: 'ramp', 'aria-hidden': 'true' });
    scaleBar.style.background = `linear-gradient(to right, ${ramp().join(', ')})`;
    body.append(h('div', { class: 'scale-legend' }, h('span', { text: formatValue(lo, vSpec) }), scaleBar,
      h('span', { text: `${formatValue(hi, vSpec)}${hi < Math.max(...values) ? ' or more' : ''}` }),
      h('span', { text: `· ${humanize(panel.y[0])}` })));
    return { kind: 'svg', marks };
  }

  // ----- table

  function tableView(body, entry) {
    const { panel, result } = entry;
    const columns = result.columns;
    const specs = columns.map((c) => columnSpec(panel, c.name, c.type));
    const numeric = columns.map((c) => c.type === 'int' || c.type === 'float');
    const wrap = h('div', { class: 'table-wrap', tabindex: 0, role: 'region', 'aria-label': `${panel.title} (table)` });
    const table = h('table', { class: 'data' });
    const headRow = h('tr');
    const tbody = h('tbody');
    const fill = () => {
      let rows = result.rows;
      if (entry.sort) {
        const { index, direction } = entry.sort;
        const sign = direction === 'ascending' ? 1 : -1;
        rows = [...rows].sort((a, b) => {
          const x = a[index];
          const y = b[index];
          if (x == null && y == null) return 0;
          if (x == null) return 1;
          if (y == null) return -1;
          if (typeof x === 'number' && typeof y === 'number') return (x - y) * sign;
          return String(x).localeCompare(String(y), undefined, { numeric: true }) * sign;
        });
      }
      tbody.replaceChildren(...rows.map((row) => h('tr', null, row.map((value, k) => cell(value, k)))));
    };
    const cell = (value, k) => {
      const name = columns[k].name;
      const classes = [];
      if (numeric[k]) classes.push('num');
      if (value == null) classes.push('null');
      if (/(^|_)id$/.test(name)) classes.push('id');
      else if (typeof value === 'string' && value.length > 24) classes.push('text');
      const td = h('td', { class: classes.join(' ') || null });
      if (Array.isArray(value)) {
        for (const item of value) td.append(h('span', { class: 'tag', text: formatValue(item, specs[k]) }));
      } else if (typeof value === 'number' && specs[k].pattern && specs[k].pattern.sign) {
        td.append(h('span', { class: value > 0 ? 'pos' : value < 0 ? 'neg' : null, text: formatValue(value, specs[k]) }));
      } else {
        td.textContent = formatValue(value, specs[k]);
      }
      if (classes.includes('text')) td.title = String(value);
      return td;
    };
    columns.forEach((column, k) => {
      const sorted = entry.sort && entry.sort.index === k ? entry.sort.direction : null;
      const th = h('th', { scope: 'col', class: numeric[k] ? 'num' : null, 'aria-sort': sorted || 'none' });
      const button = h('button', { type: 'button', title: `Sort by ${humanize(column.name)}` },
        h('span', { text: humanize(column.name) }), h('span', { class: 'sort', 'aria-hidden': 'true', text: sorted === 'ascending' ? '▲' : sorted === 'descending' ? '▼' : '↕' }));
      button.addEventListener('click', () => {
        const current = entry.sort && entry.sort.index === k ? entry.sort.direction : null;
        // Numbers sort largest first on the first click; text A to Z.
        const direction = current ? (current === 'ascending' ? 'descending' : 'ascending') : numeric[k] ? 'descending' : 'ascending';
        entry.sort = { index: k, direction };
        for (const other of headRow.children) {
          other.setAttribute('aria-sort', 'none');
          other.querySelector('.sort').textContent = '↕';
        }
        th.setAttribute('aria-sort', direction);
        th.querySelector('.sort').textContent = direction === 'ascending' ? '▲' : '▼';
        fill();
        announce(`Sorted by ${humanize(column.name)}, ${direction}.`);
      });
      th.append(button);
      headRow.append(th);
    });
    table.append(h('thead', null, headRow), tbody);
    fill();
    wrap.append(table);
    body.append(wrap);
    if (result.meta && result.meta.truncated) {
      body.append(h('p', { class: 'table-note', text: `Showing the first ${result.rows.length} rows; the CSV export has the same rows.` }));
    }
    return { kind: 'table', marks: result.rows.length };
  }

  // ---------------------------------------------------------------------------------------------------
  // Wiring

  function redrawCharts() {
    const changed = [];
    for (const entry of state.entries.values()) {
      if (!entry.result || entry.el.dataset.rendered !== 'svg') continue;
      const width = entry.body.clientWidth;
      if (Math.abs(width - entry.width) >= 2) changed.push([entry, width]);
    }
    for (const [entry, width] of changed) {
      entry.width = width;
      renderPanel(entry);
    }
  }

  // ---------------------------------------------------------------------------------------------------
  // Alerts on the dashboard's metrics (GET /v1/alerts): which rules watch them and what is firing.

  async function renderDashboardAlerts(id) {
    const box = $('dash-alerts');
    box.hidden = true;
    box.replaceChildren();
    if (EMBED || !state.definition) return;
    let listing;
    try {
      if (!state.alerts || Date.now() - state.alerts.at > 60000) state.alerts = { at: Date.now(), request: apiJSON('/v1/alerts') };
      listing = await state.alerts.request;
    } catch (_) {
      state.alerts = null;
      return; // alerts are extra: a dashboard without them still works
    }
    if (state.dashboardId !== id || !state.definition) return;
    const metrics = new Set(state.definition.panels.map((p) => p.metric));
    const rules = (listing.alerts || []).filter((a) => metrics.has(a.rule.metric));
    if (!rules.length) return;
    const items = rules.map((a) => {
      const firing = (a.instances || []).filter((i) => i.state === 'firing');
      const pending = (a.instances || []).filter((i) => i.state === 'pending');
      const status = a.error ? 'error' : firing.length ? 'firing' : pending.length ? 'pending' : 'ok';
      const keys = firing.map((i) => i.key || 'all rows').slice(0, 8);
      const more = firing.length > keys.length ? ` and ${firing.length - keys.length} more` : '';
      const c = a.rule.condition;
      return h('li', { 'data-alert': a.id, 'data-alert-state': status },
        h('span', { class: `alert-state ${status}`, text: status === 'ok' ? 'quiet' : status }),
        h('strong', { text: a.rule.title || a.id }),
        h('span', { class: 'alert-keys', text: a.error ? `evaluation failed: ${a.error}`
          : keys.length ? `${keys.join(', ')}${more}` : `${c.column} ${c.op} ${c.value}${c.key ? ` per ${c.key}` : ''}` }));
    });
    const firingRules = rules.filter((a) => (a.instances || []).some((i) => i.state === 'firing'));
    box.append(h('h2', { text: firingRules.length ? `Alerts: ${firingRules.length} of ${rules.length} firing` : `Alerts: ${rules.length} watching, none firing` }),
      h('ul', {}, items));
    box.hidden = false;
    // Panels whose metric has a firing alert say so in their header.
    for (const entry of state.entries.values()) {
      const hot = firingRules.filter((a) => a.rule.metric === entry.panel.metric);
      if (!hot.length) continue;
      const actions = entry.el.querySelector('.panel-actions');
      if (actions && !actions.querySelector('.panel-alert')) actions.prepend(h('span', { class: 'panel-alert', title: hot.map((a) => a.rule.title || a.id).join(', '), text: 'alert firing' }));
    }
  }

  // ---------------------------------------------------------------------------------------------------
  // Explore: the schema the tenant's role may read (GET /v1/schema) and scratch queries (POST /v1/query),
  // for analyst and admin keys. The server checks the role; the page only hides the link for others.

  function canExplore() {
    return !EMBED && Boolean(state.tenant && (state.tenant.role === 'analyst' || state.tenant.role === 'admin'));
  }

  function showExploreBanner(title, message, detail, code) {
    const banner = $('explore-banner');
    banner.replaceChildren(h('strong', { text: title }), message);
    if (detail) banner.append(h('div', { class: 'detail', text: detail }));
    banner.dataset.error = code || 'error';
    banner.classList.add('error');
    banner.hidden = false;
  }

  async function openExplore(sql) {
    tip.hide();
    state.mode = 'explore';
    if (state.controller) state.controller.abort();
    showScreen('explore');
    document.title = 'Explore · Hotpot';
    $('explore-banner').hidden = true;
    delete $('explore-banner').dataset.error;
    if (!canExplore()) {
      $('schema-tree').replaceChildren();
      $('query-form').hidden = true;
      showExploreBanner('Explore needs an analyst key.', 'This key can read dashboards only. Ask your Hotpot admin for an analyst key to browse the schema and try SQL.', null, 'forbidden');
      setState('ready');
      return;
    }
    $('query-form').hidden = false;
    if (typeof sql === 'string' && sql) $('explore-sql').value = sql;
    renderParams();
    writeHash();
    setState('loading');
    if (!state.schema) {
      try {
        state.schema = await apiJSON('/v1/schema');
      } catch (error) {
        showExploreBanner('The schema could not be listed.', error.message, error.requestId ? `Request ${error.requestId}` : null, error.code);
        setState('error');
        return;
      }
    }
    renderSchema();
    if ($('explore-sql').value.trim() && typeof sql === 'string' && sql) { await runQuery(); return; }
    setState('ready');
  }

  function formatRows(n) {
    if (n == null || n <= 0) return ''; // 0: empty or not analyzed yet
    return `~${numberFormat({ notation: n >= 10000 ? 'compact' : 'standard', maximumFractionDigits: 1 }).format(n)} rows`;
  }

  function renderSchema() {
    const tree = $('schema-tree');
    tree.replaceChildren();
    const insert = (text) => {
      const box = $('explore-sql');
      const at = box.selectionStart != null ? box.selectionStart : box.value.length;
      box.value = box.value.slice(0, at) + text + box.value.slice(box.selectionEnd != null ? box.selectionEnd : at);
      box.focus();
      box.selectionStart = box.selectionEnd = at + text.length;
      renderParams();
    };
    const tables = (state.schema && state.schema.tables) || [];
    const groups = [['Rollups', tables.filter((t) => t.rollup)], ['Tables and views', tables.filter((t) => !t.rollup)]];
    for (const [title, list] of groups) {
      if (!list.length) continue;
      tree.append(h('h2', { text: title }));
      for (const table of list) {
        const name = h('button', { type: 'button', class: 'insert', title: `Insert ${table.name}`, onclick: (e) => { e.preventDefault(); insert(table.name); } }, h('code', { text: table.name }));
        const details = h('details', { 'data-table': table.name },
          h('summary', {}, name, h('span', { class: 'rows', text: formatRows(table.estimated_rows) })));
        if (table.grain) details.append(h('p', { class: 'about', text: `Grain: ${table.grain}.` }));
        if (table.description) details.append(h('p', { class: 'about', text: table.description }));
        details.append(h('ul', {}, (table.columns || []).map((column) => h('li', { title: column.description || '' },
          h('button', { type: 'button', class: 'insert', text: column.name, onclick: () => insert(column.name) }), h('span', { class: 'type', text: column.type })))));
        tree.append(details);
      }
    }
    const functions = (state.schema && state.schema.functions) || [];
    if (functions.length) {
      tree.append(h('h2', { text: 'Functions' }));
      const list = h('ul');
      for (const fn of functions) {
        list.append(h('li', { title: fn.description || `${fn.name}(${fn.arguments}) returns ${fn.result}` },
          h('button', { type: 'button', class: 'insert', text: `${fn.name}(…)`, onclick: () => insert(`hotpot_lib.${fn.name}(`) }), h('span', { class: 'type', text: fn.result })));
      }
      tree.append(list);
    }
  }

  /** The `:name` placeholders of the SQL (outside strings and comments), each with a type and a value. */
  function placeholders(sql) {
    const stripped = sql.replace(/--[^\n]*/g, ' ').replace(/\/\*[\s\S]*?\*\//g, ' ').replace(/'(?:[^']|'')*'/g, "''");
    const names = [];
    for (const match of stripped.matchAll(/(^|[^:]):([A-Za-z_][A-Za-z0-9_]*)/g)) if (!names.includes(match[2])) names.push(match[2]);
    return names;
  }

  function guessType(name) {
    if (/^(from|to|day|since|until|start|end)$|_(day|date)$/.test(name)) return 'date';
    if (/(^|_)(at|time)$/.test(name)) return 'timestamp';
    if (/^(limit|top|min_|max_|n$)|_(count|days|threshold)$/.test(name)) return 'int';
    if (/_ids$/.test(name)) return 'text[]';
    return 'text';
  }

  const PARAM_TYPES = ['date', 'timestamp', 'int', 'float', 'text', 'bool', 'text[]', 'int[]'];

  function renderParams() {
    const box = $('query-params');
    const names = placeholders($('explore-sql').value);
    for (const name of names) if (!state.params[name]) state.params[name] = { type: guessType(name), value: name === 'from' ? '-30d' : name === 'to' ? 'today' : '' };
    const shown = [...box.querySelectorAll('[data-param]')].map((el) => el.dataset.param);
    if (shown.join(',') === names.join(',')) return;
    box.replaceChildren(...names.map((name) => {
      const param = state.params[name];
      const type = h('select', { 'aria-label': `Type of ${name}`, onchange: (e) => { param.type = e.target.value; } },
        PARAM_TYPES.map((t) => h('option', { value: t, text: t })));
      type.value = param.type;
      const value = h('input', { type: 'text', id: `p-${name}`, value: param.value, 'aria-label': `Value of ${name}`, placeholder: 'value',
        spellcheck: 'false', autocomplete: 'off', oninput: (e) => { param.value = e.target.value; } });
      return h('div', { class: 'param', 'data-param': name }, h('code', { text: `:${name}` }), type, value);
    }));
  }

  async function runQuery() {
    const sql = $('explore-sql').value.trim();
    const out = $('query-result');
    if (!sql) { $('explore-sql').focus(); return; }
    renderParams();
    const params = {};
    for (const name of placeholders(sql)) {
      const param = state.params[name];
      const list = param.type.endsWith('[]');
      params[name] = { type: param.type, value: list ? param.value.split(',').map((v) => v.trim()).filter(Boolean) : param.value };
    }
    writeHash();
    $('explore-banner').hidden = true;
    delete $('explore-banner').dataset.error;
    for (const input of document.querySelectorAll('#query-params [aria-invalid]')) input.removeAttribute('aria-invalid');
    $('query-run').disabled = true;
    setState('loading');
    out.classList.add('is-loading');
    let answer;
    try {
      answer = await apiJSON('/v1/query', { method: 'POST', body: { sql, params, row_cap: 1000 } });
    } catch (error) {
      out.classList.remove('is-loading');
      $('query-run').disabled = false;
      const parameter = error.details && error.details.parameter;
      if (parameter && document.getElementById(`p-${parameter}`)) document.getElementById(`p-${parameter}`).setAttribute('aria-invalid', 'true');
      showExploreBanner(error.status === 400 ? 'The query was not run.' : 'The query failed.', error.message,
        error.requestId ? `Request ${error.requestId}` : null, error.code);
      out.replaceChildren();
      setState('error');
      return;
    }
    out.classList.remove('is-loading');
    $('query-run').disabled = false;
    const meta = answer.meta || {};
    const plan = answer.plan;
    const parts = [`${numberFormat({}).format(meta.row_count || 0)} ${meta.row_count === 1 ? 'row' : 'rows'}${meta.truncated ? ' (truncated)' : ''}`,
      `${numberFormat({ maximumFractionDigits: 1 }).format(meta.elapsed_ms || 0)} ms`];
    if (plan) parts.push(`planner: cost ${numberFormat({ maximumFractionDigits: 0 }).format(plan.total_cost)}, ${formatRows(plan.estimated_rows)}`);
    if (meta.data_version != null) parts.push(`data v${meta.data_version}`);
    const children = [h('p', { class: 'query-meta', 'data-query-meta': '', text: parts.join(' · ') })];
    if (answer.advice && answer.advice.length) children.push(h('ul', { class: 'advice', 'data-advice': String(answer.advice.length) }, answer.advice.map((text) => h('li', { text }))));
    if (plan && plan.reads && plan.reads.length) {
      children.push(h('p', { class: 'reads', text: `Reads: ${plan.reads.map((r) => `${r.relation} (${formatRows(r.estimated_rows)})`).join(', ')}` }));
    }
    const body = h('div', { class: 'panel-body' });
    children.push(h('article', { class: 'panel span-12', 'data-panel-id': 'query-result' }, body));
    out.replaceChildren(...children);
    const entry = { panel: { id: 'query-result', title: 'Query result', units: {}, format: {} }, result: { columns: answer.columns || [], rows: answer.rows || [] }, sort: null, hidden: new Set() };
    if (entry.result.columns.length) tableView(body, entry); else body.append(h('div', { class: 'empty', text: 'The query returned no columns.' }));
    announce(`The query returned ${meta.row_count || 0} rows.`);
    setState('ready');
  }

  function init() {
    if (EMBED) {
      window.addEventListener('hashchange', () => { if (readEmbedToken()) start(); });
      initCommon();
      return;
    }
    $('signin-form').addEventListener('submit', (event) => {
      event.preventDefault();
      const key = $('key-input').value.trim();
      if (!key) {
        showSignin({ code: 'missing', title: 'Paste an API key first.', message: 'Hotpot keys look like hp_… and come from your Hotpot admin.' });
        return;
      }
      sessionStorage.setItem(KEY_STORAGE, key);
      state.key = key;
      const hash = readHash();
      openSession(hash.dashboard || state.dashboardId, hash.dashboard ? hash.filters : {});
    });
    $('sign-out').addEventListener('click', () => {
      forgetKey();
      state.dashboardId = null;
      state.explicit = {};
      window.history.replaceState(null, '', window.location.pathname + window.location.search);
      showSignin(null);
    });
    $('dashboard-select').addEventListener('change', (event) => {
      selectDashboard(event.target.value, {}, null);
    });
    $('explore-back').addEventListener('click', (event) => {
      event.preventDefault();
      selectDashboard(state.dashboardId || (state.dashboards[0] || {}).id, {}, null);
    });
    $('query-form').addEventListener('submit', (event) => { event.preventDefault(); runQuery(); });
    $('explore-sql').addEventListener('keydown', (event) => {
      if (event.key === 'Enter' && (event.ctrlKey || event.metaKey)) { event.preventDefault(); runQuery(); }
    });
    $('explore-sql').addEventListener('input', () => renderParams());
    window.addEventListener('hashchange', () => {
      const hash = readHash();
      if (hash.key) { start(); return; }
      if (state.key && hash.explore) { if (state.mode !== 'explore') openExplore(hash.explore.sql); return; }
      if (state.key && state.mode === 'explore' && !hash.dashboard) { selectDashboard(state.dashboardId || (state.dashboards[0] || {}).id, {}, null); return; }
      if (!state.key || !hash.dashboard) return;
      const sameFilters = JSON.stringify(hash.filters) === JSON.stringify(state.explicit);
      if (hash.dashboard !== state.dashboardId) selectDashboard(hash.dashboard, hash.filters, null);
      else if (!sameFilters) { state.explicit = hash.filters; loadData(null); }
    });
    initCommon();
  }

  function initCommon() {
    let resizeTimer = 0;
    const observer = new ResizeObserver(() => {
      window.clearTimeout(resizeTimer);
      resizeTimer = window.setTimeout(redrawCharts, 60);
    });
    observer.observe($('panels'));
    window.addEventListener('scroll', () => tip.hide(), { passive: true });
    if (darkScheme && darkScheme.addEventListener) {
      darkScheme.addEventListener('change', () => { for (const entry of state.entries.values()) if (entry.result) renderPanel(entry); });
    }
    start().catch((error) => {
      console.error(error);
      showScreen('dashboard');
      showBanner('The viewer failed to start.', String(error && error.message ? error.message : error), null, 'client');
      setState('error');
    });
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', init); else init();
})();
