'use strict';
// Blackboard page. Loops keep it current without ever reloading:
//   followBoard()  loads GET /board once, then long-polls GET /changes?since=S, so a change shows up as
//                  soon as this node has it and costs the page that change, not the whole board;
//   followStatus() polls the small GET /status to show roles, the leader, the cluster and the pace;
//   followEvents() long-polls GET /events?since=N of this node and of every member it can reach,
//                  for the timeline and the sequence diagrams.
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
  scroll: $('board-scroll'), filter: $('board-filter'), newestFirst: $('newest-first'), boardCount: $('board-count'),
  nodeId: $('node-id'), nodeRole: $('node-role'), nodeLeader: $('node-leader'),
  nodeEpoch: $('node-epoch'), nodeAttribute: $('node-attribute'), nodeCommit: $('node-commit'),
  clusterBody: document.querySelector('#cluster tbody'),
  nodeDownWhy: $('node-down-why'), pace: $('pace'), countdown: $('countdown'),
  faults: $('faults'), faultSeconds: $('fault-seconds'), faultPercent: $('fault-percent'),
  faultAnswer: $('fault-answer'), faultNow: $('fault-now'),
  faultButtons: [...document.querySelectorAll('#fault-form button[data-action]')],
  timeline: $('timeline'), timelineEmpty: $('timeline-empty'), timelineSources: $('timeline-sources'),
  electionDiagram: $('election-diagram'), electionCaption: $('election-caption'),
  writeDiagram: $('write-diagram'), writeCaption: $('write-caption'),
};

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
// there; only a refused, dropped or timed-out request counts as the node not answering. With
// `downOn503`, a 503 counts as not answering too: reads of the node's own copy and /status never
// answer 503 unless the node is down (a crash fault answers 503 to everything until it reboots).
async function fetchWithin(url, options, ms, downOn503 = false) {
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
  if (downOn503 && response.status === 503) noteMiss();
  else noteAnswer();
  return response;
}

// A request to another member: it says nothing about this page's own node, so it leaves `health` alone.
async function fetchPeer(url, ms) {
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), ms);
  try {
    return await fetch(url, { cache: 'no-store', signal: abort.signal });
  } finally {
    clearTimeout(timer);
  }
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
// The page's copy of this node's board: ids in board order and each id's text, at `seq`. An add always
// takes the next id, so board order is id order and an add goes at the end. The page fetches the whole
// board once (and again only on a reset); after that it follows GET /changes, so a post costs the
// page one change however large the board. The list draws only the rows in view (a virtual list):
// every row has the same height, so row i sits at i * rowHeight and 200,000 entries scroll smoothly.

const board = { seq: null, ids: [], texts: new Map() };
// What the list shows: every id, or those whose text matches the filter; board order or newest first.
const view = { ids: board.ids, filter: '', newestFirst: false };
const rows = new Map();    // id -> its <li>, for the rows in view only
const drafts = new Map();  // id -> the text in its open editor, kept while the row scrolls out of view
const busy = new Set();    // ids with a modify or delete out: their buttons stay off until the answer
const OVERSCAN = 8;        // rows drawn beyond each edge of the view, so a fast scroll shows no gap
let rowHeight = 0;         // measured from the stylesheet (see measureRow)
let renderQueued = false;
let revealId = null;       // an entry this page posted: scrolled into view once it arrives

// Index of the first id >= `id` in a sorted array.
function firstAtLeast(ids, id) {
  let lo = 0, hi = ids.length;
  while (lo < hi) { const mid = (lo + hi) >> 1; if (ids[mid] < id) lo = mid + 1; else hi = mid; }
  return lo;
}

function insertId(ids, id) {
  if (ids.length === 0 || ids[ids.length - 1] < id) { ids.push(id); return; }
  const at = firstAtLeast(ids, id);
  if (ids[at] !== id) ids.splice(at, 0, id);
}

function removeId(ids, id) {
  const at = firstAtLeast(ids, id);
  if (ids[at] === id) ids.splice(at, 1);
}

const matches = (text) => !view.filter || text.toLowerCase().includes(view.filter);

function refilter() {
  view.ids = view.filter ? board.ids.filter((id) => matches(board.texts.get(id))) : board.ids;
}

function noteGone(id) {
  if (drafts.delete(id)) showMessage(`Entry #${id} was deleted on another node.`, 'info');
  busy.delete(id);
}

// The whole board: the first load, or a reset (the node could not continue from our seq).
function loadBoard(answer) {
  board.ids = answer.entries.map((e) => e.id);
  board.texts = new Map(answer.entries.map((e) => [e.id, e.text]));
  board.seq = answer.seq;
  for (const id of [...drafts.keys()]) if (!board.texts.has(id)) noteGone(id);
  refilter();
}

// Applies a /changes answer's ops in order; view.ids is board.ids itself unless a filter is set.
function applyChanges(answer) {
  const filtered = view.ids !== board.ids;
  for (const op of answer.ops) {
    if (op.op === 'add' || op.op === 'modify') {
      if (op.op === 'add') insertId(board.ids, op.id);
      else if (!board.texts.has(op.id)) continue;
      board.texts.set(op.id, op.text);
      if (filtered) (matches(op.text) ? insertId : removeId)(view.ids, op.id);
    } else if (op.op === 'delete') {
      board.texts.delete(op.id);
      removeId(board.ids, op.id);
      if (filtered) removeId(view.ids, op.id);
      noteGone(op.id);
    }
  }
  board.seq = answer.seq;
}

