/**
 * The operator console: plain DOM, no framework, no build. Everything shown comes from the API with
 * the key the user entered, and is put on the page as text (textContent), never as HTML: receipts
 * and audit records can hold what any caller sent.
 */
import { $, ApiError, apiClient, el, session, wireSignIn } from './console-kit.js';

const STATUS_EVERY_MS = 2000;
const HISTORY_EVERY_MS = 10000;
const LISTS_EVERY_MS = 4000;
const CHART_MINUTES = 60;
const MIN_SPAN_MINUTES = 2;
const SVG = 'http://www.w3.org/2000/svg';

/** A table with a caption and column headers; `rows` are its <tr> elements. */
function dataTable(className, caption, headers, rows) {
  return el(
    'table',
    { class: className },
    el('caption', {}, caption),
    el(
      'thead',
      {},
      el(
        'tr',
        {},
        headers.map((h) => el('th', { scope: 'col' }, h)),
      ),
    ),
    el('tbody', {}, rows),
  );
}

/**
 * A button acting on one thing: `name` says which to a screen reader, and `focusKey` keeps the
 * keyboard focus on it when its panel is drawn again.
 */
function actionButton(label, { name, focusKey, onclick, danger = false, disabled = false }) {
  return el(
    'button',
    {
      type: 'button',
      class: danger && 'danger',
      'data-focus-key': focusKey,
      'aria-label': name,
      disabled,
      onclick,
    },
    label,
  );
}

function svg(tag, attrs = {}) {
  const node = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, String(value));
  return node;
}

// ---- the key -------------------------------------------------------------------------------

const api = apiClient(() => signOut('The key was refused (revoked or unknown). Sign in again.'));

// ---- announcements and panel notices ---------------------------------------------------------

let lastAnnounced = '';
function announce(message) {
  if (message === lastAnnounced) return;
  lastAnnounced = message;
  $('#live').textContent = message;
}

/** A panel's data could not be read: say why in the panel instead of leaving it blank or broken. */
function panelProblem(panel, error) {
  const notice = panel.querySelector('.notice');
  if (error instanceof ApiError && error.status === 403) {
    const scope = error.problem.requiredScope;
    notice.textContent = `This key may not see this panel${scope ? ` (it needs the scope ${scope})` : ''}.`;
    panel.classList.add('forbidden');
  } else {
    notice.textContent = `Could not load: ${error instanceof Error ? error.message : String(error)}`;
  }
  notice.hidden = false;
}

function panelOk(panel) {
  const notice = panel.querySelector('.notice');
  notice.hidden = true;
  notice.textContent = '';
  panel.classList.remove('forbidden');
}

/**
 * Replaces a panel's body only when what it shows changed, and puts keyboard focus back on the
 * control that had it (matched by its data-focus-key): polling must not pull focus from the user.
 */
function renderInto(container, signature, build) {
  if (container.dataset.signature === signature) return;
  const focused = document.activeElement;
  const focusKey = focused && container.contains(focused) ? focused.dataset.focusKey : undefined;
  container.replaceChildren(...build());
  container.dataset.signature = signature;
  if (focusKey) {
    const again = [...container.querySelectorAll('[data-focus-key]')].find(
      (node) => node.dataset.focusKey === focusKey,
    );
    if (again) again.focus();
  }
}

// ---- formatting ------------------------------------------------------------------------------

function duration(seconds) {
  if (seconds === null || seconds === undefined) return 'unknown';
  const s = Math.round(seconds);
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
}

const time = (iso) => (iso ? new Date(iso).toLocaleString() : '');
const shown = (value) => (value === undefined ? '(absent)' : JSON.stringify(value));

// ---- connections: state and chart ----------------------------------------------------------

/** Per connection: samples from the history endpoint plus those taken from live status polls. */
const series = new Map();
let connectionNames = [];

function keepRecent(samples) {
  const from = Date.now() - CHART_MINUTES * 60_000;
  return samples.filter((s) => s.at >= from).sort((a, b) => a.at - b.at);
}

function appendLive(name, status) {
  const samples = series.get(name) ?? [];
  samples.push({
    at: Date.now(),
    backlog: status.queue.queued + status.queue.sending,
    failed: status.queue.failed,
    needsReview: status.queue.needsReview,
    drainPerSecond: status.drain.perSecond,
    breaker: status.breaker.state,
  });
  series.set(name, keepRecent(samples));
}

