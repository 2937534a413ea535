'use strict';
// Blackboard page. Two loops keep it current without ever reloading:
//   followBoard()  long-polls GET /board?since=S, so a change shows up as soon as this node has it;
//   followStatus() polls the small GET /status to show roles, the leader and the cluster.
// Every piece of server or user text goes into the DOM through textContent, never innerHTML.

const STATUS_EVERY_MS = 700;      // /status is tiny; this keeps a failover visible within a second
const RETRY_AFTER_MS = 500;       // back-off after a failed long-poll before asking again
const REQUEST_TIMEOUT_MS = 8000;  // posts wait for the leader; the node itself gives up after ~3 s
const STATUS_TIMEOUT_MS = 2000;   // /status answers at once; slower than this means trouble
const LONG_POLL_TIMEOUT_MS = 40000; // the node answers a long-poll after ~25 s even with no change
const LEADER_NOTICE_MS = 10000;   // how long "new leader" stays on screen
const NODE_MAX_BYTES = 1024;      // the node answers 413 above this (UTF-8 bytes of the entry)
const DOWN_AFTER_MISSES = 2;      // one unanswered request can be a hiccup; two in a row mean the node is gone

const $ = (id) => document.getElementById(id);
const ui = {
  title: $('title-node'), live: $('live'),
  electionBanner: $('election-banner'), leaderChange: $('leader-change'), nodeDown: $('node-down'),
  nodeDownSince: $('node-down-since'), main: $('main'), postingOff: $('posting-off'), clusterStale: $('cluster-stale'),
  boardSeq: $('board-seq'), form: $('add-form'), input: $('entry-input'), addButton: $('add-button'),
  bytes: $('entry-bytes'), message: $('message'), list: $('entries'), empty: $('empty'),
  nodeId: $('node-id'), nodeRole: $('node-role'), nodeLeader: $('node-leader'),
  nodeEpoch: $('node-epoch'), nodeAttribute: $('node-attribute'), nodeCommit: $('node-commit'),
  clusterBody: document.querySelector('#cluster tbody'),
};

const items = new Map();   // entry id -> its <li>, so live updates patch the list instead of rebuilding it
let lastLeader = null;     // last non-null leader seen, to announce a change
let leaderNoticeTimer = 0;
let posting = false;       // an add is out: its button stays disabled until the answer
let boardState = 'connecting'; // what the board loop last saw, shown when the node is not known to be down
// Is this node answering? Both loops and every post report to it (see fetchWithin). `since` is when the
// first request after the last answer failed: the node has been silent at least from then on.
const health = { misses: 0, since: null, down: false };

// ---------- small helpers ----------

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const utf8Bytes = (text) => new TextEncoder().encode(text).length;
// The page's own check reads its limit from the form (data-max-bytes), which the browser test can lift
// to make sure the node's 413 is handled too; the node always has the final word.
const maxBytes = () => Number(ui.form.dataset.maxBytes) || NODE_MAX_BYTES;

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

// fetch with a deadline, so a hung node turns into an error the user can see instead of a stuck page.
// Every request doubles as a probe of this node: any HTTP answer, even an error, shows the process is
// there; only a refused, dropped or timed-out request counts as the node not answering.
async function fetchWithin(url, options, ms) {
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), ms);
  let response;
  try {
    response = await fetch(url, { cache: 'no-store', ...options, signal: abort.signal });
  } catch (error) {
    noteMiss();
    throw error;
  } finally {
    clearTimeout(timer);
  }
  noteAnswer();
  return response;
}

// The node takes classic HTML-form bodies; URLSearchParams does the percent-encoding.
async function postForm(path, fields) {
  const response = await fetchWithin(path, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(fields).toString(),
  }, REQUEST_TIMEOUT_MS);
  const body = await response.json().catch(() => ({}));
  return { ok: response.ok, status: response.status, body };
}

// Turns an HTTP failure into a sentence that tells the user what to do next.
function errorText(status, body, subject) {
  const detail = body && body.error ? ` (${body.error})` : '';
  switch (status) {
    case 503: return 'No leader right now, try again in a moment.';
    case 413: return `Entry too long (max ${NODE_MAX_BYTES} bytes).`;
    case 404: return `${subject} no longer exists — it was probably deleted on another node.`;
    case 400: return `The node refused this entry${detail}. Entries must be non-empty text.`;
    default: return `Request failed with HTTP ${status}${detail}.`;
  }
}

const UNREACHABLE = 'Cannot reach this node. Check that it is running, then try again.';