// Keeps the board in step with this node: each answer carries the seq to continue from.
async function followBoard() {
  let since = null;
  for (;;) {
    const started = Date.now();
    try {
      // This node's own copy: the page shows what this node holds, and keeps
      // showing it while no leader confirms reads (an election).
      const url = since === null ? '/board?stale=1' : `/changes?since=${since}`;
      const response = await fetchWithin(url, {}, LONG_POLL_TIMEOUT_MS, true);
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      const answer = await response.json();
      if (answer.entries) loadBoard(answer);
      else applyChanges(answer);
      queueRender();
      setLive('live');
      const unchanged = answer.seq === since && !answer.more;
      since = answer.seq; // taken as is: a restarted node may be behind what we saw before
      // An unchanged answer given at once means the node is not long-polling; do not spin.
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

// ---------- drawing the rows in view ----------

function queueRender() {
  if (renderQueued) return;
  renderQueued = true;
  requestAnimationFrame(renderRows);
}

// Every row has the stylesheet's height (--row-h), which a media query changes on narrow screens.
function measureRow() {
  const probe = entryItem(0);
  probe.style.visibility = 'hidden';
  ui.list.append(probe);
  rowHeight = probe.getBoundingClientRect().height || 64;
  probe.remove();
  return rowHeight;
}

const idAt = (i) => view.ids[view.newestFirst ? view.ids.length - 1 - i : i];

function indexOfId(id) {
  const at = firstAtLeast(view.ids, id);
  if (view.ids[at] !== id) return -1;
  return view.newestFirst ? view.ids.length - 1 - at : at;
}

function renderRows() {
  renderQueued = false;
  const h = rowHeight || measureRow();
  const box = ui.scroll;
  const n = view.ids.length;
  // At the end before this change: stay there, as a chat does, so new entries come into view.
  const atEnd = box.scrollHeight > box.clientHeight && box.scrollTop + box.clientHeight >= box.scrollHeight - 2;
  ui.list.style.height = `${n * h}px`;
  if (atEnd && !view.newestFirst) box.scrollTop = box.scrollHeight;
  if (revealId !== null && board.texts.has(revealId)) {
    const at = indexOfId(revealId);
    if (at >= 0 && (at * h < box.scrollTop || (at + 1) * h > box.scrollTop + box.clientHeight)) {
      box.scrollTop = Math.max(0, (at + 1) * h - box.clientHeight);
    }
    revealId = null;
  }
  const seen = box.clientHeight || window.innerHeight;
  const first = Math.max(0, Math.floor(box.scrollTop / h) - OVERSCAN);
  const last = Math.min(n, Math.ceil((box.scrollTop + seen) / h) + OVERSCAN);
  ui.list.style.paddingTop = `${first * h}px`;
  const wanted = [];
  for (let i = first; i < last; i++) wanted.push(idAt(i));
  const keep = new Set(wanted);
  for (const [id, li] of rows) if (!keep.has(id)) { li.remove(); rows.delete(id); }
  // In display order in the DOM too, so what is read out (and tested) is the board's order.
  let previous = null;
  for (const id of wanted) {
    let li = rows.get(id);
    if (!li) { li = entryItem(id); rows.set(id, li); }
    const next = previous ? previous.nextSibling : ui.list.firstChild;
    if (li !== next) ui.list.insertBefore(li, next);
    fillRow(li, id);
    previous = li;
  }
  showCounts();
}

function showCounts() {
  const total = board.ids.length, shown = view.ids.length;
  const plural = (k) => `${k.toLocaleString('en')} ${k === 1 ? 'entry' : 'entries'}`;
  ui.boardCount.textContent = view.filter ? `${shown.toLocaleString('en')} of ${plural(total)}` : plural(total);
  ui.boardSeq.textContent = board.seq === null ? 'seq –' : `seq ${board.seq}`;
  ui.empty.hidden = shown > 0 || board.seq === null;
  ui.empty.textContent = view.filter ? `No entry contains “${ui.filter.value.trim()}”.` : 'The board is empty. Post the first entry.';
}

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

// Brings a row up to date: its text (whole, with a tooltip when the row clips it), its editor, busy.
function fillRow(li, id) {
  const p = li.querySelector('.entry-text');
  const text = board.texts.get(id);
  if (p.textContent !== text) p.textContent = text;
  p.title = p.scrollHeight > p.clientHeight + 1 ? text : '';
  if (drafts.has(id) && !li.querySelector('.edit-form')) openEditor(li, id);
  if (!drafts.has(id) && li.classList.contains('editing')) closeEditor(li);
  li.classList.toggle('busy', busy.has(id));
  showEntryButtons(li);
}

function setFilter() {
  view.filter = ui.filter.value.trim().toLowerCase();
  refilter();
  ui.scroll.scrollTop = 0;
  queueRender();
}

function setOrder() {
  view.newestFirst = ui.newestFirst.checked;
  ui.scroll.scrollTop = 0;
  queueRender();
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
      // The poster wants to see it: scrolled into view when the feed brings it.
      if (Number.isFinite(result.body.id)) { revealId = result.body.id; queueRender(); }
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

const rowId = (li) => Number(li.dataset.id);

function startEdit(li) {
  const id = rowId(li);
  if (drafts.has(id)) return;
  drafts.set(id, board.texts.get(id) ?? '');
  openEditor(li, id);
  const input = li.querySelector('.edit-input');
  input.focus();
  input.select();
}

// The editor takes the row's place in the list (same height); its draft outlives the row.
function openEditor(li, id) {
  const form = el('form', 'edit-form');
  const label = el('label', 'visually-hidden', `Edit entry ${id}`);
  const input = el('input', 'edit-input');
  const save = el('button', 'save', 'Save');
  const cancel = el('button', 'cancel', 'Cancel');
  input.id = `edit-${id}`;
  label.htmlFor = input.id;
  input.type = 'text';
  input.autocomplete = 'off';
  input.value = drafts.get(id);
  save.type = 'submit';
  cancel.type = 'button';
  form.append(label, input, save, cancel);
  // Enter submits the form (saves); Escape backs out without touching the board.
  form.addEventListener('submit', (event) => { event.preventDefault(); saveEdit(li, input); });
  input.addEventListener('input', () => drafts.set(id, input.value));
  input.addEventListener('keydown', (event) => { if (event.key === 'Escape') stopEdit(li); });
  cancel.addEventListener('click', () => stopEdit(li));
  li.classList.add('editing');
  li.append(form);
  showEntryButtons(li);
}

function closeEditor(li) {
  li.classList.remove('editing');
  li.querySelector('.edit-form')?.remove();
}

function stopEdit(li) {
  drafts.delete(rowId(li));
  closeEditor(li);
  li.querySelector('.edit')?.focus();
}

async function saveEdit(li, input) {
  const id = rowId(li);
  const text = input.value;
  const problem = localProblem(text);
  if (problem) { showMessage(problem); input.focus(); return; }
  setBusy(id, true);
  try {
    const result = await postForm(`/board/${id}`, { delete: '0', entry: text });
    if (result.ok) { clearMessage(); stopEdit(rows.get(id) ?? li); }
    else { showMessage(errorText(result.status, result.body, `Entry #${id}`)); input.focus(); }
  } catch (error) {
    showMessage(UNREACHABLE);
  } finally {
    setBusy(id, false);
  }
}

async function deleteEntry(li) {
  const id = rowId(li);
  setBusy(id, true);
  try {
    const result = await postForm(`/board/${id}`, { delete: '1' });
    if (result.ok) clearMessage();
    else showMessage(errorText(result.status, result.body, `Entry #${id}`));
  } catch (error) {
    showMessage(UNREACHABLE);
  } finally {
    setBusy(id, false);
  }
}

// Disables an entry's buttons while its request is out, so one click is one request.
function setBusy(id, on) {
  if (on) busy.add(id); else busy.delete(id);
  const li = rows.get(id);
  if (li) { li.classList.toggle('busy', on); showEntryButtons(li); }
}

// While the node is down every change would fail, so those buttons are off; Cancel still backs out.
function showEntryButtons(li) {
  const off = busy.has(rowId(li));
  for (const button of li.querySelectorAll('button')) {
    button.disabled = off || (health.down && !button.classList.contains('cancel'));
  }
}

function showPosting() {
  ui.addButton.disabled = posting || health.down;
  ui.postingOff.hidden = !health.down;
  for (const li of rows.values()) showEntryButtons(li);
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
      const response = await fetchWithin('/status', {}, STATUS_TIMEOUT_MS, true);
      if (response.status === 503) {
        // Down but still talking (a crash fault): its own words say why.
        const body = await response.json().catch(() => ({}));
        ui.nodeDownWhy.textContent = body.error ? `It says: “${body.error}”.` : '';
      }
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
  showCountdown();
  const name = ui.nodeId.textContent === '–' ? 'this node' : `node ${ui.nodeId.textContent}`;
  ui.title.textContent = `${name} · not answering`;
  document.title = `Blackboard · ${name} (not answering)`;
  showLive();
  showPosting();
}

// The facts and the cluster come back with the next /status, the board with the next read.
function showNodeUp() {
  ui.nodeDown.hidden = true;
  ui.nodeDownWhy.textContent = '';
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
  renderPace(status);
  renderFaults(status);
  followMembers(status);
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

// ---------- pace and the silent leader ----------

// Until the first /status says otherwise; only the countdown and the episode bounds use these.
let pace = { heartbeat_ms: null, timeout_ms: null };
// The last reported silence of this node's leader, and when it came (performance.now()).
const silence = { ms: null, at: 0 };

const spanText = (ms) => (ms < 1000 ? `${Math.round(ms)} ms` : `${Number((ms / 1000).toFixed(1))} s`);
const seconds = (ms) => `${(Math.max(0, ms) / 1000).toFixed(1)} s`;

function renderPace(status) {
  const p = status.pace;
  if (p && Number.isFinite(p.heartbeat_ms) && Number.isFinite(p.timeout_ms)) {
    pace = { heartbeat_ms: p.heartbeat_ms, timeout_ms: p.timeout_ms };
    ui.pace.textContent = `pace: heartbeat ${spanText(p.heartbeat_ms)}, timeout ${spanText(p.timeout_ms)}`;
    ui.pace.hidden = false;
  }
  silence.ms = Number.isFinite(status.leader_silent_ms) ? status.leader_silent_ms : null;
  silence.at = performance.now();
  showCountdown();
}

// Shown only once the node itself reports more than a heartbeat (plus a tenth, for the beat in
// flight) without its leader: counting on between polls from a normal value would show a silence
// that a beat already ended. Between polls it counts on from the reported value.
function showCountdown() {
  const known = !health.down && silence.ms !== null && pace.heartbeat_ms !== null;
  if (!known || silence.ms <= pace.heartbeat_ms * 1.1) { ui.countdown.hidden = true; return; }
  const ms = silence.ms + (performance.now() - silence.at);
  const left = pace.timeout_ms - ms;
  ui.countdown.textContent = left > 0
    ? `leader silent for ${seconds(ms)}: suspected in ${seconds(left)}`
    : `leader silent for ${seconds(ms)}: suspected now`;
  ui.countdown.hidden = false;
}

// ---------- demo faults ----------

function renderFaults(status) {
  ui.faults.hidden = status.faults_allowed !== true;
  ui.faultNow.textContent = status.fault ?? 'none';
}

// The labels say what a press will ask for; the node judges the numbers (its 400 is shown).
function updateFaultLabels() {
  const s = ui.faultSeconds.value.trim() || '?';
  const p = ui.faultPercent.value.trim() || '?';
  const label = { crash: `Crash and reboot (${s} s)`, cutoff: `Cut off (${s} s)`, loss: `Lose ${p}% (${s} s)`, heal: 'Heal' };
  for (const button of ui.faultButtons) button.textContent = label[button.dataset.action];
}

function showFaultAnswer(text, kind) {
  ui.faultAnswer.textContent = text;
  ui.faultAnswer.dataset.kind = kind;
  ui.faultAnswer.hidden = false;
}

async function startFault(action) {
  const fields = { action };
  if (action !== 'heal') fields.seconds = ui.faultSeconds.value.trim();
  if (action === 'loss') fields.percent = ui.faultPercent.value.trim();
  for (const button of ui.faultButtons) button.disabled = true;
  const name = ui.nodeId.textContent === '–' ? 'this node' : `node ${ui.nodeId.textContent}`;
  try {
    const result = await postForm('/fault', fields);
    const when = clockTime(new Date());
    if (result.ok) showFaultAnswer(`${when} · ${name}: ${result.body.fault ?? 'done'}`, 'ok');
    else showFaultAnswer(`${when} · refused (HTTP ${result.status}): ${result.body.error ?? 'no reason given'}`, 'error');
  } catch (error) {
    showFaultAnswer(UNREACHABLE, 'error');
  } finally {
    for (const button of ui.faultButtons) button.disabled = false;
  }
}

// ---------- the protocol's story: every member's GET /events ----------
//
// Each node keeps only its own events, so the page follows every member it can reach: its own node
// through its own origin, the others at http://<peers[].http>/ (they let a member's page read
// /events). A member that cannot be reached is missing from the story, except for the datagrams it
// sent, which then show as received by the others.

const EVENTS_KEPT = 600;      // per member: the page's memory stays bounded however long it is open
const TIMELINE_LINES = 200;
const DIAGRAM_ROWS = 80;      // beyond this a diagram shows its beginning and end
const GROUP_WITHIN_MS = 1000; // sends of one kind in a row by one node read as one line
const MATCH_WITHIN_MS = 2000; // a receive this long after its send still counts as that datagram
const SKEW_MS = 50;           // members' clocks may differ a little, even on one machine
const GAP_SHOWN_MS = 400;     // a pause longer than this gets its own row in a diagram
const MESSAGE_LABEL = { election: 'Election', alive: 'Alive', trial: 'Trial', prepare: 'Prepare',
  promise: 'Promise', no_state: 'NoState', reject: 'Reject' };

const isMessage = (e) => Object.hasOwn(MESSAGE_LABEL, e.kind) && e.from != null && e.to != null;
const isSend = (e) => isMessage(e) && e.from === e.node;
const isStart = (e) => (e.kind === 'suspect' || e.kind === 'election') && !isMessage(e);
const clockMs = (ms) => {
  const d = new Date(ms);
  return `${clockTime(d)}.${String(d.getMilliseconds()).padStart(3, '0')}`;
};

// key -> what the page knows of that member's events; 'self' is this page's own node.
const sources = new Map();
let memberIds = [];
let renderTimer = 0;
let lapseTimer = 0; // redraws an "in progress" election once it has gone quiet

function newSource(key, base) {
  // gen counts the boots seen: a restarted process numbers its events from 1 again.
  return { key, base, since: 0, gen: 0, oldest: null, resume: false, events: [], reached: false, failing: false };
}

// A peer's HTTP address as this browser can reach it: a node listening on every interface
// reports 0.0.0.0, which means "this host" here.
function reachable(hostPort) {
  const match = /^(.*):(\d+)$/.exec(String(hostPort));
  if (!match) return null;
  const host = ['', '0.0.0.0', '[::]', '::'].includes(match[1]) ? location.hostname : match[1];
  return `http://${host}:${match[2]}`;
}

function followMembers(status) {
  memberIds = (status.peers || []).map((peer) => peer.id).sort((a, b) => a - b);
  for (const peer of status.peers || []) {
    if (peer.self || peer.http == null) continue; // own node: through this origin, already followed
    const base = reachable(peer.http);
    if (!base) continue;
    const source = sources.get(peer.id);
    if (source) { source.base = base; continue; }
    const fresh = newSource(peer.id, base);
    sources.set(peer.id, fresh);
    followEvents(fresh);
  }
}

async function askEvents(source, since) {
  const url = `${source.base}/events?since=${since}`;
  const response = source.key === 'self'
    ? await fetchWithin(url, {}, LONG_POLL_TIMEOUT_MS, true)
    : await fetchPeer(url, LONG_POLL_TIMEOUT_MS);
  if (!response.ok) throw new Error(`HTTP ${response.status}`);
  const answer = await response.json();
  if (!Array.isArray(answer.events) || !Number.isFinite(answer.next)) throw new Error('not an /events answer');
  source.reached = true;
  source.failing = false;
  return answer;
}

async function followEvents(source) {
  for (;;) {
    const started = Date.now();
    const wasReached = source.reached && !source.failing;
    try {
      if (source.resume) await checkBoot(source);
      const answer = await askEvents(source, source.since);
      take(source, answer);
      if (!wasReached) scheduleRender(); // back (or first heard): the sources line changes
      // Nothing new, answered at once: the node is not long-polling; do not spin.
      if (answer.events.length === 0 && Date.now() - started < 100) await sleep(RETRY_AFTER_MS);
    } catch (error) {
      source.failing = true;
      source.resume = source.oldest !== null;
      scheduleRender();
      await sleep(RETRY_AFTER_MS);
    }
  }
}

// After an outage: is it the same boot? Its oldest event says: a new process holds different
// events from number 1 on, while the same one still holds what it held (or, with a full ring,
// only later ones). The numbers alone cannot tell once the new boot has caught up with them.
async function checkBoot(source) {
  const answer = await askEvents(source, 0);
  source.resume = false;
  const first = answer.events[0];
  const old = source.oldest;
  if (first && (first.n > old.n || (first.n === old.n && first.t_ms === old.t_ms))) return;
  newBoot(source);
  take(source, answer);
}

function newBoot(source) {
  source.gen += 1;
  source.since = 0;
  source.oldest = null;
}

function take(source, answer) {
  // Numbers went backwards without an outage between: a restart between two polls.
  if (answer.next < source.since) newBoot(source);
  for (const e of answer.events) {
    if (!Number.isFinite(e.n) || e.n <= source.since) continue;
    if (source.oldest === null) source.oldest = { n: e.n, t_ms: e.t_ms };
    source.events.push({ ...e, gen: source.gen });
    source.since = e.n;
  }
  if (source.events.length > EVENTS_KEPT) source.events.splice(0, source.events.length - EVENTS_KEPT);
  if (answer.events.length > 0) scheduleRender();
}

// Many answers can land together (three members, a burst): draw once for all of them.
function scheduleRender() {
  if (renderTimer) return;
  renderTimer = setTimeout(() => { renderTimer = 0; renderStory(); }, 60);
}

// Pairs each receive with the send it took, per channel (kind, sender, receiver) and never crossing:
// first in, first out, as datagrams between two nodes here arrive in well under a millisecond.
// A receive takes the earliest unpaired send within SKEW_MS of it, or else the latest one up to
// MATCH_WITHIN_MS before it; the sends it passes over were lost. Returns a map both ways.
function pairDatagrams(streams) {
  const channels = new Map();
  for (const stream of streams) {
    for (const e of stream) {
      if (!isMessage(e)) continue;
      const key = `${e.kind} ${e.from} ${e.to}`;
      if (!channels.has(key)) channels.set(key, { sends: [], receives: [] });
      channels.get(key)[isSend(e) ? 'sends' : 'receives'].push(e);
    }
  }
  const pair = new Map();
  for (const { sends, receives } of channels.values()) {
    let next = 0; // the sends before this one are paired or lost
    for (const r of receives) {
      let close = -1;
      let older = -1;
      for (let i = next; i < sends.length && sends[i].t_ms <= r.t_ms + SKEW_MS; i += 1) {
        const before = r.t_ms - sends[i].t_ms;
        if (before > MATCH_WITHIN_MS) continue;
        if (before <= SKEW_MS) { close = i; break; }
        older = i;
      }
      const i = close >= 0 ? close : older;
      if (i < 0) continue;
      pair.set(sends[i], r);
      pair.set(r, sends[i]);
      next = i + 1;
    }
  }
  return pair;
}

// Every member's events in one order that respects what caused what: each member's own order, and
// a receive after its send. Clocks give the millisecond only, and a whole election can fit in one,
// so time alone would put a Promise after the epoch it made. The earliest event goes next (the
// lower id on a tie) unless it is a receive whose send is not placed yet: then the earliest event
// free to go, if it is within SKEW_MS; beyond that the clocks or the pairing misled, and the
// receive goes anyway, so a wrong pairing can never hold a member's events back for long.
function mergeCausally(streams, pair) {
  const heads = streams.map(() => 0);
  const placed = new Set();
  const out = [];
  const head = (i) => streams[i][heads[i]];
  const ready = (e) => !(isMessage(e) && !isSend(e) && pair.has(e)) || placed.has(pair.get(e));
  const earlier = (e, j) => j < 0 || e.t_ms < head(j).t_ms || (e.t_ms === head(j).t_ms && e.node < head(j).node);
  for (;;) {
    let first = -1;
    let free = -1;
    for (let i = 0; i < streams.length; i += 1) {
      const e = head(i);
      if (!e) continue;
      if (earlier(e, first)) first = i;
      if (ready(e) && earlier(e, free)) free = i;
    }
    if (first < 0) return out;
    const pick = !ready(head(first)) && free >= 0 && head(free).t_ms <= head(first).t_ms + SKEW_MS ? free : first;
    const e = head(pick);
    heads[pick] += 1;
    placed.add(e);
    out.push(e);
  }
}

function renderStory() {
  const streams = [...sources.values()].map((source) => source.events).filter((events) => events.length > 0);
  const pair = pairDatagrams(streams);
  const events = mergeCausally(streams, pair);
  // Members whose own events are here: their sends are drawn from those, not from the receives.
  const heard = new Set(events.map((e) => e.node));
  const story = { events, heard, pair };
  renderSources();
  renderTimeline(story);
  renderElection(story);
  renderWrite(story);
}

function renderSources() {
  const reached = [];
  const missing = [];
  for (const source of sources.values()) {
    const id = source.key === 'self' ? Number(ui.nodeId.textContent) || 'this node' : source.key;
    (source.reached && !source.failing ? reached : missing).push(id);
  }
  const without = memberIds.filter((id) => !sources.has(id) && String(id) !== ui.nodeId.textContent);
  missing.push(...without);
  const list = (ids) => ids.map(String).sort().join(', ');
  ui.timelineSources.textContent = `events of node ${list(reached) || '–'}` +
    (missing.length ? ` · not reached: node ${list(missing)}` : '');
}

// ---------- the timeline ----------

// The node's text, worded to follow "node N"; a text it does not know stays as the node said it.
const VERBS = { following: 'follows', stepping: 'steps', RECOVERED: 'recovered', recovered: 'recovered',
  booted: 'booted', crashed: 'crashed', losing: 'is losing', cut: 'is cut' };
// Whole texts that need more than a verb to follow the name.
const REWORDED = [[/^cut-off over: (.*)$/, '’s cut-off is over: $1'], [/^datagram loss over$/, '’s datagram loss is over'],
  [/^faults healed$/, ' healed its faults']];

function phrase(e) {
  const t = String(e.text ?? '');
  let m;
  if (e.kind === 'suspect') return ` suspects its leader: ${t}`;
  if (e.kind === 'epoch' && (m = /^epoch (\S+) begins, promised by (.+)$/.exec(t))) {
    return ` leads epoch ${m[1]}, promised by ${m[2]}`;
  }
  if (e.kind === 'epoch' && (m = /^LEADER of epoch (\S+)(.*)$/.exec(t))) return ` is leader of epoch ${m[1]}${m[2]}`;
  if (e.kind === 'commit' && (m = /^committed seq (\d+)\.\.=(\d+)(.*)$/.exec(t))) {
    return ` committed seq ${m[1] === m[2] ? m[1] : `${m[1]}–${m[2]}`}${m[3]}`;
  }
  if ((m = /^no higher rank answered; taking over as leader of epoch (\S+)$/.exec(t))) {
    return ` takes over as leader of epoch ${m[1]}: no higher rank answered`;
  }
  for (const [pattern, words] of REWORDED) if (pattern.test(t)) return t.replace(pattern, words);
  const [word, ...rest] = t.split(' ');
  if (Object.hasOwn(VERBS, word)) return ` ${VERBS[word]} ${rest.join(' ')}`;
  return `: ${t}`;
}

// One line per event, except that a run of sends of one kind by one node (consecutive in its own
// numbering, within GROUP_WITHIN_MS, each to a new recipient: a repeat is a retry, a new round)
// is one line, and a receive is left out when its sender's own events are here to say it.
function timelineLines(events, heard) {
  const lines = [];
  const open = new Map(); // node -> its latest line of sends, which the next send may join
  for (const e of events) {
    if (isMessage(e) && !isSend(e) && heard.has(e.from)) continue;
    const group = open.get(e.node);
    if (isSend(e) && group && group.kind === e.kind && group.gen === e.gen && e.n === group.n + 1 &&
        e.t_ms - group.t_ms <= GROUP_WITHIN_MS && !group.to.includes(e.to)) {
      group.to.push(e.to);
      group.n = e.n;
      continue;
    }
    const line = { t_ms: e.t_ms, node: e.node, kind: e.kind, gen: e.gen, n: e.n, to: [e.to], event: e };
    if (isSend(e)) open.set(e.node, line);
    else open.delete(e.node);
    lines.push(line);
  }
  return lines;
}

function lineText(line) {
  const e = line.event;
  if (isSend(e)) return ` → ${MESSAGE_LABEL[e.kind]} → ${line.to.join(', ')}`;
  if (isMessage(e)) return ` ← ${MESSAGE_LABEL[e.kind]} ← ${e.from}`;
  return phrase(e);
}

function renderTimeline({ events, heard }) {
  const lines = timelineLines(events, heard).slice(-TIMELINE_LINES).reverse();
  const items = lines.map((line) => {
    const li = el('li', `line k-${line.kind}`);
    li.dataset.node = String(line.node);
    li.dataset.kind = line.kind;
    const when = el('time', 'when', clockMs(line.t_ms));
    when.dateTime = new Date(line.t_ms).toISOString();
    // The spaces are text, so the line reads (and copies) as one sentence.
    li.append(when, ' ', el('span', 'who', `node ${line.node}`), el('span', 'what', lineText(line)));
    return li;
  });
  ui.timeline.replaceChildren(...items);
  ui.timelineEmpty.hidden = items.length > 0;
}

// ---------- sequence diagrams ----------

const SVG_NS = 'http://www.w3.org/2000/svg';
const TIME_W = 80;
const LANE_W = 110;
const MIN_SCALE = 0.8; // a narrow screen shrinks a diagram this far, then scrolls it sideways
const HEAD_H = 44;
const ROW_H = 24;
const GAP_H = 18;

function svgNode(tag, attrs = {}, text) {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, String(value));
  if (text !== undefined) node.textContent = text;
  return node;
}

const epochOf = (e) => (/epoch (\S+?)[,: ]/.exec(`${e.text} `) || [])[1] ?? null;

// Short words for a marker on a lane; the whole text is its tooltip.
function markLabel(e) {
  const t = String(e.text ?? '');
  let m;
  if (e.kind === 'suspect') return 'suspects its leader';
  if (e.kind === 'election') return 'no leader: election';
  if (e.kind === 'epoch' && /begins/.test(t)) return `leads epoch ${epochOf(e)}`;
  if (e.kind === 'epoch') return `leader of ${epochOf(e) ?? 'an epoch'}`;
  if (e.kind === 'takeover' && (m = /taking over as leader of epoch (\S+)/.exec(t))) return `takes over ${m[1]}`;
  if (e.kind === 'takeover') return /standing back/.test(t) ? 'stands back' : 'takeover';
  if (e.kind === 'commit' && (m = /seq (\d+)\.\.=(\d+)/.exec(t))) return `commit seq ${m[1] === m[2] ? m[1] : `${m[1]}–${m[2]}`}`;
  if ((m = /^following leader (\d+)/.exec(t))) return `follows node ${m[1]}`;
  if (/^stepping down/.test(t)) return 'steps down';
  if ((m = /^node (\d+) outranks/.exec(t))) return `waits for node ${m[1]}`;
  if (/^crashed/.test(t)) return 'crashed';
  if (/back from the crash/.test(t)) return 'reboots, no memory';
  if (/^booted/.test(t)) return 'boots';
  if (/recovered/i.test(t)) return 'recovered';
  if ((m = /^losing (\d+%)/.exec(t))) return `loses ${m[1]}`;
  if (/^cut off/.test(t)) return 'cut off';
  return t.length > 22 ? `${t.slice(0, 21)}…` : t;
}

const MARKED = new Set(['suspect', 'election', 'epoch', 'takeover', 'role', 'fault', 'recovery', 'commit']);

// Rows for the events of a window: one arrow per datagram, from its sender's event when the sender's
// events are here (from the receive otherwise), marked lost when the receiver's events are here
// and none of them received it; one marker per other event.
function rowsOf(windowEvents, { heard, pair }) {
  const rows = [];
  const leads = new Set(windowEvents.filter((e) => e.kind === 'epoch' && /begins/.test(e.text)).map((e) => e.node));
  for (const e of windowEvents) {
    if (isMessage(e)) {
      if (!isSend(e) && heard.has(e.from)) continue;
      const lost = isSend(e) && heard.has(e.to) && !pair.has(e);
      rows.push({ type: 'arrow', t: e.t_ms, from: e.from, to: e.to, kind: e.kind, lost });
    } else if (MARKED.has(e.kind)) {
      if (e.kind === 'epoch' && /^LEADER/.test(e.text) && leads.has(e.node)) continue; // said by "leads epoch"
      rows.push({ type: 'mark', t: e.t_ms, node: e.node, kind: e.kind, label: markLabel(e), text: e.text });
    }
  }
  return rows;
}

// Pauses become rows of their own, and a long story keeps its beginning and its end.
function withGaps(rows) {
  let kept = rows;
  if (rows.length > DIAGRAM_ROWS) {
    const half = Math.floor(DIAGRAM_ROWS / 2);
    kept = [...rows.slice(0, half), { type: 'gap', text: `… ${rows.length - 2 * half} more rows …` }, ...rows.slice(-half)];
  }
  const out = [];
  let last = null;
  for (const row of kept) {
    if (row.t !== undefined && last !== null && row.t - last > GAP_SHOWN_MS) {
      out.push({ type: 'gap', text: `· · ·  ${spanText(row.t - last)}  · · ·` });
    }
    if (row.t !== undefined) last = row.t;
    out.push(row);
  }
  return out;
}

function clearDiagram(svg) {
  svg.replaceChildren();
  svg.removeAttribute('width');
  svg.removeAttribute('height');
  svg.style.minWidth = '';
}

function drawDiagram(svg, lanes, rows, highlight) {
  const width = TIME_W + lanes.length * LANE_W + 4;
  let y = HEAD_H;
  const placed = rows.map((row) => {
    const h = row.type === 'gap' ? GAP_H : row.type === 'note' ? ROW_H + 8 : ROW_H;
    const at = y + h / 2;
    y += h;
    return { ...row, y: at };
  });
  const height = y + 10;
  const x = (id) => TIME_W + (lanes.indexOf(id) + 0.5) * LANE_W;
  svg.setAttribute('viewBox', `0 0 ${width} ${height}`);
  svg.setAttribute('width', String(width));
  svg.setAttribute('height', String(height));
  svg.style.minWidth = `${Math.round(width * MIN_SCALE)}px`;

  const defs = svgNode('defs');
  for (const kind of Object.keys(MESSAGE_LABEL)) {
    // Markers take their colour from their own class: a marker does not inherit from the line using it.
    const marker = svgNode('marker', { id: `${svg.id}-${kind}`, viewBox: '0 0 10 10', refX: 9, refY: 5,
      markerWidth: 7, markerHeight: 7, orient: 'auto-start-reverse', class: `head k-${kind}` });
    marker.append(svgNode('path', { d: 'M0,0 L10,5 L0,10 z' }));
    defs.append(marker);
  }
  const parts = [defs];
  for (const id of lanes) {
    const lane = svgNode('g', { class: id === highlight ? 'lane lead' : 'lane', 'data-node': id });
    lane.append(svgNode('text', { x: x(id), y: 16, 'text-anchor': 'middle', class: 'lane-name' }, `node ${id}`));
    if (id === highlight) lane.append(svgNode('text', { x: x(id), y: 31, 'text-anchor': 'middle', class: 'lane-note' }, 'new leader'));
    lane.append(svgNode('line', { x1: x(id), x2: x(id), y1: HEAD_H - 6, y2: height - 4 }));
    parts.push(lane);
  }
  let shown = -Infinity;
  for (const row of placed) {
    const g = svgNode('g', { class: `row ${row.type}` });
    // A time where it moves on: repeats would be noise, and a node stamps its events when its
    // driver takes them, a few ms late at times, so the causal order can step back a little.
    if (row.t !== undefined && row.type !== 'note' && row.t > shown) {
      g.append(svgNode('text', { x: 4, y: row.y + 4, class: 'time' }, clockMs(row.t)));
      shown = row.t;
    }
    if (row.type === 'arrow') drawArrow(g, row, x, svg.id);
    else if (row.type === 'mark') drawMark(g, row, x, lanes);
    else if (row.type === 'note') {
      g.append(svgNode('rect', { x: TIME_W + 6, y: row.y - ROW_H / 2, width: lanes.length * LANE_W - 12, height: ROW_H, rx: 6 }));
      g.append(svgNode('text', { x: TIME_W + (lanes.length * LANE_W) / 2, y: row.y + 4, 'text-anchor': 'middle' }, row.text));
    } else {
      g.append(svgNode('text', { x: width / 2, y: row.y + 4, 'text-anchor': 'middle' }, row.text));
    }
    parts.push(g);
  }
  svg.replaceChildren(...parts);
}

function drawArrow(g, row, x, svgId) {
  const label = MESSAGE_LABEL[row.kind];
  g.classList.add('arrow', `k-${row.kind}`);
  if (row.lost) g.classList.add('lost');
  g.dataset.kind = row.kind;
  g.dataset.from = String(row.from);
  g.dataset.to = String(row.to);
  const x1 = x(row.from);
  const full = x(row.to);
  // A lost datagram stops short, where it was dropped.
  const x2 = row.lost ? x1 + (full - x1) * 0.6 : full + (full > x1 ? -2 : 2);
  g.append(svgNode('title', {}, `${label} from node ${row.from} to node ${row.to} at ${clockMs(row.t)}` +
    (row.lost ? ': never received' : '')));
  g.append(svgNode('line', { x1, x2, y1: row.y + 3, y2: row.y + 3, 'marker-end': row.lost ? '' : `url(#${svgId}-${row.kind})` }));
  if (row.lost) g.append(svgNode('text', { x: x2, y: row.y + 7, 'text-anchor': 'middle', class: 'cross' }, '✕'));
  const mid = (x1 + (row.lost ? x2 : full)) / 2;
  g.append(svgNode('text', { x: mid, y: row.y - 2, 'text-anchor': 'middle', class: 'label' }, row.lost ? `${label} (lost)` : label));
}

function drawMark(g, row, x, lanes) {
  g.classList.add('mark', `k-${row.kind}`);
  g.dataset.node = String(row.node);
  const cx = x(row.node);
  const last = lanes.indexOf(row.node) === lanes.length - 1;
  g.append(svgNode('title', {}, `node ${row.node}: ${row.text}`));
  g.append(svgNode('circle', { cx, cy: row.y, r: 4.5 }));
  g.append(svgNode('text', { x: last ? cx - 8 : cx + 8, y: row.y + 4, 'text-anchor': last ? 'end' : 'start' }, row.label));
}

function lanesFor(events) {
  const ids = new Set(memberIds);
  for (const e of events) {
    ids.add(e.node);
    if (isMessage(e)) { ids.add(e.from); ids.add(e.to); }
  }
  return [...ids].filter(Number.isFinite).sort((a, b) => a - b);
}

// The last election: from the first suspicion (or "no leader known") after the epoch before to the
// start of the last epoch; or, when a node has suspected its leader since, that election so far.
function lastElection(events) {
  const timeout = pace.timeout_ms ?? 3000;
  const epochs = events.filter((e) => e.kind === 'epoch');
  const last = epochs[epochs.length - 1];
  const after = (t) => events.find((e) => isStart(e) && e.t_ms > t);
  const later = after(last ? last.t_ms : -Infinity);
  if (later) {
    const activity = events.filter((e) => e.t_ms >= later.t_ms && (isMessage(e) || MARKED.has(e.kind)) && e.kind !== 'commit');
    const end = activity[activity.length - 1].t_ms;
    const ongoing = Date.now() - end < 2 * timeout;
    return { first: later, from: later.t_ms, to: end, done: null, ongoing };
  }
  if (!last) return null;
  const name = epochOf(last);
  const before = epochs.filter((e) => e.t_ms < last.t_ms && epochOf(e) !== name).pop();
  const bound = before ? before.t_ms : -Infinity;
  const first = events.find((e) => e.t_ms > bound && e.t_ms <= last.t_ms && isStart(e)) ||
    events.find((e) => e.t_ms > bound && e.t_ms <= last.t_ms && isMessage(e)) || last;
  const begins = epochs.filter((e) => epochOf(e) === name && /begins/.test(e.text)).pop() || last;
  // A little past the epoch's start, to show who follows it.
  return { first, from: first.t_ms, to: last.t_ms + (pace.heartbeat_ms ?? 500) / 2, done: begins, ongoing: false };
}

function renderElection(story) {
  const { events } = story;
  const election = lastElection(events);
  if (!election) {
    ui.electionCaption.textContent = 'Last election: none in the events yet.';
    clearDiagram(ui.electionDiagram);
    return;
  }
  const timeout = pace.timeout_ms ?? 3000;
  // The fault that set it off, if one came shortly before: the cause belongs in the picture.
  const cause = events.filter((e) => e.kind === 'fault' && e.t_ms < election.from && e.t_ms >= election.from - 2 * timeout).pop();
  const inside = events.filter((e) => (e.t_ms >= election.from && e.t_ms <= election.to) || e === cause);
  const rows = rowsOf(inside, story);
  const arrows = rows.filter((r) => r.type === 'arrow').length;
  const first = election.first;
  const start = `started by node ${first.node}${first.kind === 'suspect' ? ' suspecting its leader' : ''} at ${clockMs(first.t_ms)}`;
  if (election.done) {
    const d = election.done;
    ui.electionCaption.textContent = `Last election: ${start}; node ${d.node} leads epoch ${epochOf(d)} ` +
      `${spanText(d.t_ms - first.t_ms)} later; ${arrows} datagrams.`;
  } else {
    ui.electionCaption.textContent = `${election.ongoing ? 'Election in progress' : 'Last election, with no new epoch'}: ` +
      `${start}; ${arrows} datagrams so far.`;
    // With no event to redraw it, "in progress" would stand for good once the election went quiet.
    if (election.ongoing) {
      clearTimeout(lapseTimer);
      lapseTimer = setTimeout(scheduleRender, 2 * timeout - (Date.now() - election.to) + 100);
    }
  }
  drawDiagram(ui.electionDiagram, lanesFor(inside), withGaps(rows), election.done ? election.done.node : null);
}

// The last write: its commit (which carries only the count of datagrams the leader sent for it)
// and whatever the events show between it and the previous commit, or the start of its epoch,
// whichever came later (the election before an epoch is the other diagram's).
function renderWrite(story) {
  const { events } = story;
  const commits = events.filter((e) => e.kind === 'commit');
  const commit = commits.pop();
  if (!commit) {
    ui.writeCaption.textContent = 'Last write: none in the events yet.';
    clearDiagram(ui.writeDiagram);
    return;
  }
  const timeout = pace.timeout_ms ?? 3000;
  const previous = commits.filter((e) => e.node === commit.node).pop();
  const at = events.indexOf(commit);
  const epochs = events.slice(0, at).filter((e) => e.node === commit.node && e.kind === 'epoch');
  const leading = epochs.filter((e) => /^LEADER/.test(e.text)).pop();
  const opening = epochs.filter((e) => /begins/.test(e.text)).pop() || leading;
  const start = [previous, opening].filter(Boolean).map((e) => events.indexOf(e));
  const first = Math.max(-1, ...start);
  const inside = events.slice(Math.max(0, first), at).filter((e) => e.t_ms >= commit.t_ms - 2 * timeout &&
    (e.kind !== 'commit' || e === previous));
  const rows = rowsOf(inside, story);
  const m = /seq (\d+)\.\.=(\d+): (\d+) datagrams? sent since seq (\d+)/.exec(commit.text);
  const seq = m ? (m[1] === m[2] ? m[1] : `${m[1]}–${m[2]}`) : '?';
  const cost = m ? `node ${commit.node} sent ${m[3]} datagrams since seq ${m[4]}` : commit.text;
  rows.push({ type: 'note', t: commit.t_ms, text: cost });
  rows.push({ type: 'mark', t: commit.t_ms, node: commit.node, kind: 'commit', label: markLabel(commit), text: commit.text });
  // A new leader's first commit is of the entry that opens its epoch ("log up to seq N").
  const own = leading && m && /log up to seq (\d+)/.exec(leading.text);
  const opens = own && Number(own[1]) >= Number(m[1]) && Number(own[1]) <= Number(m[2]) &&
    (!previous || events.indexOf(previous) < events.indexOf(leading));
  // The node counts the datagrams a commit cost but does not list them (appends, heartbeats).
  ui.writeCaption.textContent = `Last write: seq ${seq} committed by node ${commit.node} at ${clockMs(commit.t_ms)}` +
    (opens ? `, with the entry that opens epoch ${epochOf(leading)}` : '') +
    (m ? `, costing ${m[3]} datagrams (appends and heartbeats, counted but not listed one by one).` : '.');
  drawDiagram(ui.writeDiagram, lanesFor([...inside, commit]), withGaps(rows), null);
}

// ---------- start ----------

ui.form.addEventListener('submit', addEntry);
ui.input.addEventListener('input', onType);
ui.filter.addEventListener('input', setFilter);
ui.newestFirst.addEventListener('change', setOrder);
ui.scroll.addEventListener('scroll', queueRender, { passive: true });
window.addEventListener('resize', () => { rowHeight = 0; queueRender(); });
ui.faultSeconds.addEventListener('input', updateFaultLabels);
ui.faultPercent.addEventListener('input', updateFaultLabels);
for (const button of ui.faultButtons) button.addEventListener('click', () => startFault(button.dataset.action));
updateByteCount();
updateFaultLabels();
followBoard();
followStatus();
sources.set('self', newSource('self', ''));
followEvents(sources.get('self'));
setInterval(showCountdown, 100);