async function refreshHistory() {
  for (const name of connectionNames) {
    try {
      const history = await api(
        'GET',
        `/v1/status/history?connection=${encodeURIComponent(name)}&minutes=${CHART_MINUTES}`,
      );
      const stored = history.samples;
      const lastStored = stored.length > 0 ? stored[stored.length - 1].at : 0;
      const live = (series.get(name) ?? []).filter((s) => s.at > lastStored);
      series.set(name, keepRecent([...stored, ...live]));
    } catch {
      // The live samples keep the chart going; the next refresh tries again.
    }
  }
}

function chart(name) {
  const samples = series.get(name) ?? [];
  const width = 640;
  const height = 180;
  const pad = { left: 44, right: 44, top: 12, bottom: 24 };
  const plotW = width - pad.left - pad.right;
  const plotH = height - pad.top - pad.bottom;
  const now = Date.now();
  // The hour at most; a history shorter than that is spread over the width (two minutes at least).
  const first = samples.length > 0 ? samples[0].at : now;
  const from = Math.max(now - CHART_MINUTES * 60_000, Math.min(first, now - MIN_SPAN_MINUTES * 60_000));
  const spanMinutes = Math.round((now - from) / 60_000);
  const maxBacklog = Math.max(1, ...samples.map((s) => s.backlog));
  const maxDrain = Math.max(0.1, ...samples.map((s) => s.drainPerSecond));
  const x = (at) => pad.left + ((at - from) / (now - from)) * plotW;
  const yBacklog = (v) => pad.top + plotH - (v / maxBacklog) * plotH;
  const yDrain = (v) => pad.top + plotH - (v / maxDrain) * plotH;
  const last = samples[samples.length - 1];
  const summary =
    samples.length === 0
      ? `No samples yet for ${name}.`
      : `Backlog and drain of ${name}, last ${CHART_MINUTES} minutes: ${samples.length} samples; ` +
        `backlog now ${last.backlog}, highest ${maxBacklog}; drain now ${last.drainPerSecond} per second.`;

  const root = svg('svg', {
    viewBox: `0 0 ${width} ${height}`,
    class: 'chart',
    role: 'img',
    'aria-label': summary,
    'data-points': samples.length,
  });
  const title = svg('title');
  title.textContent = summary;
  root.append(title);
  root.append(svg('rect', { x: pad.left, y: pad.top, width: plotW, height: plotH, class: 'plot' }));
  // Where the breaker was not closed: a band behind the lines.
  samples.forEach((s, i) => {
    if (s.breaker === 'closed') return;
    const next = samples[i + 1];
    const x0 = x(s.at);
    const x1 = next ? x(next.at) : Math.min(x0 + 4, pad.left + plotW);
    root.append(
      svg('rect', {
        x: x0,
        y: pad.top,
        width: Math.max(1, x1 - x0),
        height: plotH,
        class: s.breaker === 'open' ? 'band-open' : 'band-half',
      }),
    );
  });
  const line = (values, cls) => {
    if (samples.length === 0) return;
    const points = samples.map((s) => `${x(s.at).toFixed(1)},${values(s).toFixed(1)}`).join(' ');
    root.append(svg('polyline', { points, class: cls }));
    const end = samples[samples.length - 1];
    root.append(svg('circle', { cx: x(end.at), cy: values(end), r: 3, class: `${cls}-dot` }));
  };
  line((s) => yBacklog(s.backlog), 'line-backlog');
  line((s) => yDrain(s.drainPerSecond), 'line-drain');
  const label = (text, attrs) => {
    const t = svg('text', attrs);
    t.textContent = text;
    root.append(t);
  };
  label(String(maxBacklog), {
    x: pad.left - 6,
    y: pad.top + 10,
    class: 'axis axis-backlog',
    'text-anchor': 'end',
  });
  label('0', { x: pad.left - 6, y: pad.top + plotH, class: 'axis', 'text-anchor': 'end' });
  label(`${maxDrain}/s`, { x: pad.left + plotW + 6, y: pad.top + 10, class: 'axis axis-drain' });
  label(`-${spanMinutes} min`, { x: pad.left, y: height - 6, class: 'axis' });
  label('now', { x: pad.left + plotW, y: height - 6, class: 'axis', 'text-anchor': 'end' });
  return root;
}

