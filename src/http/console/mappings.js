/**
 * The mapping workbench: a profile's rules next to a real record, evaluated by the gateway as the
 * engineer types. Plain DOM, no framework, no build, like the operator console, whose sign-in it
 * shares (same session-storage key). Records and expressions are put on the page as text
 * (textContent), never as HTML: both hold what someone else wrote.
 */
import { $, ApiError, apiClient, el, session, wireSignIn } from './console-kit.js';

const EVALUATE_AFTER_MS = 300;
const FIXTURE_KINDS = { Patient: 'read', Appointment: 'appointment-read', Slot: 'slot-read' };
const EXAMPLE_CHANGES = {
  Patient: '{ "email": "new.address@example.org" }',
  Appointment: '{ "action": "hold", "reason": "patient-request" }',
};

// ---- the key and the API -----------------------------------------------------------------------

const api = apiClient(() => signOut('The key was refused (revoked or unknown). Sign in again.'));

const isAbort = (error) => error instanceof DOMException && error.name === 'AbortError';

/** What went wrong, for a person: a refused scope is named, problem lists are kept. */
function describe(error) {
  if (error instanceof ApiError && error.status === 403) {
    const scope = error.problem.requiredScope;
    return `This key may not do this${scope ? ` (it needs the scope ${scope})` : ''}.`;
  }
  return error instanceof Error ? error.message : String(error);
}

function announce(message) {
  $('#live').textContent = message;
}

function outcome(selector, message, ok) {
  const node = $(selector);
  node.textContent = message;
  node.classList.toggle('error', ok === false);
  node.classList.toggle('good', ok === true);
}

// ---- state -------------------------------------------------------------------------------------

const state = {
  profiles: [],
  /** GET /v1/mappings/profiles/:name of the picked profile: its rules and their sources. */
  detail: undefined,
  /** What is being explained: { profile, resourceType, id } or { profile, resourceType, resource }. */
  subject: undefined,
  /** The last explain answer. */
  explained: undefined,
  /** Edited rule sources by `${file} ${rule}`: { file, field, source }. */
  edits: new Map(),
  /** The deep-linked write needing review, when the page was opened for one. */
  operation: undefined,
  /** Set by a successful reload: the fixed profile runs, a retry can use it. */
  reloaded: false,
  controller: undefined,
  timer: undefined,
};

const ruleKey = (file, rule) => `${file} ${rule}`;

function editsBody() {
  return state.edits.size === 0 ? {} : { edits: [...state.edits.values()] };
}

function subjectBody() {
  const s = state.subject;
  return {
    profile: s.profile,
    resourceType: s.resourceType,
    ...(s.resource !== undefined ? { resource: s.resource } : { id: s.id }),
  };
}

// ---- profiles ----------------------------------------------------------------------------------

function showForbidden(error) {
  const notice = $('#forbidden');
  const scope = error instanceof ApiError && error.status === 403 ? error.problem.requiredScope : undefined;
  notice.textContent = scope
    ? `This key may not use the mapping workbench: it needs the scope ${scope}. Sign out and sign in with a key that has it.`
    : `The workbench could not load: ${describe(error)}`;
  notice.hidden = false;
}

async function loadProfiles() {
  const answer = await api('GET', '/v1/mappings/profiles');
  state.profiles = answer.profiles;
  const select = $('#profile');
  const current = select.value;
  // A draft (a folder no connection runs yet) is marked: it is tried on the tenant's records, not running.
  select.replaceChildren(
    ...state.profiles.map((p) =>
      el(
        'option',
        { value: p.name, 'data-draft': p.draft ? 'true' : 'false' },
        p.draft ? `${p.name} (draft)` : p.name,
      ),
    ),
  );
  if (state.profiles.some((p) => p.name === current)) select.value = current;
  await loadDetail(select.value);
}

function profileFacts() {
  const p = state.profiles.find((candidate) => candidate.name === state.detail?.name);
  if (!p) return '';
  const fixtures = Object.entries(p.fixtures ?? {})
    .map(([kind, count]) => `${count} ${kind}`)
    .join(', ');
  if (p.draft) {
    return (
      `Draft: no connection runs it yet (files ${p.filesHash.slice(0, 12)}); records are read from your ` +
      `tenant's connections; fixtures: ${fixtures || 'none'}.`
    );
  }
  const used = p.connections.length > 0 ? `used by ${p.connections.join(', ')}` : 'used by no connection';
  return `Running version ${p.hash.slice(0, 12)}, ${used}; fixtures: ${fixtures || 'none'}.`;
}

