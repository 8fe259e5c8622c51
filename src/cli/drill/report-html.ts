/**
 * The drill report as one self-contained HTML page: inline CSS and inline SVG, no script, no
 * external request, so it can be mailed, archived and opened offline. It shows references and
 * counts only, never PHI.
 */
import { drillPassed, type DrillReport } from './drill-report';
import { escapeXml as esc, lineChart, type Band } from './svg-chart';
import type { Stage } from './scenarios';

const STAGE_COLOR: Record<Stage, string> = {
  none: 'rgba(120,144,156,0.06)',
  'ehr-down': 'rgba(229,57,53,0.16)',
  'ehr-at-capacity': 'rgba(251,140,0,0.18)',
  'site-closure': 'rgba(142,36,170,0.14)',
  'credentials-revoked': 'rgba(253,216,53,0.28)',
};
const SOLID: Record<Stage, string> = {
  none: '#90a4ae',
  'ehr-down': '#e53935',
  'ehr-at-capacity': '#fb8c00',
  'site-closure': '#8e24aa',
  'credentials-revoked': '#f9a825',
};

const CSS = `
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1f2933;margin:0;background:#f5f7fa}
main{max-width:960px;margin:0 auto;padding:24px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:16px;margin:28px 0 8px}
.sub{color:#52606d;margin:0 0 16px}
.verdict{padding:12px 16px;border-radius:8px;font-weight:600;font-size:16px;margin:12px 0}
.pass{background:#e3f9e5;color:#0e5e1f;border:1px solid #8eedc7}.fail{background:#ffe3e3;color:#8a1c1c;border:1px solid #ff9b9b}
.tiles{display:grid;grid-template-columns:repeat(4,1fr);gap:10px}
.tile{background:#fff;border:1px solid #d9e2ec;border-radius:8px;padding:10px 12px}
.tile b{display:block;font-size:22px}.tile span{color:#52606d;font-size:12px}
.card{background:#fff;border:1px solid #d9e2ec;border-radius:8px;padding:8px;margin:10px 0}
svg{display:block;max-width:100%;height:auto}
.chart-title{font-size:13px;font-weight:600;fill:#1f2933}.tick{font-size:11px;fill:#52606d}
.axis-label{font-size:11px;fill:#52606d}.legend{font-size:11px;fill:#1f2933}.band-label{font-size:11px;fill:#3e4c59}
.grid{stroke:#e4e7eb}.axis{stroke:#9aa5b1}.marker{stroke:#3e4c59;stroke-dasharray:3 3}
table{border-collapse:collapse;width:100%;font-size:13px;background:#fff;border:1px solid #d9e2ec}
th,td{padding:5px 6px;border-bottom:1px solid #e4e7eb;text-align:right}th:first-child,td:first-child{text-align:left}
th{background:#f0f4f8;font-weight:600}td{white-space:nowrap}
.note{color:#52606d;font-size:12px}.warn{color:#8a1c1c}
`;

const ms = (value: number | null | undefined) =>
  value === null || value === undefined ? '—' : `${Math.round(value)} ms`;
const pct = (value: number | null) => (value === null ? '—' : `${Math.round(value * 100)}%`);
const secs = (value: number | null) => (value === null ? '—' : `${(value / 1000).toFixed(1)} s`);
/** A length for the title: minutes past two of them. */
const length = (value: number) =>
  value >= 120_000 ? `${Number((value / 60_000).toFixed(1))} min` : secs(value);