function showMessage(text, kind = 'error') {
  ui.message.textContent = text;
  ui.message.dataset.kind = kind;
  ui.message.hidden = false;
}

function clearMessage() {
  ui.message.hidden = true;
  ui.message.textContent = '';
}

// Checks done before sending, so the user hears about an empty or oversized entry at once.
// The node enforces the same rules; its 400/413 answers are still handled.
function localProblem(text) {
  if (text.trim() === '') return 'Write something first.';
  const bytes = utf8Bytes(text);
  if (bytes > maxBytes()) return `Entry too long (max ${maxBytes()} bytes): this one is ${bytes} bytes.`;
  return null;
}

// ---------- the board ----------

function entryItem(id) {
  const li = el('li', 'entry');
  li.dataset.id = String(id);
  const text = el('p', 'entry-text');
  const actions = el('div', 'entry-actions');
  const edit = el('button', 'edit', 'Edit');
  const remove = el('button', 'delete', 'Delete');
  edit.type = remove.type = 'button';
  edit.setAttribute('aria-label', `Edit entry ${id}`);
  remove.setAttribute('aria-label', `Delete entry ${id}`);
  edit.addEventListener('click', () => startEdit(li));
  remove.addEventListener('click', () => deleteEntry(li));
  actions.append(edit, remove);
  li.append(el('span', 'entry-id', `#${id}`), text, actions);
  return li;
}

// Patches the list to match the board: existing items stay in place, so an open editor keeps focus.
function renderBoard(board) {
  const seen = new Set();
  let previous = null;
  for (const entry of board.entries) {
    let li = items.get(entry.id);
    if (!li) { li = entryItem(entry.id); items.set(entry.id, li); }
    li.querySelector('.entry-text').textContent = entry.text;
    const wanted = previous ? previous.nextSibling : ui.list.firstChild;
    if (li !== wanted) ui.list.insertBefore(li, wanted);
    previous = li;
    seen.add(entry.id);
  }
  for (const [id, li] of items) {
    if (seen.has(id)) continue;
    if (li.classList.contains('editing')) showMessage(`Entry #${id} was deleted on another node.`, 'info');
    li.remove();
    items.delete(id);
  }
  ui.empty.hidden = board.entries.length > 0;
  ui.boardSeq.textContent = `seq ${board.seq}`;
}

// Keeps the board in step with this node: each answer carries the seq to wait beyond next time.
async function followBoard() {
  let since = null;
  for (;;) {
    const started = Date.now();
    try {
      // This node's own copy: the page shows what this node holds, and keeps
      // showing it while no leader confirms reads (an election).
      const url = since === null ? '/board?stale=1' : `/board?since=${since}`;
      const response = await fetchWithin(url, {}, LONG_POLL_TIMEOUT_MS);
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      const board = await response.json();
      renderBoard(board);
      setLive('live');
      const unchanged = board.seq === since;
      since = board.seq; // taken as is: a restarted node may be behind what we saw before
      // An unchanged board answered at once means the node is not long-polling; do not spin.
      if (unchanged && Date.now() - started < 100) await sleep(RETRY_AFTER_MS);
    } catch (error) {
      setLive('reconnecting');
      // Start again from this node's copy as it stands: after an outage it may be a restarted node
      // that holds less than we saw, and a long-poll beyond our old seq would hide that for ~25 s.
      since = null;
      await sleep(RETRY_AFTER_MS);
    }
  }
}

function setLive(state) {
  boardState = state;
  showLive();
}

function showLive() {
  const state = health.down ? 'down' : boardState;
  ui.live.dataset.state = state;
  ui.live.textContent = { live: 'live', down: 'not answering', connecting: 'connecting' }[state] ?? 'reconnecting…';
}

// ---------- changing the board ----------

async function addEntry(event) {
  event.preventDefault();
  const text = ui.input.value;
  const problem = localProblem(text);
  if (problem) { showMessage(problem); ui.input.focus(); return; }
  if (health.down) { showMessage(UNREACHABLE); return; }
  posting = true;
  showPosting();
  try {
    const result = await postForm('/board', { entry: text });
    if (result.ok) {
      // Only now is the text safe to drop; on any failure it stays for another try.
      if (ui.input.value === text) ui.input.value = '';
      updateByteCount();
      clearMessage();
    } else {
      showMessage(errorText(result.status, result.body, 'That entry'));
    }
  } catch (error) {
    showMessage(UNREACHABLE);
  } finally {
    posting = false;
    showPosting();
    ui.input.focus();
  }
}