async function loadDetail(name) {
  if (!name) return;
  state.detail = await api('GET', `/v1/mappings/profiles/${encodeURIComponent(name)}`);
  $('#profile-facts').textContent = profileFacts();
}

// ---- explaining a record ------------------------------------------------------------------------

function valueCell(field) {
  if (field.empty) {
    return [
      el('strong', { class: 'no-value' }, 'no value'),
      field.reason ? el('span', { class: 'reason' }, `: ${field.reason}`) : '',
    ];
  }
  return [el('code', {}, JSON.stringify(field.value))];
}

/** An expression box: typing edits the rule and asks the gateway again, shortly after. */
function expressionBox(file, rule, language, source, label) {
  const key = ruleKey(file, rule);
  const box = el('textarea', {
    class: 'expression',
    // For browsers that cannot size a box to its text (CSS field-sizing): lines, long ones wrapped.
    rows: Math.min(
      12,
      source.split('\n').reduce((n, line) => n + Math.max(1, Math.ceil(line.length / 60)), 0),
    ),
    spellcheck: 'false',
    'aria-label': label,
    'data-focus-key': key,
    'data-language': language,
    oninput: (event) => {
      const text = event.target.value;
      if (text === source) state.edits.delete(key);
      else state.edits.set(key, { file, field: rule, source: text });
      showEditState();
      scheduleExplain();
    },
  });
  box.value = state.edits.get(key)?.source ?? source;
  return box;
}

function ruleRow(field) {
  const key = ruleKey(field.file, field.rule);
  return el(
    'tr',
    { 'data-field': field.field, 'data-rule': key },
    el('th', { scope: 'row' }, field.field),
    el('td', { class: 'rule' }, el('span', {}, field.file), ' ', el('code', {}, field.rule)),
    el(
      'td',
      { class: 'edit' },
      expressionBox(field.file, field.rule, field.language, field.expression, `Expression of ${field.field}`),
      el('p', { class: 'error', 'data-role': 'error', role: 'alert' }),
    ),
    el('td', { 'data-role': 'value' }, valueCell(field)),
  );
}

/** A profile.yaml constant (the MRN systems), edited like a rule: one system a line. */
function settingRow(setting) {
  const label = setting.field === 'identifiers.mrn.systems' ? 'MRN systems' : setting.field;
  return el(
    'tr',
    { 'data-setting': setting.field, 'data-rule': ruleKey(setting.file, setting.field) },
    el('th', { scope: 'row' }, label),
    el('td', { class: 'rule' }, el('span', {}, setting.file), ' ', el('code', {}, setting.field)),
    el(
      'td',
      { class: 'edit' },
      expressionBox(setting.file, setting.field, 'setting', setting.source, `${label}, one a line`),
      el('p', { class: 'error', 'data-role': 'error', role: 'alert' }),
    ),
    el('td', { class: 'muted' }, 'One system a line: %mrnSystems in read rules, $mrnSystems in templates'),
  );
}

/** Draws the rows again only when the fields changed; values and errors are updated in place. */
function renderFields(fields) {
  const body = $('#model > .body');
  const settings = state.detail?.settings ?? [];
  const signature = JSON.stringify([
    fields.map((f) => [f.field, f.file, f.rule]),
    state.detail?.name,
    state.detail?.hash,
  ]);
  if (body.dataset.signature !== signature) {
    const focused = document.activeElement?.dataset?.focusKey;
    body.replaceChildren(
      el(
        'table',
        { class: 'fields' },
        el('caption', {}, `${fields.length} model fields of this record`),
        el(
          'thead',
          {},
          el(
            'tr',
            {},
            ['Field', 'Rule', 'Expression', 'Value'].map((h) => el('th', { scope: 'col' }, h)),
          ),
        ),
        settings.length === 0
          ? ''
          : el(
              'tbody',
              { class: 'settings', 'aria-label': 'Profile settings' },
              el('tr', {}, el('th', { scope: 'rowgroup', colspan: '4', class: 'group' }, 'Profile settings')),
              settings.map(settingRow),
            ),
        el(
          'tbody',
          { 'aria-label': 'Read rules' },
          settings.length === 0
            ? ''
            : el('tr', {}, el('th', { scope: 'rowgroup', colspan: '4', class: 'group' }, 'Read rules')),
          fields.map(ruleRow),
        ),
      ),
    );
    body.dataset.signature = signature;
    if (focused) body.querySelector(`[data-focus-key="${CSS.escape(focused)}"]`)?.focus();
  } else {
    for (const field of fields) {
      const row = body.querySelector(`tr[data-rule="${CSS.escape(ruleKey(field.file, field.rule))}"]`);
      row?.querySelector('[data-role="value"]').replaceChildren(...valueCell(field));
    }
  }
}