export function renderDrillHtml(report: DrillReport): string {
  const { drill, phases, calls, backlog, writes, events } = report;
  const bands: Band[] = phases.map((p) => ({
    startMs: p.startMs,
    endMs: p.endMs,
    label: p.label + (p.staged ? '' : ' (not staged)'),
    color: STAGE_COLOR[p.stage],
  }));
  const xMaxMs = Math.max(drill.wallMs, backlog.samples.at(-1)?.atMs ?? 0);
  const mid = (b: { startMs: number; endMs: number }) => (b.startMs + b.endMs) / 2;
  const timelineEnd = [{ atMs: drill.wallMs, label: 'timeline ends' }];
  const passed = drillPassed(report);
  const eventsDelivered =
    events.deliveredOperationEvents === null
      ? Object.keys(events.subscribers).length === 0
        ? 'not checked'
        : 'see Events'
      : `${events.deliveredOperationEvents} / ${events.expectedOperationEvents}`;

  const callsChart = lineChart({
    title: 'Calls per second, and errors per second',
    yLabel: 'calls/s',
    xMaxMs,
    bands,
    series: [
      { name: 'calls/s', color: '#1e88e5', points: calls.overTime.map((b) => [mid(b), b.callsPerSecond]) },
      {
        name: 'errors/s',
        color: '#e53935',
        points: calls.overTime.map((b) => [mid(b), (b.errors * 1000) / Math.max(1, b.endMs - b.startMs)]),
      },
    ],
    markers: timelineEnd,
  });
  const latencyChart = lineChart({
    title: 'Latency per call: p50 and p99',
    yLabel: 'ms',
    xMaxMs,
    bands,
    series: [
      { name: 'p50', color: '#43a047', points: calls.overTime.map((b) => [mid(b), b.p50Ms]) },
      { name: 'p99', color: '#6d4c41', points: calls.overTime.map((b) => [mid(b), b.p99Ms]) },
    ],
    markers: timelineEnd,
  });
  const cacheChart = lineChart({
    title: 'Reads answered from the continuity cache',
    yLabel: '% of reads',
    xMaxMs,
    bands,
    height: 180,
    series: [
      {
        name: 'from cache',
        color: '#8e24aa',
        points: calls.overTime.map((b) => [mid(b), b.cacheShare === null ? null : b.cacheShare * 100]),
      },
    ],
    markers: timelineEnd,
  });
  const backlogChart = lineChart({
    title: 'Write backlog (queued and sending, from /v1/status)',
    yLabel: 'writes',
    xMaxMs,
    bands,
    series: [{ name: 'backlog', color: '#f4511e', points: backlog.samples.map((s) => [s.atMs, s.backlog]) }],
    markers: timelineEnd,
  });

  const rows = calls.byPhase
    .map(
      (p) =>
        `<tr><td>${esc(p.label)}</td><td>${secs(p.startMs)} – ${secs(p.endMs)}</td><td>${p.calls}</td><td>${p.served}</td>` +
        `<td>${p.callsPerSecond}</td><td>${ms(p.p50Ms)}</td><td>${ms(p.p99Ms)}</td><td>${pct(p.cacheShare)}</td>` +
        `<td>${p.refused}</td><td>${p.errors}</td><td>${p.writesAccepted}</td></tr>`,
    )
    .join('');
  const byKind = Object.entries(writes.byKind)
    .map(([kind, f]) => `<tr><td>${esc(kind)}</td><td>${f.accepted}</td><td>${f.landedOnce}</td></tr>`)
    .join('');
  const staged = report.staging
    .map(
      (a) =>
        `<tr><td>${esc(a.action)}</td><td>${esc(a.phase)}</td><td>${secs(a.atMs)}</td><td>${a.status}</td></tr>`,
    )
    .join('');
  const notStaged = Object.entries(report.notStaged)
    .map(([stage, reason]) => `<li>${esc(stage)}: ${esc(reason)}</li>`)
    .join('');
  const eventTypes = Object.entries(events.byType)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([type, n]) => `<tr><td>${esc(type)}</td><td>${n}</td></tr>`)
    .join('');
  const closure = report.closure;

  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>Continuum drill: ${esc(drill.scenario)} (${esc(drill.startedAt)})</title>