function startEdit(li) {
  if (li.classList.contains('editing')) return;
  const id = li.dataset.id;
  const form = el('form', 'edit-form');
  const label = el('label', 'visually-hidden', `Edit entry ${id}`);
  const input = el('input', 'edit-input');
  const save = el('button', 'save', 'Save');
  const cancel = el('button', 'cancel', 'Cancel');
  input.id = `edit-${id}`;
  label.htmlFor = input.id;
  input.type = 'text';
  input.autocomplete = 'off';
  input.value = li.querySelector('.entry-text').textContent;
  save.type = 'submit';
  cancel.type = 'button';
  form.append(label, input, save, cancel);
  // Enter submits the form (saves); Escape backs out without touching the board.
  form.addEventListener('submit', (event) => { event.preventDefault(); saveEdit(li, input); });
  input.addEventListener('keydown', (event) => { if (event.key === 'Escape') stopEdit(li); });
  cancel.addEventListener('click', () => stopEdit(li));
  li.classList.add('editing');
  li.append(form);
  input.focus();
  input.select();
}

function stopEdit(li) {
  li.classList.remove('editing');
  li.querySelector('.edit-form')?.remove();
  li.querySelector('.edit')?.focus();
}

async function saveEdit(li, input) {
  const id = li.dataset.id;
  const text = input.value;
  const problem = localProblem(text);
  if (problem) { showMessage(problem); input.focus(); return; }
  setBusy(li, true);
  try {
    const result = await postForm(`/board/${id}`, { delete: '0', entry: text });
    if (result.ok) { clearMessage(); stopEdit(li); }
    else { showMessage(errorText(result.status, result.body, `Entry #${id}`)); input.focus(); }
  } catch (error) {
    showMessage(UNREACHABLE);
  } finally {
    setBusy(li, false);
  }
}

async function deleteEntry(li) {
  const id = li.dataset.id;
  setBusy(li, true);
  try {
    const result = await postForm(`/board/${id}`, { delete: '1' });
    if (result.ok) clearMessage();
    else showMessage(errorText(result.status, result.body, `Entry #${id}`));
  } catch (error) {
    showMessage(UNREACHABLE);
  } finally {
    setBusy(li, false);
  }
}

// Disables an entry's buttons while its request is out, so one click is one request.
function setBusy(li, busy) {
  li.classList.toggle('busy', busy);
  showEntryButtons(li);
}

// While the node is down every change would fail, so those buttons are off; Cancel still backs out.
function showEntryButtons(li) {
  const busy = li.classList.contains('busy');
  for (const button of li.querySelectorAll('button')) {
    button.disabled = busy || (health.down && !button.classList.contains('cancel'));
  }
}

function showPosting() {
  ui.addButton.disabled = posting || health.down;
  ui.postingOff.hidden = !health.down;
  for (const li of items.values()) showEntryButtons(li);
}

// Typing again answers the last complaint, so it should not linger over the fixed text.
function onType() {
  updateByteCount();
  if (ui.message.dataset.kind === 'error') clearMessage();
}

function updateByteCount() {
  const bytes = utf8Bytes(ui.input.value);
  ui.bytes.textContent = `${bytes} / ${maxBytes()} bytes`;
  ui.bytes.classList.toggle('over', bytes > maxBytes());
}

// ---------- node and cluster status ----------

async function followStatus() {
  for (;;) {
    try {
      const response = await fetchWithin('/status', {}, STATUS_TIMEOUT_MS);
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      renderStatus(await response.json());
    } catch (error) {
      // fetchWithin has counted it if the node did not answer; otherwise the last status stays.
    }
    await sleep(STATUS_EVERY_MS);
  }
}

// ---------- is this node answering? ----------

function noteAnswer() {
  health.misses = 0;
  health.since = null;
  if (!health.down) return;
  health.down = false;
  showNodeUp();
}

function noteMiss() {
  if (health.misses === 0) health.since = new Date();
  health.misses += 1;
  if (health.down || health.misses < DOWN_AFTER_MISSES) return;
  health.down = true;
  showNodeDown();
}

const two = (n) => String(n).padStart(2, '0');
const clockTime = (date) => `${two(date.getHours())}:${two(date.getMinutes())}:${two(date.getSeconds())}`;