function renderOtherRules(fields) {
  const shown = new Set(fields.map((f) => ruleKey(f.file, f.rule)));
  const rules = (state.detail?.rules ?? []).filter((r) => !shown.has(ruleKey(r.file, r.field)));
  const body = $('#other-rules > .body');
  const signature = JSON.stringify([state.detail?.name, state.detail?.hash, rules.length]);
  if (body.dataset.signature === signature) return;
  body.dataset.signature = signature;
  body.replaceChildren(
    el(
      'table',
      { class: 'rules' },
      el('caption', {}, `${rules.length} more rules`),
      el(
        'thead',
        {},
        el(
          'tr',
          {},
          ['Rule', 'Language', 'Source'].map((h) => el('th', { scope: 'col' }, h)),
        ),
      ),
      el(
        'tbody',
        {},
        rules.map((r) =>
          el(
            'tr',
            { 'data-rule': ruleKey(r.file, r.field) },
            el('th', { scope: 'row' }, el('span', {}, r.file), ' ', el('code', {}, r.field)),
            el('td', {}, r.language),
            el(
              'td',
              { class: 'edit' },
              expressionBox(r.file, r.field, r.language, r.source, `Source of ${r.file} ${r.field}`),
              el('p', { class: 'error', 'data-role': 'error', role: 'alert' }),
            ),
          ),
        ),
      ),
    ),
  );
}

/** `line:column` first when the problem knows where, so the engineer can find the spot. */
function problemText(problem) {
  const where = problem.line !== undefined ? `${problem.line}:${problem.column ?? 1} ` : '';
  return `${where}${problem.message}`;
}

function renderProblems(problems) {
  for (const node of document.querySelectorAll('[data-role="error"]')) node.textContent = '';
  for (const row of document.querySelectorAll('tr.has-problem')) row.classList.remove('has-problem');
  const loose = [];
  for (const problem of problems) {
    const row = document.querySelector(
      `tr[data-rule="${CSS.escape(ruleKey(problem.file ?? '', problem.field ?? ''))}"]`,
    );
    const slot = row?.querySelector('[data-role="error"]');
    if (slot) {
      slot.textContent = slot.textContent
        ? `${slot.textContent}\n${problemText(problem)}`
        : problemText(problem);
      const value = row.querySelector('[data-role="value"]');
      if (value && !row.classList.contains('has-problem')) {
        // The edited profile did not compile: what is shown is the saved rule's value.
        value.prepend(el('p', { class: 'stale' }, 'The edit does not compile; the saved rule gives:'));
      }
      row.classList.add('has-problem');
    } else {
      loose.push(problem);
    }
  }
  $('#problems').replaceChildren(
    ...loose.map((p) =>
      el('li', { class: 'error' }, [p.file, p.field].filter(Boolean).join(' '), ': ', problemText(p)),
    ),
  );
}

function showEditState() {
  const n = state.edits.size;
  const rules = `${n} ${n === 1 ? 'rule' : 'rules'} edited here, not saved`;
  // The gateway falls back to the saved profile when the edits do not compile.
  const compiled = state.explained?.profile?.edited !== false;
  $('#edit-state').textContent =
    n === 0
      ? 'The running profile, as loaded.'
      : compiled
        ? `${rules}: values are what the edited profile gives.`
        : `${rules}: the edits do not compile, values are what the saved profile gives.`;
}