<style>${CSS}</style></head>
<body><main>
<h1>Drill: ${esc(drill.scenario)}</h1>
<p class="sub">${esc(drill.startedAt)} · timeline ${length(drill.durationMs)}${drill.compress !== 1 ? ` compressed ${drill.compress}× to ${length(drill.wallMs)}` : ''} · ${drill.baseRate} calls/s at baseline · target: ${esc(drill.target)} · run ${esc(drill.runId)}</p>
<div class="verdict ${passed ? 'pass' : 'fail'}">${passed ? '✔' : '✘'} Writes: lost ${writes.lost}, duplicated ${writes.duplicated} — ${writes.landedOnce} of ${writes.accepted} accepted writes are in the EHR exactly once${writes.failed + writes.needsReview > 0 ? `; ${writes.failed} refused by the EHR, ${writes.needsReview} held for review` : ''}${writes.notDrained > 0 ? `; ${writes.notDrained} still queued when the drill stopped waiting` : ''}${closureVerdict(closure)}</div>
<div class="tiles">
<div class="tile"><b>${calls.total}</b><span>calls made</span></div>
<div class="tile"><b>${calls.byPhase.reduce((s, p) => s + p.served, 0)}</b><span>calls served (2xx)</span></div>
<div class="tile"><b>${writes.accepted}</b><span>writes accepted</span></div>
<div class="tile"><b>${writes.landedOnce}</b><span>counted once in the EHR</span></div>
<div class="tile"><b>${backlog.peak}</b><span>peak write backlog</span></div>
<div class="tile"><b>${secs(backlog.timeToDrainMs)}</b><span>time to drain after the trouble ended</span></div>
<div class="tile"><b>${eventsDelivered}</b><span>write outcome events delivered</span></div>
<div class="tile"><b>${writes.lost} / ${writes.duplicated}</b><span>lost / duplicated</span></div>
</div>
<h2>Timeline</h2>
<div class="card">${timelineSvg(report, xMaxMs)}</div>
${notStaged !== '' ? `<p class="note warn">Not staged (load only): </p><ul class="note">${notStaged}</ul>` : ''}
<h2>Calls</h2>
<div class="card">${callsChart}</div>
<div class="card">${latencyChart}</div>
<div class="card">${cacheChart}</div>
<h2>Write backlog</h2>
<div class="card">${backlogChart}</div>
<p>${backlog.acceptedDuringTrouble} writes accepted during the trouble; ${backlog.drainedAfterTrouble} of them drained into the EHR after it${backlog.drainedAfterTrouble === backlog.acceptedDuringTrouble ? ' (all)' : ''}.</p>
<p class="note">Peak ${backlog.peak} writes${backlog.peakAtMs !== null ? ` at ${secs(backlog.peakAtMs)}` : ''}; ${backlog.drained ? `empty again ${secs(backlog.timeToDrainMs)} after the last staged trouble ended` : 'not drained when the drill stopped waiting'}.</p>
<h2>Per phase</h2>
<table><thead><tr><th>Phase</th><th>Time</th><th>Calls</th><th>Served</th><th>Calls/s</th><th>p50</th><th>p99</th><th>From cache</th><th>Refused (4xx)</th><th>Errors</th><th>Writes accepted</th></tr></thead><tbody>${rows}</tbody></table>
${codesNote(calls.byPhase)}
<p class="note">${calls.skippedAtConcurrencyBound} calls were not sent because the drill's bound of calls in flight was reached.</p>
<h2>Writes, checked against the EHR's own history</h2>
<table><thead><tr><th>Outcome</th><th>Writes</th></tr></thead><tbody>
<tr><td>Accepted by the gateway</td><td>${writes.accepted}</td></tr>
<tr><td>Succeeded (receipt)</td><td>${writes.succeeded}</td></tr>
<tr><td>In the EHR exactly once</td><td>${writes.landedOnce}</td></tr>
<tr><td>Refused by the EHR (failed) / held for review</td><td>${writes.failed} / ${writes.needsReview}</td></tr>
<tr><td>Not drained when the drill stopped waiting</td><td>${writes.notDrained}</td></tr>
<tr><td><b>Lost</b></td><td><b>${writes.lost}</b></td></tr>
<tr><td><b>Duplicated</b></td><td><b>${writes.duplicated}</b></td></tr>
<tr><td>Refused yet applied</td><td>${writes.appliedDespiteFailure}</td></tr>
<tr><td>Could not be checked</td><td>${writes.unchecked}</td></tr>
</tbody></table>
<table style="margin-top:8px"><thead><tr><th>EHR resource</th><th>Accepted</th><th>Once in the EHR</th></tr></thead><tbody>${byKind}</tbody></table>
<p class="note">Creates are found by the operation's business identifier (urn:continuum:operation|id); demographic corrections by the patient's _history (the change appears in exactly one version).</p>
<h2>Events</h2>
${eventsParagraph(events, eventsDelivered)}
${eventTypes !== '' ? `<table><thead><tr><th>Event type</th><th>Delivered (distinct)</th></tr></thead><tbody>${eventTypes}</tbody></table>` : ''}
${closure !== undefined ? closureSection(closure, { xMaxMs, bands, markers: timelineEnd }) : ''}
<h2>What the drill staged</h2>
${staged !== '' ? `<table><thead><tr><th>Action</th><th>Phase</th><th>At</th><th>HTTP</th></tr></thead><tbody>${staged}</tbody></table>` : '<p class="note">Nothing: load only.</p>'}
<p class="note">Generated by continuum drill run. References and counts only; no patient data.</p>
</main></body></html>
`;
}

function timelineSvg(report: DrillReport, xMaxMs: number): string {
  const width = 900;
  const height = 64;
  const left = 56;
  const plot = width - left - 16;
  const x = (t: number) => left + (Math.min(t, xMaxMs) / xMaxMs) * plot;
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img" aria-label="Phases">`,
  ];
  for (const p of report.phases) {
    const bx = x(p.startMs);
    const bw = Math.max(0, x(p.endMs) - bx);
    parts.push(
      `<rect x="${bx.toFixed(1)}" y="8" width="${bw.toFixed(1)}" height="28" fill="${SOLID[p.stage]}" opacity="${p.staged ? 0.85 : 0.35}" stroke="#fff"/>`,
      `<text x="${(bx + 6).toFixed(1)}" y="27" style="font-size:12px;fill:#fff;font-weight:600">${esc(p.label)}${p.loadFactor !== 1 ? ` ×${p.loadFactor}` : ''}</text>`,
    );
  }
  const drainEnd = report.drill.wallMs;
  if (xMaxMs > drainEnd) {
    const width = x(xMaxMs) - x(drainEnd);
    parts.push(
      `<rect x="${x(drainEnd).toFixed(1)}" y="8" width="${width.toFixed(1)}" height="28" fill="#cfd8dc"/>`,
      // A drain too short to hold its name keeps the band only.
      width >= 40
        ? `<text x="${(x(drainEnd) + 6).toFixed(1)}" y="27" style="font-size:12px;fill:#37474f">drain</text>`
        : '',
    );
  }
  for (let t = 0; t <= xMaxMs; t += Math.max(1000, Math.round(xMaxMs / 8 / 1000) * 1000)) {
    parts.push(
      `<text x="${x(t).toFixed(1)}" y="54" class="tick" text-anchor="middle">${Math.round(t / 1000)}s</text>`,
    );
  }
  parts.push('</svg>');
  return parts.join('');
}