function connectionCard(name, c) {
  const backlog = c.queue.queued + c.queue.sending;
  const fact = (field, term, value) => [
    el('dt', {}, term),
    el('dd', { 'data-field': field, class: `value-${String(value).replace(/[^a-z-]/g, '')}` }, String(value)),
  ];
  return el(
    'article',
    { class: `connection state-${c.state}`, 'data-connection': name, 'aria-labelledby': `conn-${name}` },
    el('h3', { id: `conn-${name}` }, name, ' ', el('span', { class: 'badge' }, c.state)),
    c.reason ? el('p', { class: 'reason' }, c.reason) : null,
    el(
      'dl',
      { class: 'facts' },
      fact('breaker', 'Breaker', c.breaker.state),
      fact('credentials', 'Credentials', c.credentials.state),
      fact('backlog', 'Backlog (queued + sending)', backlog),
      fact('failed', 'Failed', c.queue.failed),
      fact('needs-review', 'Needs review', c.queue.needsReview),
      fact(
        'oldest',
        'Oldest pending',
        c.queue.oldestPendingAgeSeconds === null ? 'none' : duration(c.queue.oldestPendingAgeSeconds),
      ),
      fact('drain', 'Drain rate', `${c.drain.perSecond} per second`),
      fact(
        'eta',
        'Drained in',
        c.drain.etaSeconds === null ? 'unknown (not draining)' : duration(c.drain.etaSeconds),
      ),
    ),
    el(
      'figure',
      { class: 'chart-figure' },
      chart(name),
      el(
        'figcaption',
        {},
        el('span', { class: 'key-backlog' }, 'Backlog'),
        ' and ',
        el('span', { class: 'key-drain' }, 'drain per second'),
        ', last hour; shaded where the breaker was open.',
      ),
    ),
  );
}

let lastStates = new Map();

async function refreshStatus() {
  const panel = $('#connections');
  let status;
  try {
    status = await api('GET', '/v1/status');
  } catch (error) {
    panelProblem(panel, error);
    return;
  }
  panelOk(panel);
  const entries = Object.entries(status.connections);
  const names = entries.map(([name]) => name);
  const newNames = names.join(',') !== connectionNames.join(',');
  connectionNames = names;
  if (newNames) {
    fillConnectionSelect();
    await refreshHistory();
  }
  const changes = [];
  for (const [name, c] of entries) {
    appendLive(name, c);
    const summary = `breaker ${c.breaker.state}, credentials ${c.credentials.state}`;
    const before = lastStates.get(name);
    if (before !== undefined && before !== summary) changes.push(`${name}: ${summary}`);
    lastStates.set(name, summary);
  }
  if (changes.length > 0) announce(`Connection changed: ${changes.join('; ')}.`);
  // The chart moves with every poll, so the cards are rebuilt each time; they hold no controls.
  $('#connections .body').replaceChildren(
    ...(entries.length === 0
      ? [el('p', {}, 'This key’s tenant has no EHR connection.')]
      : entries.map(([name, c]) => connectionCard(name, c))),
  );
}

function fillConnectionSelect() {
  const select = $('#replay-connection');
  const current = select.value;
  select.replaceChildren(...connectionNames.map((name) => el('option', { value: name }, name)));
  if (connectionNames.includes(current)) select.value = current;
}

// ---- failed and needs-review writes ----------------------------------------------------------

function reasonOf(op) {
  if (op.review?.reason) return op.review.reason;
  if (op.lastError) {
    const ehr = op.lastError.ehrStatus ? ` (EHR answered ${op.lastError.ehrStatus})` : '';
    return `${op.lastError.code}${ehr}${op.lastError.detail ? `: ${op.lastError.detail}` : ''}`;
  }
  return 'no reason recorded';
}

function diffTable(op) {
  const fields = op.review?.fields ?? [];
  if (fields.length === 0) return el('span', { class: 'muted' }, 'no field-level difference');
  return dataTable(
    'diff',
    `Fields of ${op.operationId}`,
    ['Field', 'Was', 'Now in the EHR', 'Requested'],
    fields.map((f) =>
      el(
        'tr',
        {},
        el('th', { scope: 'row' }, f.element),
        el('td', {}, shown(f.base)),
        el('td', {}, shown(f.current)),
        el('td', {}, shown(f.requested)),
      ),
    ),
  );
}