/** Marks the rule a deep-linked write failed on, and shows it. */
function highlightFailingRule() {
  const mapping = state.operation?.lastError?.mapping;
  for (const row of document.querySelectorAll('tr.failing')) row.classList.remove('failing');
  if (!mapping || mapping.profile !== state.subject?.profile) return;
  const row = document.querySelector(`tr[data-rule="${CSS.escape(ruleKey(mapping.file, mapping.field))}"]`);
  if (!row) return;
  row.classList.add('failing');
  if (row.closest('#other-rules')) $('#other-rules').open = true;
  row.scrollIntoView({ block: 'center' });
}

async function explain() {
  if (!state.subject) return;
  state.controller?.abort();
  const controller = new AbortController();
  state.controller = controller;
  let answer;
  try {
    answer = await api(
      'POST',
      '/v1/mappings/explain',
      { ...subjectBody(), ...editsBody() },
      controller.signal,
    );
  } catch (error) {
    if (isAbort(error)) return;
    if (error instanceof ApiError && Array.isArray(error.problem.problems)) {
      renderProblems(error.problem.problems);
    }
    announce(`Explain refused: ${describe(error)}`);
    if (error instanceof ApiError && error.status === 403) showForbidden(error);
    return;
  }
  // A newer request was sent while this one was answered: its answer is the one to show.
  if (state.controller !== controller) return;
  state.explained = answer;
  $('#panes').hidden = false;
  $('#save').hidden = false;
  $('#try').hidden = !(state.subject.resourceType in EXAMPLE_CHANGES);
  $('#resource pre').textContent = JSON.stringify(answer.resource, null, 2);
  renderFields(answer.fields);
  renderOtherRules(answer.fields);
  renderProblems(answer.problems ?? []);
  showEditState();
  highlightFailingRule();
  const empty = answer.fields.filter((f) => f.empty).length;
  announce(
    `${answer.profile.name} ${answer.profile.edited ? '(edited)' : answer.profile.hash.slice(0, 12)}: ` +
      `${answer.fields.length} fields, ${empty} without a value` +
      `${(answer.problems ?? []).length > 0 ? `, problems: ${answer.problems.length}` : ''}.`,
  );
}

function scheduleExplain() {
  clearTimeout(state.timer);
  state.timer = setTimeout(() => void explain(), EVALUATE_AFTER_MS);
}

/** Reads the picker into a subject; a pasted resource wins over the record id. */
function pickSubject() {
  const profile = $('#profile').value;
  const pasted = $('#resource-json').value.trim();
  if (pasted) {
    let resource;
    try {
      resource = JSON.parse(pasted);
    } catch (error) {
      announce(`The pasted resource is not JSON: ${error.message}`);
      return undefined;
    }
    const resourceType = resource?.resourceType;
    if (!(resourceType in FIXTURE_KINDS)) {
      announce('The pasted resource must be a Patient, an Appointment or a Slot.');
      return undefined;
    }
    $('#resource-type').value = resourceType;
    return { profile, resourceType, resource };
  }
  const id = $('#record-id').value.trim();
  if (!id) {
    announce('Enter a record id or paste a FHIR resource.');
    return undefined;
  }
  return { profile, resourceType: $('#resource-type').value, id };
}

async function openSubject(subject) {
  state.subject = subject;
  $('#try-change').value = EXAMPLE_CHANGES[subject.resourceType] ?? '';
  $('#try .body').replaceChildren();
  await explain();
}

// ---- try a change ------------------------------------------------------------------------------

function diffTable(diff) {
  if (diff.length === 0) return el('p', { class: 'muted' }, 'The change would not alter the resource.');
  return el(
    'table',
    { class: 'diff' },
    el('caption', {}, `${diff.length} ${diff.length === 1 ? 'change' : 'changes'} to the FHIR resource`),
    el(
      'thead',
      {},
      el(
        'tr',
        {},
        ['Op', 'Path', 'Was', 'Becomes'].map((h) => el('th', { scope: 'col' }, h)),
      ),
    ),
    el(
      'tbody',
      {},
      diff.map((d) =>
        el(
          'tr',
          { class: `op-${d.op}` },
          el('td', {}, d.op),
          el('th', { scope: 'row' }, el('code', {}, d.path)),
          el('td', {}, 'from' in d ? el('code', {}, JSON.stringify(d.from)) : ''),
          el('td', {}, 'value' in d ? el('code', {}, JSON.stringify(d.value)) : ''),
        ),
      ),
    ),
  );
}

