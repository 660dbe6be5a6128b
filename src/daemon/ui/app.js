// Gough status page: plain JavaScript, no build step, no external resources.
// Reads /api/v1/status, follows /events (server-sent events) and falls back to polling.
(() => {
  const LIFECYCLES = ['unknown', 'new', 'commissioning', 'ready', 'allocated', 'deploying', 'deployed', 'releasing', 'failed', 'broken'];
  const POLL_MS = 5000;
  const MAX_EVENTS = 50;

  const $ = (id) => document.getElementById(id);
  let snapshot = null;
  let refreshTimer = null;
  let pollTimer = null;
  let source = null;
  let sseFailures = 0;

  // ---------------------------------------------------------------------------------------------
  // helpers

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null || v === false) continue;
      if (k === 'class') node.className = v;
      else if (k === 'text') node.textContent = v;
      else node.setAttribute(k, v === true ? '' : String(v));
    }
    for (const c of children.flat()) {
      if (c === null || c === undefined || c === false) continue;
      node.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return node;
  }

  function shortRev(rev) {
    if (!rev) return '–';
    return /^[0-9a-f]{40}$/.test(rev) ? rev.slice(0, 10) : rev;
  }

  function timeEl(iso, mode) {
    if (!iso) return document.createTextNode('–');
    const d = new Date(iso);
    if (Number.isNaN(d.getTime())) return document.createTextNode(iso);
    const text = mode === 'absolute' ? formatAbsolute(d) : formatRelative(d);
    return el('time', { datetime: d.toISOString(), title: d.toLocaleString() }, text);
  }

  function formatAbsolute(d) {
    const sameDay = new Date().toDateString() === d.toDateString();
    const t = d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
    return sameDay ? t : `${d.toLocaleDateString([], { month: 'short', day: 'numeric' })} ${t}`;
  }

  function formatRelative(d) {
    const s = Math.round((Date.now() - d.getTime()) / 1000);
    if (s < -60) return `in ${formatSpan(-s)}`;
    if (s < 5) return 'just now';
    return `${formatSpan(s)} ago`;
  }

  function formatSpan(s) {
    if (s < 60) return `${s} s`;
    if (s < 3600) return `${Math.round(s / 60)} min`;
    if (s < 86400) return `${Math.round(s / 3600)} h`;
    return `${Math.round(s / 86400)} d`;
  }

  // ---------------------------------------------------------------------------------------------
  // filters (kept in the query string so a filtered view can be bookmarked and shared)

  function readFilters() {
    const q = new URLSearchParams(location.search);
    return { site: q.get('site') || '', lifecycle: q.get('lifecycle') || '', label: q.get('label') || '' };
  }

  function writeFilters(f) {
    const q = new URLSearchParams();
    for (const k of ['site', 'lifecycle', 'label']) if (f[k]) q.set(k, f[k]);
    const qs = q.toString();
    history.replaceState(null, '', qs ? `?${qs}` : location.pathname);
  }

  function parseLabelFilter(text) {
    const terms = [];
    for (const raw of text.split(',')) {
      const t = raw.trim();
      if (!t) continue;
      const ne = t.indexOf('!=');
      const eq = t.indexOf('=');
      if (ne > 0) terms.push({ key: t.slice(0, ne).trim(), op: '!=', value: t.slice(ne + 2).trim() });
      else if (eq > 0) terms.push({ key: t.slice(0, eq).trim(), op: '=', value: t.slice(eq + 1).trim() });
      else if (t.startsWith('!')) terms.push({ key: t.slice(1).trim(), op: '!' });
      else terms.push({ key: t, op: 'has' });
    }
    return terms;
  }

  function matches(h, f, terms) {
    if (f.site && h.site !== f.site) return false;
    if (f.lifecycle && h.observed.lifecycle !== f.lifecycle) return false;
    const labels = h.labels || {};
    for (const t of terms) {
      const has = Object.hasOwn(labels, t.key);
      if (t.op === 'has' && !has) return false;
      if (t.op === '!' && has) return false;
      if (t.op === '=' && labels[t.key] !== t.value) return false;
      if (t.op === '!=' && labels[t.key] === t.value) return false;
    }
    return true;
  }

  function syncFilterControls(f) {
    const siteSel = $('f-site');
    const sites = snapshot ? snapshot.sites.slice() : [];
    if (f.site && !sites.includes(f.site)) sites.push(f.site);
    const want = ['', ...sites].join('\n');
    const have = Array.from(siteSel.options, (o) => o.value).join('\n');
    if (want !== have) {
      siteSel.replaceChildren(el('option', { value: '' }, 'All sites'), ...sites.map((s) => el('option', { value: s }, s)));
    }
    siteSel.value = f.site;
    const lcSel = $('f-lifecycle');
    if (lcSel.options.length === 1) for (const l of LIFECYCLES) lcSel.append(el('option', { value: l }, l));
    lcSel.value = f.lifecycle;
    if (document.activeElement !== $('f-label')) $('f-label').value = f.label;
  }

  // ---------------------------------------------------------------------------------------------
  // rendering

  function render() {
    if (!snapshot) return;
    const f = readFilters();
    syncFilterControls(f);
    renderHeader();
    renderInvalid();
    renderSummary();
    renderHosts(f);
    renderEvents();
  }

  function renderHeader() {
    const s = snapshot;
    const d = $('rev-desired');
    const a = $('rev-applied');
    d.replaceChildren(el('code', { title: s.desiredRevision || '' }, shortRev(s.desiredRevision)));
    a.replaceChildren(el('code', { title: s.appliedRevision || '' }, shortRev(s.appliedRevision)));
    const behind = s.desiredRevision && s.appliedRevision && s.desiredRevision !== s.appliedRevision;
    a.classList.toggle('behind', Boolean(behind));
    if (behind) a.append(el('span', { class: 'note' }, ' (not desired)'));
    const p = s.lastPass;
    const lp = $('last-pass');
    if (!p) lp.textContent = 'none yet';
    else {
      const state = p.finishedAt ? (p.ok ? 'ok' : 'failed') : 'running';
      lp.replaceChildren(el('span', { class: `pass pass-${state}` }, state), ' ', timeEl(p.finishedAt || p.startedAt));
      if (p.error) lp.append(el('span', { class: 'pass-error', title: p.error }, ` – ${p.error}`));
    }
  }

  function renderInvalid() {
    const inv = snapshot.invalidRevision;
    const box = $('invalid');
    if (!inv) {
      box.hidden = true;
      return;
    }
    box.hidden = false;
    $('invalid-rev').textContent = shortRev(inv.revision);
    const items = inv.diagnostics.slice(0, 50).map((d) =>
      el(
        'li',
        {},
        el('code', {}, `${d.file}:${d.line}:${d.col}`),
        ' ',
        el('span', { class: `sev sev-${d.severity}` }, `${d.severity}[${d.code}]`),
        ' ',
        d.message,
      ),
    );
    if (inv.diagnostics.length > 50) items.push(el('li', {}, `… and ${inv.diagnostics.length - 50} more`));
    $('invalid-list').replaceChildren(...items);
  }

  function renderSummary() {
    const counts = new Map();
    for (const h of snapshot.hosts) counts.set(h.observed.lifecycle, (counts.get(h.observed.lifecycle) || 0) + 1);
    const chips = [el('li', { class: 'chip total' }, el('strong', {}, String(snapshot.hosts.length)), ' hosts')];
    for (const l of LIFECYCLES) {
      const n = counts.get(l);
      if (n) chips.push(el('li', { class: `chip lc-${l}` }, el('strong', {}, String(n)), ` ${l}`));
    }
    const blocked = snapshot.hosts.filter((h) => h.blocked && h.blocked.length > 0).length;
    if (blocked) chips.push(el('li', { class: 'chip blocked' }, el('strong', {}, String(blocked)), ' blocked'));
    if (snapshot.plan) {
      const p = snapshot.plan;
      chips.push(
        el('li', { class: `chip ${p.converged ? 'converged' : 'pending'}` }, p.converged ? 'converged' : `${p.actions} actions pending`),
      );
    }
    $('summary').replaceChildren(...chips);
  }

  function renderHosts(f) {
    const terms = parseLabelFilter(f.label);
    const bySite = new Map();
    for (const s of snapshot.sites) bySite.set(s, []);
    for (const h of snapshot.hosts) {
      if (!bySite.has(h.site)) bySite.set(h.site, []);
      bySite.get(h.site).push(h);
    }
    let shown = 0;
    const sections = [];
    for (const [site, hosts] of bySite) {
      if (f.site && site !== f.site) continue;
      const visible = hosts.filter((h) => matches(h, f, terms)).sort((a, b) => a.host.localeCompare(b.host, undefined, { numeric: true }));
      shown += visible.length;
      const id = `site-${site.replace(/[^a-zA-Z0-9_-]/g, '_')}`;
      const body = visible.map(hostRow);
      if (body.length === 0) {
        body.push(el('tr', { class: 'empty' }, el('td', { colspan: 7 }, hosts.length ? 'No host matches the filters' : 'No hosts')));
      }
      sections.push(
        el(
          'section',
          { class: 'site', 'aria-labelledby': id, 'data-site': site },
          el('h2', { id }, site, el('span', { class: 'count' }, ` ${visible.length} of ${hosts.length}`)),
          el(
            'div',
            { class: 'table-wrap' },
            el(
              'table',
              { class: 'hosts' },
              el('caption', { class: 'visually-hidden' }, `Hosts of site ${site}`),
              el(
                'thead',
                {},
                el(
                  'tr',
                  {},
                  ['Host', 'Lifecycle', 'Power', 'Last action', 'Outcome', 'Blocked', 'Labels'].map((t) => el('th', { scope: 'col' }, t)),
                ),
              ),
              el('tbody', {}, body),
            ),
          ),
        ),
      );
    }
    $('hosts').replaceChildren(...sections);
    const total = snapshot.hosts.length;
    const text = shown === total ? `Showing all ${total} hosts` : `Showing ${shown} of ${total} hosts`;
    if ($('shown').textContent !== text) $('shown').textContent = text;
  }

  function hostRow(h) {
    const lc = h.observed.lifecycle;
    const a = h.lastAction;
    const outcome = a ? a.outcome : null;
    const blocked = (h.blocked || []).map((b) =>
      el(
        'li',
        { class: 'block', title: b.message },
        el('span', { class: 'block-kind' }, b.kind),
        b.until ? el('span', { class: 'until' }, ' until ', timeEl(b.until, 'absolute')) : null,
        el('span', { class: 'block-msg' }, b.message),
      ),
    );
    const labels = Object.entries(h.labels || {}).map(([k, v]) => el('li', { class: 'label' }, `${k}=${v}`));
    // MAAS's status message is news while a host changes or failed; on a settled host it is noise.
    const settled = lc === 'deployed' || lc === 'ready';
    const msg = outcome === 'failed' ? a.message || h.observed.message || '' : settled ? '' : h.observed.message || '';
    return el(
      'tr',
      { 'data-host': h.host, 'data-lifecycle': lc, class: outcome === 'failed' ? 'row-failed' : null },
      el(
        'th',
        { scope: 'row', class: 'host' },
        el('span', { class: 'host-name' }, h.host),
        msg ? el('span', { class: 'host-msg', title: msg }, msg) : null,
      ),
      el('td', { class: 'lifecycle' }, el('span', { class: `badge lc-${lc}` }, lc)),
      el('td', { class: 'power' }, el('span', { class: `power-${h.observed.power}` }, h.observed.power)),
      el('td', { class: 'action' }, a ? [el('span', { class: 'kind' }, a.kind), ' ', timeEl(a.at)] : '–'),
      el('td', { class: 'outcome' }, outcome ? el('span', { class: `badge out-${outcome}`, title: a.message || '' }, outcome) : '–'),
      el('td', { class: 'blocked' }, blocked.length ? el('ul', { class: 'plain' }, blocked) : '–'),
      el('td', { class: 'labels' }, labels.length ? el('ul', { class: 'plain labels-list' }, labels) : ''),
    );
  }

  function describeEvent(e) {
    switch (e.type) {
      case 'pass-started':
        return [`Pass ${e.pass} started`, ` (${e.trigger})`];
      case 'pass-finished':
        return [`Pass ${e.pass} ${e.ok ? 'finished' : 'failed'} in ${formatDuration(e.durationMs)}`, e.error ? `: ${e.error}` : ''];
      case 'revision':
        return [`Revision ${shortRev(e.revision)} `, e.valid ? 'loaded' : `is invalid (${e.errors} ${e.errors === 1 ? 'error' : 'errors'})`];
      case 'action-started':
        return [el('strong', {}, e.host), ` ${e.kind} started`];
      case 'action-finished':
        return [el('strong', {}, e.host), ` ${e.kind} `, el('span', { class: `out-${e.outcome}` }, e.outcome), e.message ? ` – ${e.message}` : ''];
      case 'host-changed':
        return [el('strong', {}, e.host), ' is now ', el('span', { class: `badge lc-${e.lifecycle}` }, e.lifecycle), `, power ${e.power}`];
      default:
        return [e.type];
    }
  }

  function formatDuration(ms) {
    return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`;
  }

  // Passes run often (every trigger); the list shows what changed: revisions, actions, hosts, failed passes.
  function newsworthy(e) {
    if (e.type === 'pass-started') return false;
    if (e.type === 'pass-finished') return !e.ok;
    return true;
  }

  function eventKey(e) {
    return [e.type, e.at, e.pass || '', e.host || '', e.actionId || '', e.revision || ''].join('|');
  }

  function eventItem(e) {
    return el('li', { class: `ev ev-${e.type}`, 'data-key': eventKey(e) }, timeEl(e.at, 'absolute'), ' ', el('span', { class: 'ev-text' }, describeEvent(e)));
  }

  // Only new events are added (at the top), so screen readers announce each event once.
  function renderEvents() {
    const list = $('events');
    const events = (snapshot.events || []).filter(newsworthy).slice(0, MAX_EVENTS);
    if (events.length === 0) {
      list.replaceChildren(el('li', { class: 'ev empty' }, 'No events yet'));
      return;
    }
    const first = list.firstElementChild;
    const known = first ? first.getAttribute('data-key') : null;
    const idx = known ? events.findIndex((e) => eventKey(e) === known) : -1;
    if (idx < 0) {
      list.replaceChildren(...events.map(eventItem));
      return;
    }
    const fresh = events.slice(0, idx).map(eventItem);
    if (fresh.length) list.prepend(...fresh);
    while (list.children.length > MAX_EVENTS) list.lastElementChild.remove();
  }

  // ---------------------------------------------------------------------------------------------
  // data: fetch, live updates, polling fallback

  function setConn(state, text) {
    const c = $('conn');
    c.dataset.state = state;
    if (c.textContent !== text) c.textContent = text;
  }

  async function refresh() {
    refreshTimer = null;
    try {
      const res = await fetch('/api/v1/status', { cache: 'no-store' });
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      snapshot = await res.json();
      render();
      if (pollTimer) setConn('polling', `Polling every ${POLL_MS / 1000} s`);
    } catch {
      setConn('offline', 'Daemon unreachable – showing last known state');
    }
  }

  function scheduleRefresh() {
    // Bursts of events (a rollout) become one request every 150 ms at most.
    if (refreshTimer === null) refreshTimer = setTimeout(refresh, 150);
  }

  function startPolling() {
    if (pollTimer) return;
    pollTimer = setInterval(refresh, POLL_MS);
    setConn('polling', `Polling every ${POLL_MS / 1000} s`);
  }

  function stopPolling() {
    if (!pollTimer) return;
    clearInterval(pollTimer);
    pollTimer = null;
  }

  function connect() {
    if (typeof EventSource !== 'function') {
      startPolling();
      return;
    }
    source = new EventSource('/events');
    source.onopen = () => {
      sseFailures = 0;
      stopPolling();
      setConn('live', 'Live');
      scheduleRefresh();
    };
    source.onmessage = scheduleRefresh;
    for (const t of ['pass-started', 'pass-finished', 'revision', 'action-started', 'action-finished', 'host-changed']) {
      source.addEventListener(t, scheduleRefresh);
    }
    source.onerror = () => {
      sseFailures += 1;
      if (sseFailures >= 3) {
        source.close();
        source = null;
        startPolling();
        setTimeout(() => {
          stopPolling();
          connect();
        }, 30_000);
      } else {
        setConn('reconnecting', 'Reconnecting…');
      }
    };
  }

  function onFilterChange() {
    writeFilters({ site: $('f-site').value, lifecycle: $('f-lifecycle').value, label: $('f-label').value.trim() });
    render();
  }

  document.addEventListener('DOMContentLoaded', () => {
    $('f-site').addEventListener('change', onFilterChange);
    $('f-lifecycle').addEventListener('change', onFilterChange);
    $('f-label').addEventListener('input', onFilterChange);
    $('filters').addEventListener('submit', (e) => {
      e.preventDefault();
      onFilterChange();
    });
    $('filters').addEventListener('reset', () => {
      setTimeout(() => {
        $('f-label').value = '';
        onFilterChange();
      }, 0);
    });
    window.addEventListener('popstate', render);
    // relative times age even without events
    setInterval(() => {
      if (snapshot) renderHeader();
    }, 15_000);
    refresh();
    connect();
  });
})();