async function operatorAction(op, action) {
  const verb = action === 'retry' ? 'Retry' : 'Cancel';
  const consequence =
    action === 'retry' ? 'It is queued again and sent to the EHR.' : 'It will not be sent to the EHR.';
  if (!window.confirm(`${verb} write ${op.operationId} (${op.kind})? ${consequence}`)) return;
  try {
    const receipt = await api('POST', `/v1/operations/${encodeURIComponent(op.operationId)}/${action}`, {});
    announce(`${verb}: ${op.operationId} is now ${receipt.status}.`);
  } catch (error) {
    announce(`${verb} of ${op.operationId} refused: ${error.message}`);
  }
  await refreshWrites();
}

async function refreshWrites() {
  const panel = $('#writes');
  const ops = [];
  try {
    for (const connection of connectionNames) {
      for (const status of ['failed', 'needs-review']) {
        const found = await api(
          'GET',
          `/v1/operations?status=${status}&connection=${encodeURIComponent(connection)}&limit=100`,
        );
        ops.push(...found.operations);
      }
    }
  } catch (error) {
    panelProblem(panel, error);
    return;
  }
  panelOk(panel);
  ops.sort((a, b) => b.updatedAt.localeCompare(a.updatedAt));
  renderInto(
    $('#writes .body'),
    JSON.stringify(ops.map((o) => [o.operationId, o.status, o.updatedAt])),
    () =>
      ops.length === 0
        ? [el('p', { 'data-empty': 'writes' }, 'No failed or needs-review writes.')]
        : [
            dataTable(
              'list',
              `${ops.length} ${ops.length === 1 ? 'write' : 'writes'} waiting for an operator`,
              ['Operation', 'Kind', 'Status', 'Patient', 'Reason', 'Changes', 'Actions'],
              ops.map((op) =>
                el(
                  'tr',
                  { 'data-operation': op.operationId },
                  el('th', { scope: 'row' }, el('code', {}, op.operationId)),
                  el('td', {}, op.kind),
                  el('td', { 'data-field': 'status' }, op.status),
                  el('td', {}, op.patientId ?? ''),
                  el(
                    'td',
                    { 'data-field': 'reason' },
                    reasonOf(op),
                    // A profile rule failed on this record: the workbench opens both.
                    op.lastError?.mapping
                      ? el(
                          'a',
                          {
                            class: 'workbench-link',
                            href: `/console/mappings#op=${encodeURIComponent(op.operationId)}`,
                          },
                          'Open in the mapping workbench',
                        )
                      : '',
                  ),
                  el('td', {}, diffTable(op)),
                  el(
                    'td',
                    { class: 'actions' },
                    actionButton('Retry', {
                      name: `Retry ${op.operationId}`,
                      focusKey: `retry-${op.operationId}`,
                      onclick: () => void operatorAction(op, 'retry'),
                    }),
                    actionButton('Cancel', {
                      name: `Cancel ${op.operationId}`,
                      focusKey: `cancel-${op.operationId}`,
                      onclick: () => void operatorAction(op, 'cancel'),
                      danger: true,
                    }),
                  ),
                ),
              ),
            ),
          ],
  );
}

// ---- replay runs -----------------------------------------------------------------------------

async function stopReplay(run) {
  if (!window.confirm(`Stop replay ${run.replayId}? Writes it has not re-queued yet stay failed.`)) return;
  try {
    const stopped = await api('POST', `/v1/operations/replay/${encodeURIComponent(run.replayId)}/stop`, {});
    announce(`Replay ${run.replayId} asked to stop after ${stopped.requeued} of ${stopped.total}.`);
  } catch (error) {
    announce(`Stop of ${run.replayId} refused: ${error.message}`);
  }
  await refreshReplays();
}

async function startReplay(event) {
  event.preventDefault();
  const status = [
    ...($('#replay-failed').checked ? ['failed'] : []),
    ...($('#replay-review').checked ? ['needs-review'] : []),
  ];
  if (status.length === 0) {
    announce('Choose which writes to replay: failed, needs review or both.');
    return;
  }
  const connection = $('#replay-connection').value || undefined;
  const ratePerSecond = Number($('#replay-rate').value);
  const filter = { status, ...(connection ? { connection } : {}) };
  try {
    const plan = await api('POST', '/v1/operations/replay', { ...filter, dryRun: true });
    if (plan.count === 0) {
      announce('Nothing to replay.');
      return;
    }
    const risk =
      plan.duplicateRisk.count > 0
        ? ` ${plan.duplicateRisk.count} may have reached the EHR already; each is read back first.`
        : '';
    if (!window.confirm(`Replay ${plan.count} writes at ${ratePerSecond} per second?${risk}`)) return;
    const run = await api('POST', '/v1/operations/replay', { ...filter, dryRun: false, ratePerSecond });
    announce(`Replay ${run.replayId} started: ${run.total} writes.`);
  } catch (error) {
    announce(`Replay refused: ${error.message}`);
  }
  await refreshReplays();
}