async function tryChange(event) {
  event.preventDefault();
  if (!state.subject) return;
  const body = $('#try .body');
  let change;
  try {
    change = JSON.parse($('#try-change').value);
  } catch (error) {
    body.replaceChildren(el('p', { class: 'error' }, `The change is not JSON: ${error.message}`));
    return;
  }
  try {
    const answer = await api('POST', '/v1/mappings/try', { ...subjectBody(), change, ...editsBody() });
    const request = answer.request;
    const ifMatch = request?.headers?.['If-Match'];
    body.replaceChildren(
      ...(answer.problems ?? []).map((p) =>
        el('p', { class: 'error' }, [p.file, p.field].filter(Boolean).join(' '), ': ', problemText(p)),
      ),
      request
        ? el(
            'p',
            { class: 'request' },
            'Would send ',
            el('code', {}, `${request.method} ${request.url}`),
            ifMatch ? el('span', {}, ' with If-Match ', el('code', {}, ifMatch)) : '',
          )
        : '',
      diffTable(answer.diff ?? []),
    );
  } catch (error) {
    const problems = error instanceof ApiError ? (error.problem.problems ?? []) : [];
    body.replaceChildren(
      el('p', { class: 'error' }, `Refused: ${describe(error)}`),
      ...problems.map((p) => el('p', { class: 'error' }, typeof p === 'string' ? p : problemText(p))),
    );
  }
}

// ---- saving --------------------------------------------------------------------------------------

async function saveFixture(event, overwrite = false) {
  event?.preventDefault();
  if (!state.explained) return;
  const name = $('#fixture-name').value.trim();
  if (!/^[a-z0-9][a-z0-9-]*$/.test(name)) {
    outcome(
      '#fixture-outcome',
      'Name the fixture in lower case, digits and dashes (e.g. mrn-in-acme-system).',
      false,
    );
    return;
  }
  const description = $('#fixture-description').value.trim();
  const body = {
    kind: FIXTURE_KINDS[state.subject.resourceType],
    name,
    ...(description ? { description } : {}),
    // A slot fixture names its resource `slot` (its schedule is optional); the others `input`.
    [state.subject.resourceType === 'Slot' ? 'slot' : 'input']: state.explained.resource,
    ...editsBody(),
    ...(overwrite ? { overwrite: true } : {}),
  };
  try {
    const saved = await api(
      'POST',
      `/v1/mappings/profiles/${encodeURIComponent(state.subject.profile)}/fixtures`,
      body,
    );
    // The fixture is one of the profile's files: the hash a rules save is checked against is read
    // again before the page says it is done.
    await loadProfiles().catch(() => undefined);
    outcome('#fixture-outcome', `Fixture saved: ${saved.path}`, true);
    announce(`Fixture saved: ${saved.path}`);
  } catch (error) {
    if (error instanceof ApiError && error.status === 409 && !overwrite) {
      if (window.confirm(`The fixture ${name} exists. Replace it?`)) await saveFixture(undefined, true);
      else outcome('#fixture-outcome', `Not saved: the fixture ${name} exists.`, false);
      return;
    }
    outcome('#fixture-outcome', `Not saved: ${describe(error)}`, false);
  }
}

function problemLines(error) {
  const problems = error instanceof ApiError ? (error.problem.problems ?? []) : [];
  return problems.map((p) =>
    typeof p === 'string' ? p : `${[p.file, p.field].filter(Boolean).join(' ')}: ${problemText(p)}`,
  );
}

