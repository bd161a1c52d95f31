// The rtc-harness report page: reads the results document embedded in #results (docs/results.md)
// and draws the summary, the matrix, the case list and one case's detail (failure, timeline,
// plots, attempts). Plain ES2020, no dependencies, nothing fetched. Every string taken from the
// data goes into the page through textContent or setAttribute, never as markup.
'use strict';
(() => {
  const SVG_NS = 'http://www.w3.org/2000/svg';
  const SUMMARY = ['passed', 'failed', 'flaky', 'skipped', 'ignored', 'excluded'];
  const ORDER = ['failed', 'flaky', 'passed', 'skipped', 'ignored', 'excluded'];
  const GLYPH = { passed: '\u2713', failed: '\u2717', flaky: '~', skipped: '\u2013', ignored: '\u00b7', excluded: '\u2298' };
  const COLOR = {
    step: '#444b55', error: '#d33b3b', desc: '#7a4fc4', cand: '#138a8a', media: '#2e9d4f',
    dc: '#d9822b', info: '#8a939c', blue: '#3b73c7', ok: '#2e9d4f', warn: '#e0a100', grey: '#8a939c',
  };
  // Timeline geometry (px): label column, lanes, rows inside a lane.
  const LABEL_W = 132, LANE_H = 62, TOP = 40, PAD_L = 14, PAD_R = 18;
  const MARK_Y = 38, LABEL_ROWS = [26, 15], MEDIA_BOTTOM = 58, MEDIA_H = 13;

  // ---------------------------------------------------------------- DOM helpers
  function attrs(node, a) {
    for (const [k, v] of Object.entries(a || {})) {
      if (v === undefined || v === null || v === false) continue;
      if (typeof v === 'function') node.addEventListener(k.replace(/^on/, ''), v);
      else node.setAttribute(k, v === true ? '' : String(v));
    }
  }
  function kids(node, list) {
    for (const k of list.flat(Infinity)) {
      if (k === undefined || k === null || k === false) continue;
      node.append(k instanceof Node ? k : String(k));
    }
    return node;
  }
  const h = (tag, a, ...c) => { const n = document.createElement(tag); attrs(n, a); return kids(n, c); };
  const s = (tag, a, ...c) => { const n = document.createElementNS(SVG_NS, tag); attrs(n, a); return kids(n, c); };
  const list = (v) => (Array.isArray(v) ? v.filter((x) => x !== null && typeof x === 'object') : []);
  const num = (v) => (typeof v === 'number' && Number.isFinite(v) ? v : null);
  const str = (v) => (v === undefined || v === null ? '' : typeof v === 'string' ? v : JSON.stringify(v));
  const clip = (t, n) => (t.length > n ? `${t.slice(0, n - 1)}\u2026` : t);
  function ms(v) {
    v = num(v);
    if (v === null) return '\u2013';
    return v >= 1000 ? `${(v / 1000).toFixed(v >= 10000 ? 1 : 2)} s` : `${v.toFixed(1)} ms`;
  }
  const at = (v) => `${(num(v) ?? 0).toFixed(1)} ms`;
  function when(iso) {
    const d = new Date(String(iso));
    return iso && !Number.isNaN(d.getTime()) ? d.toLocaleString() : str(iso) || 'unknown';
  }
  const unit = (kind) => (kind === 'audio' ? 'packets' : 'frames');
  const outcomeOf = (c) => str(c.outcome) || 'unknown';
  const rank = (c) => { const i = ORDER.indexOf(c.outcome); return i < 0 ? ORDER.length : i; };

  // A relative path stays relative (each segment encoded, so `x:` cannot become a scheme);
  // an absolute one becomes a file:// URL.
  function pathHref(p) {
    p = str(p);
    const enc = (q) => q.split('/').map(encodeURIComponent).join('/');
    if (/^[A-Za-z]:[\\/]/.test(p)) return `file:///${p.slice(0, 2)}${enc(p.slice(2).replace(/\\/g, '/'))}`;
    if (p.startsWith('/')) return `file://${enc(p)}`;
    return enc(p);
  }
  const pathLink = (p) => (p ? h('a', { href: pathHref(p), class: 'path' }, str(p)) : '\u2013');

  // ---------------------------------------------------------------- the data
  let doc = {};
  try {
    doc = JSON.parse(document.getElementById('results').textContent) || {};
  } catch (e) {
    document.body.append(h('p', { class: 'fatal' }, `The embedded results could not be read: ${e}`));
  }
  const cases = list(doc.cases);
  const byName = new Map(cases.map((c) => [str(c.name), c]));
  const sorted = cases.map((c, i) => [c, i]).sort((a, b) => rank(a[0]) - rank(b[0]) || a[1] - b[1]).map((x) => x[0]);
  const filter = { outcome: '', text: '' };
  let current = null;
  let redraw = null;

  // ---------------------------------------------------------------- header
  function header() {
    const sum = doc.summary && typeof doc.summary === 'object' ? doc.summary : {};
    const count = (k) => num(sum[k]) ?? (k === 'total' ? cases.length : cases.filter((c) => c.outcome === k).length);
    const failed = count('failed');
    const tool = doc.tool && typeof doc.tool === 'object' ? doc.tool : {};
    const status = failed > 0 ? ['failed', `${failed} FAILED`] : count('flaky') > 0 ? ['flaky', 'PASSED (with flaky cases)'] : ['passed', 'PASSED'];
    return h('header', { class: 'top' },
      h('div', { class: 'title-row' },
        h('h1', {}, 'rtc-harness report'),
        h('span', { class: 'status', 'data-outcome': status[0] }, status[1])),
      h('p', { class: 'meta' },
        `Ran ${when(doc.started_at)}`, doc.started_at ? h('span', { class: 'muted' }, ` (${str(doc.started_at)})`) : null,
        ` \u00b7 took ${ms(doc.duration_ms)} \u00b7 ${str(tool.name) || 'rtc-harness'} ${str(tool.version)}`,
        doc.schema_version !== 1 ? h('span', { class: 'warn' }, ` \u00b7 schema version ${str(doc.schema_version)} (this page reads version 1)`) : null),
      h('div', { class: 'chips', role: 'group', 'aria-label': 'summary' },
        ['total', ...SUMMARY].map((k) => h('button', {
          type: 'button', class: 'chip', 'data-key': k, 'data-outcome': k === 'total' ? null : k,
          title: k === 'total' ? 'list every case' : `list the ${k} cases`,
          onclick: () => setFilter(k === 'total' ? '' : k),
        }, h('b', {}, String(count(k))), ` ${k}`))));
  }

  // ---------------------------------------------------------------- matrix
  function matrix() {
    if (!cases.length) return h('p', { class: 'empty-note' }, 'No cases in this run.');
    const scenarios = [...new Set(cases.map((c) => str(c.scenario)))].sort();
    const pairs = [...new Set(cases.map((c) => str(c.pair)))];
    const slots = new Map();
    for (const c of cases) {
      const key = `${str(c.pair)}\u0000${str(c.scenario)}`;
      slots.set(key, [...(slots.get(key) || []), c]);
    }
    const areaOf = (sc) => (sc.includes('::') ? sc.slice(0, sc.indexOf('::')) : '');
    const groups = [];
    for (const sc of scenarios) {
      const a = areaOf(sc);
      if (groups.length && groups[groups.length - 1].area === a) groups[groups.length - 1].n += 1;
      else groups.push({ area: a, n: 1 });
    }
    const cell = (c) => {
      const o = outcomeOf(c);
      const why = str(c.reason) || (c.failure && str(c.failure.message)) || '';
      return h('span', {
        class: 'cell', 'data-case': str(c.name), 'data-outcome': o, role: 'button', tabindex: 0,
        title: [str(c.name), o.toUpperCase(), clip(why, 300)].filter(Boolean).join('\n'),
        'aria-label': `${str(c.name)}: ${o}`,
        onclick: () => select(str(c.name), true),
        onkeydown: (e) => { if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); select(str(c.name), true); } },
      }, GLYPH[o] || '?');
    };
    const table = h('table', { class: 'matrix', id: 'matrix' },
      h('thead', {},
        h('tr', { class: 'areas' },
          h('th', { class: 'corner', rowspan: 2 }, 'pair \\ scenario'),
          groups.map((g) => h('th', { class: 'area', colspan: g.n, scope: 'colgroup' }, g.area || '\u00a0'))),
        h('tr', { class: 'scenarios' },
          scenarios.map((sc) => h('th', { class: 'scenario', scope: 'col', title: sc },
            h('span', {}, areaOf(sc) ? sc.slice(areaOf(sc).length + 2) : sc || '(none)'))))),
      h('tbody', {}, pairs.map((p) => h('tr', {},
        h('th', { class: 'pair', scope: 'row' }, p || '(none)'),
        scenarios.map((sc) => {
          const here = slots.get(`${p}\u0000${sc}`) || [];
          return h('td', { class: here.length ? 'slot' : 'slot none' }, here.map(cell));
        })))));
    return h('div', { class: 'matrix-scroll' }, table);
  }

  function legend() {
    return h('div', { class: 'legend' }, SUMMARY.map((o) =>
      h('span', { class: 'legend-item' }, h('span', { class: 'swatch', 'data-outcome': o }, GLYPH[o]), ` ${o}`)));
  }

  // ---------------------------------------------------------------- case list
  const listBody = h('ul', { class: 'case-list', id: 'case-list' });
  const listCount = h('span', { class: 'muted' });
  const search = h('input', { type: 'search', placeholder: 'filter by name or message', 'aria-label': 'filter cases' });
  search.addEventListener('input', () => { filter.text = search.value; renderList(); });
  const summaryLine = (c) => str(c.failure && c.failure.message) || str(c.reason);

  function setFilter(outcome) {
    filter.outcome = outcome;
    document.querySelectorAll('.chip').forEach((b) => b.classList.toggle('active', (b.dataset.outcome || '') === outcome && (outcome !== '' || b.dataset.key === 'total')));
    renderList();
  }
  function renderList() {
    const q = filter.text.trim().toLowerCase();
    const shown = sorted.filter((c) => (!filter.outcome || c.outcome === filter.outcome)
      && (!q || str(c.name).toLowerCase().includes(q) || summaryLine(c).toLowerCase().includes(q)));
    listBody.replaceChildren(...shown.map((c) => {
      const o = outcomeOf(c);
      const msg = summaryLine(c);
      return h('li', {
        class: str(c.name) === current ? 'case-item selected' : 'case-item', 'data-case': str(c.name), 'data-outcome': o, tabindex: 0,
        onclick: () => select(str(c.name), true),
        onkeydown: (e) => { if (e.key === 'Enter') select(str(c.name), true); },
      },
      h('span', { class: 'badge', 'data-outcome': o }, o),
      h('span', { class: 'case-name' }, str(c.name)),
      msg ? h('span', { class: 'case-msg', title: clip(msg, 600) }, clip(msg, 160)) : null);
    }));
    listCount.textContent = shown.length === cases.length ? `${cases.length} case${cases.length === 1 ? '' : 's'}` : `${shown.length} of ${cases.length} cases`;
    if (!shown.length) listBody.append(h('li', { class: 'empty-note' }, 'No case matches.'));
  }

  // ---------------------------------------------------------------- detail
  const detail = h('section', { id: 'case-detail', class: 'panel detail', 'aria-live': 'polite' },
    h('p', { class: 'empty-note' }, 'Select a case in the matrix or the list.'));

  function select(name, fromUser) {
    const c = byName.get(name);
    if (!c) return;
    current = name;
    document.querySelectorAll('.cell, .case-item').forEach((e) => e.classList.toggle('selected', e.dataset.case === name));
    renderDetail(c);
    try { history.replaceState(null, '', `#case=${encodeURIComponent(name)}`); } catch (_) { /* file:// in some browsers */ }
    if (fromUser) {
      detail.scrollTop = 0;
      const top = detail.getBoundingClientRect().top;
      if (top < 0 || top > window.innerHeight - 80) detail.scrollIntoView({ block: 'start' });
    }
  }

  const section = (title, ...body) => h('section', { class: 'sub' }, h('h3', {}, title), body);

  function renderDetail(c) {
    const o = outcomeOf(c);
    const after = [];
    redraw = null;
    detail.setAttribute('data-case', str(c.name));
    detail.replaceChildren();
    kids(detail, [
      h('div', { class: 'detail-head' }, h('span', { class: 'badge big', 'data-outcome': o }, o), h('h2', {}, str(c.name))),
      c.description ? h('p', { class: 'description' }, str(c.description)) : null,
      facts(c),
      c.reason ? h('div', { class: 'reason', 'data-outcome': o }, h('b', {}, `${o}: `), str(c.reason)) : null,
      failureBox(c),
      section('Timeline', timelineBlock(c, after)),
      plots(c),
      section('Peers', peersTable(c)),
      section('Attempts', attemptsBlock(c))]);
    after.forEach((f) => f());
  }

  function facts(c) {
    const t = c.timings && typeof c.timings === 'object' ? c.timings : {};
    const runs = num(c.runs) ?? 0;
    const rate = num(c.pass_rate);
    const row = (k, ...v) => [h('dt', {}, k), h('dd', {}, v)];
    return h('dl', { class: 'facts' },
      row('scenario', str(c.scenario), c.file ? [' \u00b7 ', pathLink(c.file)] : null),
      row('pair', str(c.pair)),
      row('pass rate', runs ? `${num(c.passes) ?? 0} of ${runs} attempt${runs === 1 ? '' : 's'} passed${rate === null ? '' : ` (${Math.round(rate * 100)}%)`}` : 'did not run'),
      row('duration', ms(c.duration_ms)),
      row('connected', ms(t.connected_ms), num(t.connected_ms) === null ? null : h('span', { class: 'muted' }, ' median of passed attempts')),
      row('first frame', ms(t.first_frame_ms)),
      row('artifacts', pathLink(c.artifacts)));
  }

  function failureBox(c) {
    const f = c.failure;
    if (!f || typeof f !== 'object') return null;
    if (f.kind === 'checks') {
      const checks = list(f.checks);
      return h('div', { class: 'failure' },
        h('h3', {}, checks.length === 1 ? 'Failed check' : `Failed checks (${checks.length})`, c.outcome === 'flaky' ? ' (in a failing attempt)' : ''),
        checks.length ? null : h('pre', {}, str(f.message)),
        checks.map((ch) => {
          const excerpt = Array.isArray(ch.excerpt) ? ch.excerpt.map(str) : [];
          return h('div', { class: 'failed-check', 'data-check': str(ch.name) },
            h('div', { class: 'check-name' }, '\u2717 ', h('b', {}, str(ch.name)),
              h('span', { class: 'muted' }, num(ch.line) ? ` scenario line ${ch.line}` : ' built-in invariant')),
            h('div', { class: 'ea' },
              h('span', { class: 'ea-label' }, 'EXPECTED'), h('pre', { class: 'expected' }, str(ch.expected)),
              h('span', { class: 'ea-label' }, 'ACTUAL'), h('pre', { class: 'actual' }, str(ch.actual))),
            excerpt.length ? h('details', { class: 'excerpt', open: true }, h('summary', {}, 'excerpt'), h('pre', {}, excerpt.join('\n'))) : null);
        }));
    }
    return h('div', { class: 'failure failed-step' },
      h('h3', {}, f.at === 'setup' ? 'Setup failed' : 'Step failed', c.outcome === 'flaky' ? ' (in a failing attempt)' : ''),
      h('div', { class: 'check-name' }, '\u2717 ', h('b', {}, str(f.at) || 'error')),
      h('pre', { class: 'actual' }, str(f.error) || str(f.message)));
  }

  function peersTable(c) {
    const peers = list(c.peers);
    if (!peers.length) return h('p', { class: 'empty-note' }, 'No peers recorded.');
    return h('table', { class: 'grid-table' },
      h('thead', {}, h('tr', {}, ['peer', 'kind', 'stack', 'version'].map((k) => h('th', {}, k)))),
      h('tbody', {}, peers.map((p) => h('tr', {},
        h('td', {}, h('b', {}, str(p.name))), h('td', {}, str(p.kind)),
        p.stack == null ? h('td', { class: 'muted', colspan: 2 }, 'never said hello') : [h('td', {}, str(p.stack)), h('td', {}, str(p.version))]))));
  }

  function attemptsBlock(c) {
    const attempts = list(c.attempts);
    if (!attempts.length) return h('p', { class: 'empty-note' }, 'No attempt ran.');
    const shown = attempts.find((a) => a.outcome === 'failed') || attempts[attempts.length - 1];
    const checks = list(shown.checks);
    return [
      h('table', { class: 'grid-table' },
        h('thead', {}, h('tr', {}, ['#', 'outcome', 'started', 'duration', 'connected', 'first frame', 'checks', 'artifacts'].map((k) => h('th', {}, k)))),
        h('tbody', {}, attempts.map((a, i) => {
          const cs = list(a.checks);
          return h('tr', { class: a === shown ? 'shown' : null },
            h('td', {}, String(i + 1)), h('td', {}, h('span', { class: 'badge', 'data-outcome': outcomeOf(a) }, outcomeOf(a))),
            h('td', { title: str(a.started_at) }, when(a.started_at)), h('td', {}, ms(a.duration_ms)),
            h('td', {}, ms(a.connected_ms)), h('td', {}, ms(a.first_frame_ms)),
            h('td', {}, cs.length ? `${cs.filter((x) => x.passed === true).length}/${cs.length}` : '\u2013'),
            h('td', {}, pathLink(a.artifacts)));
        }))),
      checks.length ? h('ul', { class: 'checks' }, checks.map((ch) =>
        h('li', { 'data-passed': ch.passed === true ? 'yes' : 'no' }, ch.passed === true ? '\u2713 ' : '\u2717 ', str(ch.name)))) : null,
      attempts.map((a, i) => (a.details ? h('details', { class: 'terminal' },
        h('summary', {}, `attempt ${i + 1}: terminal output`), h('pre', {}, str(a.details))) : null)),
    ];
  }

  // ---------------------------------------------------------------- timeline
  function eventLook(ev) {
    const t = str(ev.type) || 'unknown';
    const rest = Object.entries(ev).filter(([k]) => k !== 'type' && k !== 'sdp').map(([k, v]) => `${k}=${str(v)}`).join(' ');
    const look = (shape, color, label, prio, text) => ({ shape, color, label, prio, text: clip(text ?? `${t} ${rest}`, 400) });
    const stateColor = (st) => ({ connected: COLOR.ok, completed: COLOR.ok, stable: COLOR.ok, complete: COLOR.ok,
      failed: COLOR.error, disconnected: COLOR.warn, closed: COLOR.grey })[st] || COLOR.blue;
    switch (t) {
      case 'step': return look('flag', COLOR.step, str(ev.name), 0);
      case 'error': return look('x', COLOR.error, `error: ${str(ev.context)}`, 1);
      case 'local_description': case 'remote_description': {
        const lines = str(ev.sdp).split('\n').filter((l) => l.trim()).length;
        return look('diamond', COLOR.desc, `${t.split('_')[0]} ${str(ev.sdp_type)}`, 2, `${t} ${str(ev.sdp_type)} (${lines} SDP lines; click for the SDP)`);
      }
      case 'connection_state': return look('circle', stateColor(ev.state), str(ev.state), 3, `connection_state \u2192 ${str(ev.state)}`);
      case 'signaling_state': case 'ice_connection_state': case 'ice_gathering_state':
        return look('circle', stateColor(ev.state), null, 9, `${t} \u2192 ${str(ev.state)}`);
      case 'first_frame': return look('star', COLOR.media, `first frame ${str(ev.width)}x${str(ev.height)}`, 2);
      case 'first_packet': return look('star', COLOR.media, `first packet ${str(ev.kind)}`, 2);
      case 'track': return look('tri', COLOR.media, `track ${str(ev.kind)}`, 4);
      case 'local_candidate': case 'remote_candidate':
        return look('tick', COLOR.cand, null, 9, `${t} ${str(ev.candidate) || '(end of candidates)'}`);
      case 'end_of_candidates': return look('bar', COLOR.cand, null, 9);
      case 'data_channel_open': return look('square', COLOR.dc, `${str(ev.label)} open`, 4);
      case 'data_channel_close': return look('square', COLOR.dc, `${str(ev.label)} closed`, 4);
      case 'data_channel_message': return look('square', COLOR.dc, null, 9, `data_channel_message on ${str(ev.label)}: ${str(ev.data)}`);
      case 'stats': return look('square', COLOR.info, 'stats', 5, `stats ${str(ev.summary)}`);
      case 'create_offer': return look('dot', COLOR.blue, 'createOffer', 5);
      case 'negotiation_needed': return look('dot', COLOR.blue, null, 9);
      case 'hello': return look('dot', COLOR.info, null, 9);
      default: return look('dot', COLOR.grey, null, 9);
    }
  }
  function relayLook(r) {
    const route = `${str(r.from)} \u2192 ${(Array.isArray(r.to) ? r.to.map(str).join(', ') : '') || '(nobody)'}`;
    const look = (shape, color, label, prio, what) => ({ shape, color, label, prio, text: `relay ${route}: ${what}${r.room ? ` (room ${str(r.room)})` : ''}` });
    switch (r.kind) {
      case 'desc': return look('diamond', COLOR.desc, str(r.sdp_type) || 'desc', 2, `desc ${str(r.sdp_type)}`);
      case 'candidate': return look('tick', COLOR.cand, null, 9, 'candidate');
      case 'end_of_candidates': return look('bar', COLOR.cand, null, 9, `end_of_candidates (form ${str(r.form)})`);
      case 'rejected': return look('x', COLOR.error, `rejected ${str(r.code)}`, 1, `rejected: ${str(r.code)}`);
      default: return look('dot', COLOR.grey, str(r.kind) || 'unknown', 5, str(r.kind) || 'unknown');
    }
  }
  const STAR = (() => {
    const p = [];
    for (let i = 0; i < 10; i += 1) {
      const r = i % 2 ? 3 : 7, a = (Math.PI / 5) * i - Math.PI / 2;
      p.push(`${(r * Math.cos(a)).toFixed(2)},${(r * Math.sin(a)).toFixed(2)}`);
    }
    return `M${p.join(' L')} Z`;
  })();
  function shape(kind, color) {
    const f = { fill: color, stroke: '#fff', 'stroke-width': 1 };
    switch (kind) {
      case 'flag': return [s('line', { x1: 0, y1: -11, x2: 0, y2: 6, stroke: color, 'stroke-width': 1.6 }), s('path', { d: 'M0,-11 L9,-8 L0,-5 Z', fill: color })];
      case 'circle': return s('circle', { r: 5, ...f });
      case 'diamond': return s('path', { d: 'M0,-6.5 L6.5,0 L0,6.5 L-6.5,0 Z', ...f });
      case 'tick': return s('line', { x1: 0, x2: 0, y1: -6, y2: 6, stroke: color, 'stroke-width': 2 });
      case 'bar': return s('rect', { x: -2, y: -8, width: 4, height: 16, fill: color });
      case 'tri': return s('path', { d: 'M-5.5,5 L5.5,5 L0,-6 Z', ...f });
      case 'star': return s('path', { d: STAR, ...f });
      case 'square': return s('rect', { x: -4.5, y: -4.5, width: 9, height: 9, ...f });
      case 'x': return s('path', { d: 'M-5,-5 L5,5 M5,-5 L-5,5', stroke: color, 'stroke-width': 2.5 });
      default: return s('circle', { r: 3.5, ...f });
    }
  }

  // Lanes: the case's peers in order, any other peer seen, and the relay (between two peers).
  function timelineModel(c, entries, relay) {
    const names = [];
    const add = (n) => { if (n !== undefined && n !== null && !names.includes(str(n))) names.push(str(n)); };
    list(c.peers).forEach((p) => add(p.name));
    entries.forEach((e) => add(e.peer));
    relay.forEach((r) => { add(r.from); (Array.isArray(r.to) ? r.to : []).forEach(add); });
    const lanes = names.map((name) => ({ name, relay: false }));
    const relayLane = { name: 'relay', relay: true };
    if (lanes.length === 2) lanes.splice(1, 0, relayLane); else lanes.push(relayLane);
    lanes.forEach((l, i) => { l.y = TOP + i * LANE_H; });
    const laneByName = new Map(lanes.filter((l) => !l.relay).map((l) => [l.name, l]));
    const media = new Map();
    for (const e of entries) {
      if (e.event.type !== 'media_progress' || num(e.event.count) === null) continue;
      const byKind = media.get(str(e.peer)) || new Map();
      media.set(str(e.peer), byKind);
      const kind = str(e.event.kind);
      byKind.set(kind, [...(byKind.get(kind) || []), [e.at, e.event.count]]);
    }
    media.forEach((byKind) => byKind.forEach((pts) => pts.sort((a, b) => a[0] - b[0])));
    const fail = failurePoint(c, entries, relay);
    const times = [...entries.map((e) => e.at), ...relay.map((r) => r.at), ...(fail ? [fail.at] : [])];
    const t0 = Math.min(0, ...times);
    const t1 = Math.max(t0 + 1, ...times);
    return { lanes, relayLane, laneByName, entries, relay, media, fail, t0, t1 };
  }

  // A receiver's new pictures (markers_seen changes: ms before the event) in runs of one sender
  // (the latest frame_shown's) without a gap of a second, and its freezes from the case's streams.
  const SENDERS = ['#3b73c7', '#d9822b', '#7a4fc4', '#138a8a', '#8a5a2b', '#c43b8f', '#5f8f1f', '#4a4a4a'];
  function frameStrips(c, m) {
    const names = list(c.peers).map((p) => str(p.name));
    const strips = new Map();
    const of = (peer) => strips.get(peer) || strips.set(peer, { shown: [], changes: [], runs: [], freezes: [] }).get(peer);
    for (const e of m.entries) {
      const ev = e.event;
      if (ev.type === 'frame_shown' && num(ev.sender) !== null) of(str(e.peer)).shown.push([e.at, ev.sender]);
      if (ev.type === 'markers_seen' && Array.isArray(ev.changes)) ev.changes.forEach((d) => { if (num(d) !== null) of(str(e.peer)).changes.push(e.at + d); });
    }
    strips.forEach((strip) => {
      strip.changes.sort((a, b) => a - b);
      strip.shown.sort((a, b) => a[0] - b[0]);
      let k = -1;
      let run = null;
      for (const t of strip.changes) {
        while (k + 1 < strip.shown.length && strip.shown[k + 1][0] <= t + 1) k += 1;
        const sender = k >= 0 ? strip.shown[k][1] : null;
        if (sender === null) continue;
        if (run && run.sender === sender && t - run.to < 1000) {
          run.to = t;
          run.count += 1;
        } else {
          run = { sender, name: names[sender], from: t, to: t, count: 1 };
          strip.runs.push(run);
        }
      }
    });
    for (const st of list(c.streams)) {
      const strip = strips.get(str(st.at));
      if (strip && !strip.freezes.length) strip.freezes = list(st.freeze_spans).filter((f) => Array.isArray(f) && num(f[0]) !== null && num(f[1]) !== null);
    }
    return new Map([...strips].filter(([, st]) => st.runs.length || st.freezes.length));
  }

  // A failed verdict is marked at the last entry; an error at the last step (the one that failed).
  function failurePoint(c, entries, relay) {
    const f = c.failure;
    if (!f || typeof f !== 'object') return null;
    const last = (xs) => xs.reduce((best, e) => (best === null || e.at >= best.at ? e : best), null);
    if (f.kind === 'error') {
      const step = last(entries.filter((e) => e.event.type === 'step'));
      if (step) return { at: step.at, label: `\u2717 ${str(step.peer)}: ${str(step.event.name)}`, tip: str(f.message) || str(f.error) };
    }
    const end = last(entries) || last(relay);
    if (!end) return null;
    const names = f.kind === 'checks' ? list(f.checks).map((ch) => str(ch.name)) : [];
    return { at: end.at, label: `\u2717 ${names.length ? names.join(', ') : str(f.at) || 'failed'}`, tip: str(f.message) };
  }

  function niceStep(raw) {
    if (!(raw > 0)) return 1;
    const p = 10 ** Math.floor(Math.log10(raw));
    const f = raw / p;
    return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * p;
  }

  // Draws the window [va, vb] ms of the case in W px; what falls outside is clipped by the SVG.
  function drawTimeline(c, m, W, [va, vb], onPick) {
    const H = TOP + m.lanes.length * LANE_H + 4;
    const x = (t) => PAD_L + ((t - va) / (vb - va)) * (W - PAD_L - PAD_R);
    const shown = (t) => t >= va - (vb - va) * 0.03 && t <= vb + (vb - va) * 0.03;
    const svg = s('svg', { class: 'timeline', width: W, height: H, viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': `timeline of ${str(c.name)}` },
      s('defs', {}, s('marker', { id: 'tl-arrow', viewBox: '0 0 8 8', refX: 7, refY: 4, markerWidth: 6, markerHeight: 6, orient: 'auto' },
        s('path', { d: 'M0,0 L8,4 L0,8 Z', class: 'arrow-head' }))));
    svg.append(s('g', { class: 'lane-bgs' }, m.lanes.map((l, i) =>
      s('rect', { class: `lane-bg${i % 2 ? ' odd' : ''}${l.relay ? ' relay' : ''}`, x: 0, y: l.y, width: W, height: LANE_H }))));
    // Axis: ms ticks and grid lines.
    const step = niceStep((vb - va) / Math.max(2, (W - PAD_L - PAD_R) / 90));
    const axis = s('g', { class: 'axis' }, s('line', { class: 'axis-line', x1: 0, x2: W, y1: TOP, y2: TOP }));
    const digits = step >= 1 ? 0 : Math.min(3, Math.ceil(-Math.log10(step)));
    for (let k = Math.ceil(va / step), n = 0; k * step <= vb + 1e-9 && n < 400; k += 1, n += 1) {
      const tx = x(k * step);
      axis.append(s('line', { class: 'grid', x1: tx, x2: tx, y1: TOP - 4, y2: H }),
        s('text', { class: 'tick', x: tx, y: TOP - 8, 'text-anchor': 'middle' }, (k * step).toFixed(digits)));
    }
    svg.append(axis);
    // Relay links: sender -> relay, relay -> each recipient.
    const rl = m.relayLane;
    const end = (from, to) => to.y + MARK_Y + (from.y < to.y ? -8 : 8);
    const links = s('g', { class: 'relay-links' });
    for (const r of m.relay) {
      if (!shown(r.at)) continue;
      const rx = x(r.at);
      const cls = `relay-link${r.kind === 'desc' ? ' desc' : r.kind === 'rejected' ? ' rejected' : ''}`;
      const from = m.laneByName.get(str(r.from));
      if (from) links.append(s('line', { class: cls, x1: rx, x2: rx, y1: from.y + MARK_Y, y2: end(from, rl), 'marker-end': 'url(#tl-arrow)' }));
      if (r.kind === 'rejected') continue;
      for (const to of Array.isArray(r.to) ? r.to : []) {
        const lane = m.laneByName.get(str(to));
        if (lane) links.append(s('line', { class: `${cls} onward`, x1: rx, x2: rx, y1: rl.y + MARK_Y, y2: end(rl, lane), 'marker-end': 'url(#tl-arrow)' }));
      }
    }
    svg.append(links);
    // One group per lane: baseline, media plot, marks, labels.
    const groups = new Map(m.lanes.map((l) => [l, s('g', { class: `lane ${l.relay ? 'lane-relay' : 'lane-peer'}`, 'data-lane': l.name },
      s('line', { class: 'lane-line', x1: 0, x2: W, y1: l.y + MARK_Y, y2: l.y + MARK_Y }))]));
    groups.forEach((g) => svg.append(g));
    m.media.forEach((byKind, peer) => {
      const lane = m.laneByName.get(peer);
      if (!lane) return;
      byKind.forEach((pts, kind) => {
        const max = Math.max(1, ...pts.map((p) => p[1]));
        const yy = (v) => lane.y + MEDIA_BOTTOM - (v / max) * MEDIA_H;
        const [first, last] = [pts[0], pts[pts.length - 1]];
        const lx = x(last[0]);
        const tail = shown(last[0]);
        groups.get(lane).append(s('g', { class: `media-plot ${kind === 'audio' ? 'audio' : 'video'}`, 'data-kind': kind },
          s('polyline', { points: pts.map(([t, v]) => `${x(t).toFixed(1)},${yy(v).toFixed(1)}`).join(' ') }),
          tail ? s('circle', { cx: lx, cy: yy(last[1]), r: 2 }) : null,
          tail ? s('text', { class: 'media-label', x: lx > W - 70 ? lx - 4 : lx + 4, y: yy(last[1]) + 3, 'text-anchor': lx > W - 70 ? 'end' : 'start' }, `${kind} ${last[1]}`) : null,
          s('title', {}, `${peer}: media_progress ${kind} \u00d7${pts.length}, ${first[1]} \u2192 ${last[1]} ${unit(kind)} from ${at(first[0])} to ${at(last[0])}`)));
      });
    });
    // Each receiver's frames as a strip at the foot of its lane: runs of new pictures (markers
    // that read and change, from markers_seen) in the colour of the sender whose frame it last
    // showed (frame_shown), and its freezes (the case's streams, webrtc-stats' rule) in red.
    frameStrips(c, m).forEach((strip, peer) => {
      const lane = m.laneByName.get(peer);
      if (!lane) return;
      const y = lane.y + LANE_H - 6;
      const g = s('g', { class: 'frame-strip', 'data-peer': peer });
      for (const run of strip.runs) {
        if (!shown(run.from) && !shown(run.to)) continue;
        const x0 = x(run.from);
        g.append(s('rect', { class: 'run', x: x0.toFixed(1), y, width: Math.max(1, x(run.to) - x0).toFixed(1), height: 4, fill: SENDERS[run.sender % SENDERS.length] },
          s('title', {}, `${peer} shows sender ${run.sender}${run.name ? ` (${run.name})` : ''}: ${run.count} new pictures from ${at(run.from)} to ${at(run.to)}`)));
      }
      for (const [from, length] of strip.freezes) {
        const x0 = x(from);
        g.append(s('rect', { class: 'freeze', x: x0.toFixed(1), y: y - 1, width: Math.max(2, x(from + length) - x0).toFixed(1), height: 6 },
          s('title', {}, `${peer}: a freeze of ${Math.round(length)} ms from ${at(from)}`)));
      }
      groups.get(lane).append(g);
    });
    const labels = [];
    const mark = (lane, t, look, tip, type, pick) => {
      if (!shown(t)) return;
      const g = s('g', { class: `mark mark-${look.shape}`, transform: `translate(${x(t).toFixed(1)},${lane.y + MARK_Y})`, 'data-type': type, tabindex: 0 },
        s('circle', { class: 'hit', r: 9 }), shape(look.shape, look.color), s('title', {}, tip));
      g.addEventListener('click', pick);
      g.addEventListener('keydown', (e) => { if (e.key === 'Enter') pick(); });
      groups.get(lane).append(g);
      if (look.label) labels.push({ lane, x: x(t), text: look.label, prio: look.prio, dx: look.shape === 'flag' ? 11 : 7 });
    };
    for (const e of m.entries) {
      if (e.event.type === 'media_progress') continue;
      const lane = m.laneByName.get(str(e.peer));
      if (!lane) continue;
      const look = eventLook(e.event);
      mark(lane, e.at, look, `${at(e.at)} \u00b7 ${str(e.peer)} \u00b7 ${look.text}`, str(e.event.type), () => onPick(`${at(e.at)}  ${str(e.peer)}`, e.event));
    }
    for (const r of m.relay) {
      const look = relayLook(r);
      mark(rl, r.at, look, `${at(r.at)} \u00b7 ${look.text}`, `relay_${str(r.kind)}`, () => onPick(`${at(r.at)}  relay`, r));
    }
    // Labels by priority (steps, errors, descriptions first); one that would overlap is left to
    // its tooltip.
    const taken = new Map();
    labels.sort((a, b) => a.prio - b.prio || a.x - b.x);
    for (const l of labels) {
      const text = clip(l.text, 32);
      const w = text.length * 5.8 + 4;
      const right = l.x + l.dx + w <= W - 2;
      const lo = right ? l.x + l.dx : l.x - l.dx - w;
      const rows = taken.get(l.lane) || [[], []];
      taken.set(l.lane, rows);
      const r = rows.findIndex((iv) => iv.every(([a, b]) => lo + w < a || lo > b));
      if (r < 0) continue;
      rows[r].push([lo, lo + w]);
      groups.get(l.lane).append(s('text', { class: `label prio-${l.prio}`, x: right ? lo : lo + w, y: l.lane.y + LABEL_ROWS[r], 'text-anchor': right ? 'start' : 'end' }, text));
    }
    if (m.fail) {
      const fx = x(m.fail.at);
      const right = fx < W - 240;
      svg.append(s('g', { class: 'failure-marker', 'data-at': m.fail.at },
        s('line', { x1: fx, x2: fx, y1: 16, y2: H }),
        s('text', { x: right ? fx + 5 : fx - 5, y: 13, 'text-anchor': right ? 'start' : 'end' }, clip(m.fail.label, 60)),
        s('title', {}, `${at(m.fail.at)} \u00b7 ${m.fail.tip || m.fail.label}`)));
    }
    return svg;
  }

  function laneLabels(c, m) {
    const H = TOP + m.lanes.length * LANE_H + 4;
    const peers = new Map(list(c.peers).map((p) => [str(p.name), p]));
    return s('svg', { class: 'timeline-labels', width: LABEL_W, height: H, viewBox: `0 0 ${LABEL_W} ${H}` },
      s('text', { class: 'axis-unit', x: LABEL_W - 8, y: TOP - 8, 'text-anchor': 'end' }, 'time (ms)'),
      m.lanes.map((l, i) => {
        const p = peers.get(l.name);
        const sub = l.relay ? 'signaling' : p ? [str(p.kind), p.stack == null ? '' : str(p.version)].filter(Boolean).join(' ') : '';
        return s('g', { class: 'lane-label' },
          s('rect', { class: `lane-bg${i % 2 ? ' odd' : ''}${l.relay ? ' relay' : ''}`, x: 0, y: l.y, width: LABEL_W, height: LANE_H }),
          s('text', { class: 'lane-name', x: 8, y: l.y + MARK_Y - 4 }, clip(l.name, 18)),
          s('text', { class: 'lane-sub', x: 8, y: l.y + MARK_Y + 9 }, clip(sub, 22)),
          s('title', {}, p ? `${l.name}: ${str(p.kind)} ${str(p.stack)} ${str(p.version)}` : l.name));
      }));
  }

  function timelineLegend() {
    const item = (shp, color, text) => h('span', { class: 'legend-item' },
      s('svg', { width: 16, height: 16, viewBox: '-8 -8 16 16' }, shape(shp, color)), ` ${text}`);
    return h('div', { class: 'legend small' },
      item('flag', COLOR.step, 'step'), item('diamond', COLOR.desc, 'description / offer, answer'),
      item('circle', COLOR.blue, 'state change'), item('tick', COLOR.cand, 'candidate'), item('bar', COLOR.cand, 'end of candidates'),
      item('tri', COLOR.media, 'track'), item('star', COLOR.media, 'first frame / packet'), item('square', COLOR.dc, 'data channel'),
      item('square', COLOR.info, 'stats'), item('x', COLOR.error, 'error / rejected'),
      h('span', { class: 'legend-item' }, h('span', { class: 'line-swatch media' }), ' media progress'),
      h('span', { class: 'legend-item' }, h('span', { class: 'line-swatch fail' }), ' failure'));
  }

  function timelineBlock(c, after) {
    const tr = c.transcript && typeof c.transcript === 'object' ? c.transcript : {};
    const entries = list(tr.entries).filter((e) => num(e.at) !== null && e.event && typeof e.event === 'object');
    const relay = list(tr.relay).filter((r) => num(r.at) !== null);
    if (!entries.length && !relay.length) {
      return h('p', { class: 'empty-note' }, c.transcript ? 'The transcript is empty.' : 'No transcript: the case did not run.');
    }
    const m = timelineModel(c, entries, relay);
    const box = h('div', { class: 'timeline-box' });
    const info = h('pre', { class: 'event-detail', hidden: true });
    const rangeText = h('span', { class: 'range' });
    const full = m.t1 - m.t0;
    let view = [m.t0, m.t1];
    const onPick = (head, obj) => {
      const { sdp, ...rest } = obj;
      info.hidden = false;
      info.textContent = `${head}\n${JSON.stringify(rest, null, 2)}${sdp ? `\n\nSDP:\n${str(sdp)}` : ''}`;
    };
    const width = () => Math.max(360, box.clientWidth || 700);
    const draw = () => {
      const W = width();
      const svg = drawTimeline(c, m, W, view, onPick);
      box.replaceChildren(svg);
      brush(svg, W);
      const [a, b] = view;
      rangeText.textContent = a === m.t0 && b === m.t1 ? `whole case, ${ms(full)}` : `${a.toFixed(1)} \u2013 ${b.toFixed(1)} ms`;
    };
    // A window of at least 1/2000 of the case (and 0.5 ms), kept inside the case.
    const setView = (a, b) => {
      const min = Math.max(0.5, full / 2000);
      if (b - a < min) { const mid = (a + b) / 2; a = mid - min / 2; b = mid + min / 2; }
      if (b - a >= full) { a = m.t0; b = m.t1; }
      if (a < m.t0) { b += m.t0 - a; a = m.t0; }
      if (b > m.t1) { a -= b - m.t1; b = m.t1; }
      view = [a, b];
      draw();
    };
    const zoom = (f) => { const [a, b] = view, mid = (a + b) / 2, half = ((b - a) * f) / 2; setView(mid - half, mid + half); };
    const pan = (f) => { const [a, b] = view, d = (b - a) * f; setView(a + d, b + d); };
    // Drag across the timeline to look at that stretch.
    function brush(svg, W) {
      const toT = (px) => view[0] + ((px - PAD_L) / (W - PAD_L - PAD_R)) * (view[1] - view[0]);
      let start = null, rect = null;
      const px = (e) => e.clientX - svg.getBoundingClientRect().left;
      svg.addEventListener('pointerdown', (e) => {
        if (e.button !== 0) return;
        start = px(e);
        rect = null;
      });
      svg.addEventListener('pointermove', (e) => {
        if (start === null || Math.abs(px(e) - start) < 4) return;
        if (!rect) { rect = s('rect', { class: 'brush', y: 0, height: svg.height.baseVal.value }); svg.append(rect); try { svg.setPointerCapture(e.pointerId); } catch (_) { /* a synthetic pointer */ } }
        rect.setAttribute('x', Math.min(start, px(e)));
        rect.setAttribute('width', Math.abs(px(e) - start));
      });
      svg.addEventListener('pointerup', (e) => {
        const from = start;
        start = null;
        if (from !== null && rect) setView(toT(Math.min(from, px(e))), toT(Math.max(from, px(e))));
      });
    }
    // The setup: until every peer connected and the first frame or packet arrived.
    const firsts = new Map();
    for (const e of entries) {
      const ev = e.event;
      const key = ev.type === 'connection_state' && ev.state === 'connected' ? `c ${str(e.peer)}`
        : ev.type === 'first_frame' || ev.type === 'first_packet' ? `m ${str(e.peer)}` : null;
      if (key && !firsts.has(key)) firsts.set(key, e.at);
    }
    const setupEnd = firsts.size ? Math.max(...firsts.values()) : null;
    const setup = setupEnd !== null && setupEnd - m.t0 < full * 0.5
      ? h('button', { type: 'button', title: 'zoom to the setup: until connected and the first media', onclick: () => setView(m.t0, m.t0 + (setupEnd - m.t0) * 1.15 + 1) }, 'setup') : null;
    after.push(() => { draw(); redraw = draw; });
    const button = (label, title, onclick) => h('button', { type: 'button', title, onclick }, label);
    return [
      h('div', { class: 'tools' },
        button('\u25c0', 'earlier', () => pan(-0.4)), button('\u2212', 'zoom out', () => zoom(2)),
        button('+', 'zoom in', () => zoom(0.5)), button('\u25b6', 'later', () => pan(0.4)),
        button('fit', 'the whole case', () => setView(m.t0, m.t1)), setup, rangeText,
        h('span', { class: 'muted hint' }, 'drag across the timeline to zoom; hover a mark for its time and event, click it for all of it')),
      h('div', { class: 'timeline-wrap' }, laneLabels(c, m), box),
      timelineLegend(),
      info,
    ];
  }

  // ---------------------------------------------------------------- plots
  function sparkline(pts, w, h0, t0, t1) {
    const ts = pts.map((p) => p[0]);
    const vs = pts.map((p) => p[1]);
    const a = t0 ?? Math.min(...ts), b = t1 ?? Math.max(...ts);
    const lo = Math.min(0, ...vs), hi = Math.max(...vs);
    const X = (t) => 3 + ((t - a) / (b - a || 1)) * (w - 6);
    const Y = (v) => h0 - 3 - ((v - lo) / (hi - lo || 1)) * (h0 - 7);
    const [first, last] = [pts[0], pts[pts.length - 1]];
    return s('svg', { class: 'spark', width: w, height: h0, viewBox: `0 0 ${w} ${h0}` },
      s('line', { class: 'spark-base', x1: 3, x2: w - 3, y1: h0 - 3, y2: h0 - 3 }),
      s('polyline', { points: pts.map(([t, v]) => `${X(t).toFixed(1)},${Y(v).toFixed(1)}`).join(' ') }),
      s('circle', { cx: X(last[0]), cy: Y(last[1]), r: 2.2 }),
      s('title', {}, `${first[1]} at ${at(first[0])} \u2192 ${last[1]} at ${at(last[0])} (${pts.length} points)`));
  }

  // Numeric (and short text) leaves of a stats summary, by path; arrays of objects with a `kind`
  // are keyed by it (`inbound_rtp[video].framesDecoded`).
  function flatten(v, path, out) {
    if (out.length > 300 || v === null || v === undefined) return out;
    if (Array.isArray(v)) {
      const seen = new Set();
      v.forEach((x, i) => {
        let key = String(i);
        if (x && typeof x === 'object' && typeof x.kind === 'string' && !seen.has(x.kind)) { key = x.kind; seen.add(x.kind); }
        flatten(x, `${path}[${key}]`, out);
      });
    } else if (typeof v === 'object') {
      for (const [k, x] of Object.entries(v)) if (!(k === 'kind' && path.endsWith(`[${x}]`))) flatten(x, path ? `${path}.${k}` : k, out);
    } else {
      out.push([path, v]);
    }
    return out;
  }

  function plots(c) {
    const tr = c.transcript && typeof c.transcript === 'object' ? c.transcript : {};
    const entries = list(tr.entries).filter((e) => num(e.at) !== null && e.event && typeof e.event === 'object');
    const peers = [];
    const per = new Map();
    for (const e of entries) {
      const t = e.event.type;
      if (t !== 'media_progress' && t !== 'stats') continue;
      const p = str(e.peer);
      if (!per.has(p)) { per.set(p, { media: new Map(), stats: [] }); peers.push(p); }
      const d = per.get(p);
      if (t === 'stats') d.stats.push({ at: e.at, summary: e.event.summary });
      else if (num(e.event.count) !== null) {
        const k = str(e.event.kind);
        d.media.set(k, [...(d.media.get(k) || []), [e.at, e.event.count]]);
      }
    }
    if (!peers.length) return null;
    const tEnd = Math.max(...entries.map((e) => e.at));
    return section('Media and stats', h('div', { class: 'plots' }, peers.map((p) => {
      const d = per.get(p);
      const media = [...d.media].map(([kind, pts]) => {
        pts.sort((a, b) => a[0] - b[0]);
        const last = pts[pts.length - 1];
        return h('div', { class: 'spark-row' },
          h('span', { class: 'spark-label' }, `${kind} ${unit(kind)}`),
          sparkline(pts, 220, 38, 0, tEnd),
          h('span', { class: 'spark-value' }, `${last[1]} at ${ms(last[0])}`));
      });
      let stats = null;
      if (d.stats.length) {
        const last = d.stats[d.stats.length - 1];
        const rows = flatten(last.summary, '', []).filter(([, v]) => typeof v !== 'string' || v.length < 80);
        const series = new Map();
        if (d.stats.length > 1) {
          for (const st of d.stats) {
            for (const [k, v] of flatten(st.summary, '', [])) if (num(v) !== null) series.set(k, [...(series.get(k) || []), [st.at, v]]);
          }
        }
        stats = h('div', { class: 'stats-box' },
          h('div', { class: 'muted' }, `getStats() at ${ms(last.at)}${d.stats.length > 1 ? `, ${d.stats.length} samples` : ''}`),
          rows.length ? h('table', { class: 'grid-table stats' },
            h('tbody', {}, rows.map(([k, v]) => h('tr', {},
              h('td', { class: 'stat-name' }, k), h('td', { class: 'stat-value' }, str(v)),
              d.stats.length > 1 ? h('td', {}, (series.get(k) || []).length > 1 ? sparkline(series.get(k), 80, 20) : null) : null)))) : h('p', { class: 'empty-note' }, 'empty summary'));
      }
      return h('div', { class: 'peer-plots' }, h('h4', {}, p), media, stats);
    })));
  }

  // ---------------------------------------------------------------- page
  const app = document.getElementById('app') || document.body;
  app.replaceChildren(
    header(),
    h('div', { class: 'layout' },
      h('div', { class: 'left' },
        h('section', { class: 'panel', id: 'matrix-panel' }, h('h2', {}, 'Matrix'), legend(), matrix()),
        h('section', { class: 'panel', id: 'cases' },
          h('div', { class: 'list-head' }, h('h2', {}, 'Cases'), listCount), search, listBody)),
      detail));
  setFilter('');
  let resizeTimer = 0;
  window.addEventListener('resize', () => { clearTimeout(resizeTimer); resizeTimer = setTimeout(() => redraw && redraw(), 150); });
  const fromHash = () => {
    const m = /^#case=(.*)$/.exec(location.hash);
    if (!m) return null;
    try { return decodeURIComponent(m[1]); } catch (_) { return null; }
  };
  window.addEventListener('hashchange', () => { const n = fromHash(); if (n && n !== current && byName.has(n)) select(n, true); });
  const first = fromHash();
  const initial = (first && byName.has(first) && first)
    || str((cases.find((c) => c.outcome === 'failed') || cases.find((c) => c.outcome === 'flaky') || sorted[0] || {}).name);
  if (byName.has(initial)) select(initial, false);
})();