async function refreshReplays() {
  const panel = $('#replays');
  let runs;
  try {
    runs = (await api('GET', '/v1/operations/replay')).runs;
  } catch (error) {
    panelProblem(panel, error);
    $('#replay-form').hidden = error instanceof ApiError && error.status === 403;
    return;
  }
  panelOk(panel);
  $('#replay-form').hidden = false;
  renderInto($('#replays .body'), JSON.stringify(runs), () =>
    runs.length === 0
      ? [el('p', {}, 'No replay run in this gateway process.')]
      : [
          dataTable(
            'list',
            'Replay runs started through this gateway process',
            ['Run', 'State', 'Progress', 'Rate', 'Started', 'Action'],
            runs.map((run) =>
              el(
                'tr',
                { 'data-replay': run.replayId },
                el('th', { scope: 'row' }, el('code', {}, run.replayId)),
                el('td', { 'data-field': 'state' }, run.state),
                el(
                  'td',
                  {},
                  el('progress', {
                    max: Math.max(1, run.total),
                    value: run.requeued + run.skipped,
                    'aria-label': `Progress of ${run.replayId}`,
                  }),
                  ' ',
                  el(
                    'span',
                    { 'data-field': 'progress' },
                    `${run.requeued} re-queued, ${run.skipped} skipped, of ${run.total}`,
                  ),
                ),
                el('td', {}, `${run.ratePerSecond} per second`),
                el('td', {}, time(run.startedAt)),
                el(
                  'td',
                  { class: 'actions' },
                  run.state === 'running'
                    ? actionButton('Stop', {
                        name: `Stop ${run.replayId}`,
                        focusKey: `stop-${run.replayId}`,
                        onclick: () => void stopReplay(run),
                        danger: true,
                      })
                    : '',
                ),
              ),
            ),
          ),
        ],
  );
}

// ---- event subscribers -----------------------------------------------------------------------

async function replayDeadLetters(subscriber) {
  if (
    !window.confirm(
      `Send the ${subscriber.deadLetters} dead letters of ${subscriber.name} again, and enable it?`,
    )
  )
    return;
  try {
    const done = await api(
      'POST',
      `/v1/events/subscribers/${encodeURIComponent(subscriber.name)}/replay`,
      {},
    );
    announce(`${done.requeued} events of ${subscriber.name} queued again.`);
  } catch (error) {
    announce(`Replay of ${subscriber.name} refused: ${error.message}`);
  }
  await refreshSubscribers();
}

async function refreshSubscribers() {
  const panel = $('#subscribers');
  let subscribers;
  try {
    subscribers = (await api('GET', '/v1/events/subscribers')).subscribers;
  } catch (error) {
    panelProblem(panel, error);
    return;
  }
  panelOk(panel);
  renderInto($('#subscribers .body'), JSON.stringify(subscribers), () =>
    subscribers.length === 0
      ? [el('p', {}, 'No event subscriber for this key’s tenant.')]
      : [
          dataTable(
            'list',
            'Event subscribers',
            ['Subscriber', 'State', 'Waiting', 'Dead letters', 'Action'],
            subscribers.map((s) =>
              el(
                'tr',
                { 'data-subscriber': s.name },
                el('th', { scope: 'row' }, s.name),
                el(
                  'td',
                  {},
                  s.disabled ? `disabled since ${time(s.disabled.at)}: ${s.disabled.reason}` : 'enabled',
                ),
                el('td', {}, String(s.waiting)),
                el('td', {}, String(s.deadLetters)),
                el(
                  'td',
                  { class: 'actions' },
                  actionButton('Replay dead letters', {
                    name: `Replay dead letters of ${s.name}`,
                    focusKey: `replay-${s.name}`,
                    onclick: () => void replayDeadLetters(s),
                    disabled: s.deadLetters === 0 && !s.disabled,
                  }),
                ),
              ),
            ),
          ),
        ],
  );
}

// ---- audit search ----------------------------------------------------------------------------