async function saveRules() {
  if (!state.subject) return;
  if (state.edits.size === 0) {
    outcome('#rules-outcome', 'No rule is edited: nothing to save.', false);
    return;
  }
  try {
    // The files the edits were made on: a save by someone else since is refused, not overwritten.
    const ifMatch = state.detail?.hash ? { 'if-match': `"${state.detail.hash}"` } : {};
    const saved = await api(
      'PUT',
      `/v1/mappings/profiles/${encodeURIComponent(state.subject.profile)}/rules`,
      { edits: [...state.edits.values()] },
      undefined,
      ifMatch,
    );
    await loadDetail(state.subject.profile);
    // The next save is checked against the files this save wrote, not against what the read found:
    // a change made on disk since is someone else's, and must refuse that save.
    if (state.detail) state.detail = { ...state.detail, hash: saved.hash };
    // Said once the page holds that hash, so whoever acts on the message acts on a settled page.
    outcome(
      '#rules-outcome',
      saved.written.length === 0
        ? `Saved: the files already hold these rules (files ${String(saved.hash).slice(0, 12)}).`
        : `Saved ${saved.written.join(', ')} (files now ${String(saved.hash).slice(0, 12)}). Reload to run them.`,
      true,
    );
    announce('Rules saved to the profile.');
  } catch (error) {
    if (error instanceof ApiError && error.status === 409) {
      outcome(
        '#rules-outcome',
        'Not saved: the profile changed on disk since this page read it; reload the page (your edits are not saved).',
        false,
      );
      return;
    }
    outcome('#rules-outcome', [`Not saved: ${describe(error)}`, ...problemLines(error)].join('\n'), false);
  }
}

async function reload() {
  try {
    const result = await api('POST', '/v1/mappings/reload', {});
    const changed = result.profiles.filter((p) => p.changed);
    outcome(
      '#reload-outcome',
      changed.length === 0
        ? 'Reloaded: no profile changed.'
        : `Reloaded: ${changed.map((p) => `${p.name} now runs ${p.hash.slice(0, 12)}`).join(', ')}.`,
      true,
    );
    state.reloaded = true;
    // What was saved now runs: the edits are the profile, so the page shows it as loaded.
    state.edits.clear();
    await loadProfiles();
    const body = $('#other-rules > .body');
    delete body.dataset.signature;
    delete $('#model > .body').dataset.signature;
    showOperation();
    await explain();
  } catch (error) {
    outcome(
      '#reload-outcome',
      [`Reload refused: ${describe(error)}`, ...problemLines(error)].join('\n'),
      false,
    );
  }
}

// ---- a write needing review, opened by its id -------------------------------------------------------

/** The record a write was about: its appointment when it has one, else its patient. */
function subjectOf(op) {
  const mapping = op.lastError?.mapping;
  const profile = mapping?.profile ?? $('#profile').value;
  const [type, id] = String(op.resourceRef ?? '').split('/');
  if (op.kind.startsWith('appointment.') && type === 'Appointment' && id) {
    return { profile, resourceType: 'Appointment', id };
  }
  return op.patientId ? { profile, resourceType: 'Patient', id: op.patientId } : undefined;
}

function showOperation() {
  const op = state.operation;
  const section = $('#operation');
  if (!op) {
    section.hidden = true;
    return;
  }
  section.hidden = false;
  const mapping = op.lastError?.mapping;
  const cause = mapping
    ? `profile ${mapping.profile}, ${mapping.file} ${mapping.field} failed on this record (${mapping.errorClass})`
    : (op.lastError?.detail ?? 'no mapping failure recorded');
  const stopped = op.status === 'needs-review' || op.status === 'failed';
  $('#operation .body').replaceChildren(
    el('code', {}, op.operationId),
    ` (${op.kind}) is `,
    el('strong', { 'data-field': 'status' }, op.status),
    '. ',
    stopped ? `Cause: ${cause}.` : op.lastError ? `Before the retry: ${cause}.` : '',
    op.patientId ? ` Patient ${op.patientId}.` : '',
  );
  const button = $('#retry-operation');
  const waiting = op.status === 'needs-review' || op.status === 'failed';
  button.hidden = !waiting;
  button.disabled = !state.reloaded;
  button.title = state.reloaded ? '' : 'Fix the rule, save it and reload first';
}

async function openOperation(operationId) {
  const notice = $('#operation .notice');
  notice.hidden = true;
  try {
    state.operation = await api('GET', `/v1/operations/${encodeURIComponent(operationId)}`);
  } catch (error) {
    $('#operation').hidden = false;
    $('#operation .body').textContent = `Write ${operationId} could not be opened.`;
    notice.textContent = describe(error);
    notice.hidden = false;
    return;
  }
  showOperation();
  const subject = subjectOf(state.operation);
  if (!subject) return;
  if (state.profiles.some((p) => p.name === subject.profile)) {
    $('#profile').value = subject.profile;
    await loadDetail(subject.profile);
  }
  $('#resource-type').value = subject.resourceType;
  $('#record-id').value = subject.id;
  await openSubject(subject);
}