function closureVerdict(closure: DrillReport['closure']): string {
  const c = closure?.check;
  if (c === undefined) return '';
  return `<br>Site closure: ${c.changedOnce} of ${c.appointments} visits changed once${c.alreadyAsWanted > 0 ? ` (${c.alreadyAsWanted} already as wanted)` : ''}, duplicates ${c.duplicates}, outside scope ${c.outsideScope}; ${c.patientsWithOneCallback} of ${c.patients} patients with one callback`;
}

function closureSection(
  closure: NonNullable<DrillReport['closure']>,
  chart: { xMaxMs: number; bands: Band[]; markers: { atMs: number; label: string }[] },
): string {
  const figures = (o: Record<string, unknown> | undefined) =>
    o === undefined
      ? ''
      : Object.entries(o)
          .filter(([, v]) => typeof v === 'number' || typeof v === 'string')
          .map(([k, v]) => `<tr><td>${esc(k)}</td><td>${esc(String(v as string | number))}</td></tr>`)
          .join('');
  const c = closure.check;
  const samples = closure.samples ?? [];
  const progressChart =
    samples.length === 0
      ? ''
      : `<div class="card">${lineChart({
          title: 'Closure progress (GET /v1/crisis/closures/:id)',
          yLabel: 'writes',
          ...chart,
          series: [
            {
              name: 'visits changed',
              color: '#8e24aa',
              points: samples.map((s) => [s.atMs, s.appointmentsDone]),
            },
            {
              name: 'visits remaining',
              color: '#e53935',
              dashed: true,
              points: samples.map((s) => [s.atMs, s.appointmentsRemaining]),
            },
            {
              name: 'callbacks queued and done',
              color: '#43a047',
              points: samples.map((s) => [s.atMs, s.callbacksDone]),
            },
          ],
        })}</div>`;
  const row = (label: string, value: number, bold = false) =>
    bold
      ? `<tr><td><b>${label}</b></td><td><b>${value}</b></td></tr>`
      : `<tr><td>${label}</td><td>${value}</td></tr>`;
  const checked =
    c === undefined
      ? ''
      : `<table class="closure-check"><thead><tr><th>In the EHR's own records</th><th>Count</th></tr></thead><tbody>
${row('Appointments targeted', c.appointments)}
${row('Changed exactly once (_history)', c.changedOnce)}
${row('Duplicates (changed more than once)', c.duplicates, true)}
${row('Already as wanted before the closure (its receipt says so)', c.alreadyAsWanted)}
${row('Not changed', c.unchanged)}
${row('Changed outside the site or window', c.outsideScope, true)}
${row('Patients affected', c.patients)}
${row('Callback Tasks from the closure', c.callbacks)}
${row('Patients with exactly one callback', c.patientsWithOneCallback)}
${row('Patients without a callback', c.patientsWithoutCallback)}
${row('Patients with several callbacks', c.patientsWithSeveralCallbacks, true)}
${row('Callbacks for patients outside the closure', c.callbacksOutsideScope)}
${row('Could not be checked', c.unchecked)}
</tbody></table>
<p class="note">Each targeted visit's _history is read for versions written since the closure was submitted; callback Tasks are found by the business identifier of their operation (urn:continuum:operation|id), the drill's own callbacks left out.</p>`;
  const last = samples.at(-1);
  return `<h2>Site closure</h2>
${closure.note !== undefined ? `<p class="note warn">${esc(closure.note)}</p>` : ''}
${closure.location !== undefined ? `<p>Closed ${esc(closure.location)} from ${esc(closure.from ?? '')} to ${esc(closure.to ?? '')} (convert to video), submitted at ${secs(closure.submittedAtMs ?? null)}${last !== undefined ? `; last read ${esc(last.status)}, ${last.percent}% at ${secs(last.atMs)}` : ''}.</p>` : ''}
${progressChart}
${checked}
${closure.dryRun !== undefined ? `<p>Dry run</p><table><tbody>${figures(closure.dryRun)}</tbody></table>` : ''}
${closure.progress !== undefined ? `<p>Closure ${esc(closure.id ?? '')} at the end of the drill</p><table><tbody>${figures(closure.progress)}${nested(closure.progress)}</tbody></table>` : ''}`;
}