function auditQuery(cursor) {
  const params = new URLSearchParams();
  const text = (id, name) => {
    const value = $(id).value.trim();
    if (value) params.set(name, value);
  };
  text('#audit-patient', 'patient');
  text('#audit-client', 'client');
  text('#audit-agent', 'agent');
  for (const [id, name] of [
    ['#audit-since', 'since'],
    ['#audit-until', 'until'],
  ]) {
    const value = $(id).value;
    if (value) params.set(name, new Date(value).toISOString());
  }
  text('#audit-limit', 'limit');
  if (cursor) params.set('cursor', cursor);
  return params.toString();
}

function whoOf(event) {
  return (event.agent ?? [])
    .map((a) => a.who?.identifier?.value ?? a.who?.display ?? '')
    .filter(Boolean)
    .join(', ');
}

function whatOf(event) {
  return (event.entity ?? [])
    .map((e) => e.what?.reference ?? e.name ?? e.what?.identifier?.value ?? '')
    .filter(Boolean)
    .join(', ');
}

async function searchAudit(event, cursor) {
  event?.preventDefault();
  const panel = $('#audit');
  const body = $('#audit .body');
  let page;
  try {
    page = await api('GET', `/v1/audit?${auditQuery(cursor)}`);
  } catch (error) {
    panelProblem(panel, error);
    return;
  }
  panelOk(panel);
  const rows = page.auditEvents.map((e) =>
    el(
      'tr',
      {},
      el('td', {}, time(e.recorded)),
      el(
        'td',
        {},
        (e.subtype ?? [])
          .map((s) => s.code)
          .filter(Boolean)
          .slice(-1)[0] ?? '',
      ),
      el('td', {}, e.outcomeDesc ?? e.outcome ?? ''),
      el('td', {}, whoOf(e)),
      el('td', {}, whatOf(e)),
    ),
  );
  const existing = cursor ? body.querySelector('tbody') : null;
  if (existing) {
    existing.append(...rows);
  } else {
    body.replaceChildren(
      dataTable(
        'list',
        page.count === 0 ? 'No audit record matches.' : 'Audit records, newest first',
        ['Recorded', 'Act', 'Outcome', 'Who', 'What'],
        rows,
      ),
    );
  }
  body.querySelector('.more')?.remove();
  if (page.next) {
    body.append(
      el(
        'button',
        { type: 'button', class: 'more', onclick: () => void searchAudit(undefined, page.next) },
        'More records',
      ),
    );
  }
  announce(`Audit search: ${page.count} records${page.next ? ', more available' : ''}.`);
}

// ---- signing in and out, polling -------------------------------------------------------------

const timers = [];

function stopPolling() {
  while (timers.length > 0) clearInterval(timers.pop());
}

function signOut(message) {
  stopPolling();
  session.clear();
  series.clear();
  lastStates = new Map();
  connectionNames = [];
  for (const body of document.querySelectorAll('#panels .body')) {
    body.replaceChildren();
    delete body.dataset.signature;
  }
  $('#panels').hidden = true;
  $('#sign-out').hidden = true;
  $('#sign-in').hidden = false;
  $('#sign-in-error').textContent = message ?? '';
  announce(message ?? 'Signed out.');
  $('#api-key').focus();
}

async function refreshLists() {
  await Promise.all([refreshWrites(), refreshReplays(), refreshSubscribers()]);
}

/** Runs `work` every `ms`, never two at once (a slow API must not stack requests up). */
function every(ms, work) {
  let busy = false;
  timers.push(
    setInterval(() => {
      if (busy || !session.key) return;
      busy = true;
      work()
        .catch(() => undefined)
        .finally(() => {
          busy = false;
        });
    }, ms),
  );
}

async function startConsole() {
  $('#sign-in').hidden = true;
  $('#panels').hidden = false;
  $('#sign-out').hidden = false;
  await refreshStatus();
  if (!session.key) return;
  await refreshLists();
  announce('Signed in.');
  $('#connections-title').setAttribute('tabindex', '-1');
  $('#connections-title').focus();
  every(STATUS_EVERY_MS, refreshStatus);
  every(HISTORY_EVERY_MS, refreshHistory);
  every(LISTS_EVERY_MS, refreshLists);
}

function init() {
  wireSignIn(startConsole, signOut);
  $('#replay-form').addEventListener('submit', (event) => void startReplay(event));
  $('#audit-form').addEventListener('submit', (event) => void searchAudit(event));
  if (session.key) void startConsole();
  else $('#api-key').focus();
}

init();