// Nothing the node said before it went quiet may pass for live: the board is greyed, what can change
// without us hearing (role, leader, attribute…) reads "unknown", and changing the board is off.
function showNodeDown() {
  ui.nodeDownSince.textContent = clockTime(health.since);
  ui.nodeDownSince.dateTime = health.since.toISOString();
  ui.nodeDown.hidden = false;
  ui.main.classList.add('node-down');
  ui.electionBanner.hidden = true;
  ui.leaderChange.hidden = true;
  for (const field of [ui.nodeRole, ui.nodeLeader, ui.nodeEpoch, ui.nodeAttribute, ui.nodeCommit]) {
    field.textContent = 'unknown';
  }
  ui.nodeRole.dataset.role = 'unknown';
  const self = ui.clusterBody.querySelector('tr.is-self');
  if (self) {
    self.classList.add('is-down');
    self.querySelector('.state')?.replaceWith(el('span', 'state down', 'down'));
    self.querySelector('td[data-label="Role"] .role')?.replaceWith(el('span', 'role', 'unknown'));
    const attribute = self.querySelector('td[data-label="Attribute"]');
    if (attribute) attribute.textContent = 'unknown';
  }
  ui.clusterStale.hidden = false;
  const name = ui.nodeId.textContent === '–' ? 'this node' : `node ${ui.nodeId.textContent}`;
  ui.title.textContent = `${name} · not answering`;
  document.title = `Blackboard · ${name} (not answering)`;
  showLive();
  showPosting();
}

// The facts and the cluster come back with the next /status, the board with the next read.
function showNodeUp() {
  ui.nodeDown.hidden = true;
  ui.main.classList.remove('node-down');
  ui.clusterStale.hidden = true;
  showLive();
  showPosting();
}

function renderStatus(status) {
  renderNode(status);
  renderCluster(status);
  noteLeaderChange(status.leader);
  ui.electionBanner.hidden = !(status.role === 'candidate' || status.leader === null);
}

function leaderName(leader) {
  return leader === null || leader === undefined ? 'none yet' : `node ${leader}`;
}

function renderNode(status) {
  ui.nodeId.textContent = String(status.id);
  ui.nodeRole.textContent = status.role;
  ui.nodeRole.dataset.role = status.role;
  ui.nodeLeader.textContent = leaderName(status.leader);
  ui.nodeEpoch.textContent = String(status.epoch);
  ui.nodeAttribute.textContent = String(status.attribute);
  ui.nodeCommit.textContent = String(status.commit);
  ui.title.textContent = `node ${status.id} · ${status.role}`;
  document.title = `Blackboard · node ${status.id} (${status.role})`;
}

function renderCluster(status) {
  const rows = (status.peers || []).map((peer) => peerRow(peer, status.leader));
  ui.clusterBody.replaceChildren(...rows);
}

// data-label lets the narrow layout show each cell with its column name.
function cell(label, content) {
  const td = el('td');
  td.dataset.label = label;
  if (typeof content === 'string') td.textContent = content;
  else td.append(content);
  return td;
}

function peerRow(peer, leader) {
  const tr = el('tr');
  tr.dataset.id = String(peer.id);
  tr.classList.toggle('is-leader', peer.id === leader);
  tr.classList.toggle('is-self', Boolean(peer.self));
  tr.classList.toggle('is-down', !peer.alive);
  const name = el('span', null, `${peer.id}`);
  if (peer.self) name.append(el('span', 'tag', 'this node'));
  const role = el('span', 'role', peer.role ?? 'unknown');
  role.dataset.role = peer.role;
  const alive = el('span', peer.alive ? 'state up' : 'state down', peer.alive ? 'alive' : 'down');
  tr.append(cell('Node', name), cell('Address', String(peer.addr ?? '–')), cell('State', alive), cell('Role', role),
    cell('Attribute', String(peer.attribute ?? '–')), cell('Last heard', heardText(peer)));
  return tr;
}

function heardText(peer) {
  if (peer.self) return 'self';
  const ms = peer.last_heard_ms;
  if (ms === null || ms === undefined) return 'never';
  return ms < 1000 ? `${ms} ms ago` : `${(ms / 1000).toFixed(1)} s ago`;
}

// Announces a leader change for a while, so someone watching a failover sees what happened.
function noteLeaderChange(leader) {
  if (leader === null || leader === undefined || leader === lastLeader) return;
  if (lastLeader !== null) {
    ui.leaderChange.textContent = `New leader: node ${leader} (was node ${lastLeader}).`;
    ui.leaderChange.hidden = false;
    clearTimeout(leaderNoticeTimer);
    leaderNoticeTimer = setTimeout(() => { ui.leaderChange.hidden = true; }, LEADER_NOTICE_MS);
  }
  lastLeader = leader;
}

// ---------- start ----------

ui.form.addEventListener('submit', addEntry);
ui.input.addEventListener('input', onType);
updateByteCount();
followBoard();
followStatus();