function nested(progress: Record<string, unknown>): string {
  return ['appointments', 'callbacks']
    .map((key) => {
      const v = progress[key];
      if (typeof v !== 'object' || v === null) return '';
      return Object.entries(v as Record<string, unknown>)
        .map(([k, n]) => `<tr><td>${esc(`${key}.${k}`)}</td><td>${esc(String(n as number))}</td></tr>`)
        .join('');
    })
    .join('');
}

function eventsParagraph(events: DrillReport['events'], delivered: string): string {
  if (events.deliveredOperationEvents !== null) {
    return `<p>${esc(events.source)}: ${delivered} outcome events of the drill's writes delivered${events.badSignatures > 0 ? `; <span class="warn">${events.badSignatures} with a bad signature</span>` : ''}.</p>`;
  }
  const subscribers = Object.entries(events.subscribers);
  if (subscribers.length === 0) {
    return '<p class="note">The gateway has no event subscribers, so delivery was not checked.</p>';
  }
  const rows = subscribers
    .map(([name, f]) => `<tr><td>${esc(name)}</td><td>${f.waiting}</td><td>${f.newDeadLetters}</td></tr>`)
    .join('');
  return `<p>From the gateway's subscriber figures after the drain (${events.expectedOperationEvents} outcome events owed):</p>
<table><thead><tr><th>Subscriber</th><th>Still waiting</th><th>New dead letters</th></tr></thead><tbody>${rows}</tbody></table>`;
}

function codesNote(phases: DrillReport['calls']['byPhase']): string {
  const lines = phases
    .filter((p) => Object.keys(p.codes).length > 0)
    .map((p) => {
      const codes = Object.entries(p.codes)
        .sort(([, a], [, b]) => b - a)
        .map(([code, n]) => `${esc(code)} ${n}`)
        .join(', ');
      return `<li>${esc(p.label)}: ${codes}</li>`;
    });
  return lines.length === 0
    ? ''
    : `<p class="note">Refusals and errors by problem code:</p><ul class="note">${lines.join('')}</ul>`;
}