async function retryOperation() {
  const op = state.operation;
  if (!op) return;
  const notice = $('#operation .notice');
  try {
    const receipt = await api('POST', `/v1/operations/${encodeURIComponent(op.operationId)}/retry`, {});
    state.operation = receipt;
    showOperation();
    notice.textContent = `Retried with the running profile: ${op.operationId} is queued again.`;
    notice.classList.remove('error');
    notice.hidden = false;
    await followOperation(op.operationId);
  } catch (error) {
    notice.textContent = `Retry refused: ${describe(error)}`;
    notice.classList.add('error');
    notice.hidden = false;
  }
}

const FINAL = new Set(['succeeded', 'failed', 'needs-review', 'cancelled']);
const FOLLOW_EVERY_MS = 1000;
const FOLLOW_FOR_MS = 60_000;

/** Shows a retried write's status until it is final (or a minute passed: the console has it then). */
async function followOperation(operationId) {
  const until = Date.now() + FOLLOW_FOR_MS;
  while (Date.now() < until && state.operation?.operationId === operationId) {
    await new Promise((resolve) => setTimeout(resolve, FOLLOW_EVERY_MS));
    const receipt = await api('GET', `/v1/operations/${encodeURIComponent(operationId)}`);
    if (state.operation?.operationId !== operationId) return;
    state.operation = receipt;
    showOperation();
    if (FINAL.has(receipt.status)) {
      $('#operation .notice').textContent = `Retried with the running profile: ${receipt.status}.`;
      announce(`${operationId} ${receipt.status}.`);
      return;
    }
  }
}

function operationInHash() {
  const params = new URLSearchParams(location.hash.slice(1));
  return params.get('op') ?? undefined;
}

// ---- signing in and out -----------------------------------------------------------------------------

function signOut(message) {
  session.clear();
  state.controller?.abort();
  clearTimeout(state.timer);
  state.edits.clear();
  state.subject = undefined;
  state.explained = undefined;
  $('#workbench').hidden = true;
  $('#sign-out').hidden = true;
  $('#sign-in').hidden = false;
  $('#sign-in-error').textContent = message ?? '';
  announce(message ?? 'Signed out.');
  $('#api-key').focus();
}

async function startWorkbench() {
  $('#sign-in').hidden = true;
  $('#workbench').hidden = false;
  $('#sign-out').hidden = false;
  $('#forbidden').hidden = true;
  try {
    await loadProfiles();
  } catch (error) {
    if (!session.key) return;
    showForbidden(error);
    $('#pick').hidden = true;
    return;
  }
  $('#pick').hidden = false;
  announce('Signed in. Pick a profile and a record.');
  const operationId = operationInHash();
  if (operationId) await openOperation(operationId);
}

function init() {
  wireSignIn(startWorkbench, signOut);
  $('#pick-form').addEventListener('submit', (event) => {
    event.preventDefault();
    const subject = pickSubject();
    if (subject) void openSubject(subject);
  });
  $('#profile').addEventListener('change', (event) => {
    // Edits belong to one profile's files: another profile starts from what it has.
    state.edits.clear();
    state.reloaded = false;
    void loadDetail(event.target.value)
      .then(() => {
        if (state.subject) return openSubject({ ...state.subject, profile: event.target.value });
        return undefined;
      })
      .catch((error) => announce(describe(error)));
  });
  $('#try-form').addEventListener('submit', (event) => void tryChange(event));
  $('#fixture-form').addEventListener('submit', (event) => void saveFixture(event));
  $('#save-rules').addEventListener('click', () => void saveRules());
  $('#reload').addEventListener('click', () => void reload());
  $('#retry-operation').addEventListener('click', () => void retryOperation());
  window.addEventListener('hashchange', () => {
    const operationId = operationInHash();
    if (operationId && session.key) void openOperation(operationId);
  });
  if (session.key) void startWorkbench();
  else $('#api-key').focus();
}

init();
