'use strict';
// A stand-in for a 3-node blackboard cluster, for working on the page before (or without) the Rust node.
// One process serves several ports that share one board, following API-NOTES.tmp.md:
//   node mock-server.js [18101 18102 18103]     node i is the i-th port
// Like a node with --pace demo --allow-faults: /status has pace, faults_allowed, fault, leader_silent_ms
// and peers[].http; GET /events?since=N long-polls each node's own events (an election told as the real
// nodes tell it, one event per datagram at the sender and at the receiver); POST /fault crash|cutoff|
// loss|heal (a crash answers 503 to everything for S s and comes back; cutoff and loss are only shown);
// /events and /status allow other members' pages (CORS).
// Extra, mock-only: POST /_mock/kill/ID makes node ID stop answering and, if it led, elects another after
// a timeout; POST /_mock/revive/ID (sent to a live node) makes it answer again on its port, as a restarted
// node would (its events numbered from 1 again).

const http = require('http');
const fs = require('fs');
const path = require('path');

const WWW = path.join(__dirname, '..', '..', 'www');
const FILES = { '/': ['index.html', 'text/html; charset=utf-8'], '/app.js': ['app.js', 'text/javascript'],
  '/style.css': ['style.css', 'text/css'] };
const MAX_BYTES = 1024;
const LONG_POLL_MS = 25000;
const HEARTBEAT_MS = 500;
const TIMEOUT_MS = 3000;
const MAX_EVENTS = 256;

const ports = process.argv.slice(2).map(Number);
if (ports.length === 0) ports.push(18101, 18102, 18103);

const nodes = ports.map((port, i) => ({ id: i + 1, port, alive: true, crashed: false, attribute: 1000 + (i + 1) * 111,
  server: null, events: [], n: 0, eventWaiters: [], fault: null, faultTimer: 0 }));
const board = { seq: 0, nextId: 1, entries: [], ops: [] }; // ops: every change, for GET /changes
const cluster = { leader: null, epoch: 0, lostAt: Date.now() };
let waiters = []; // long-polls waiting for seq to pass their `since`
const wait = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const up = (n) => n.alive && !n.crashed;

function record(node, kind, text, from = null, to = null) {
  node.n += 1;
  node.events.push({ n: node.n, t_ms: Date.now(), node: node.id, kind, text, from, to });
  if (node.events.length > 2048) node.events.shift();
  const ready = node.eventWaiters;
  node.eventWaiters = [];
  for (const wake of ready) wake();
}

// One datagram: an event at the sender and, if it is up to take it, at the receiver.
function datagram(kind, from, to) {
  record(from, kind, `${kind} to node ${to.id}`, from.id, to.id);
  if (up(to)) record(to, kind, `${kind} from node ${from.id}`, from.id, to.id);
}

// The bully election as the nodes tell it: the nodes that suspect send Election to every higher rank,
// those alive answer Alive, the highest alive takes over (Prepare, Promise) and leads a new epoch.
let electing = false;
async function elect(why) {
  if (electing) return;
  electing = true;
  try {
    const alive = nodes.filter(up);
    for (const n of alive) {
      record(n, why === 'boot' ? 'election' : 'suspect', why === 'boot'
        ? `no leader known; calling an election with rank ${n.attribute}`
        : `no leader heard for ${TIMEOUT_MS + 4} ms; calling an election with rank ${n.attribute}`);
      for (const higher of nodes.filter((h) => h.attribute > n.attribute)) datagram('election', n, higher);
      for (const higher of nodes.filter((h) => h.attribute > n.attribute && up(h))) datagram('alive', higher, n);
    }
    if (alive.length * 2 <= nodes.length) { cluster.leader = null; return; }
    await wait(HEARTBEAT_MS / 2);
    const winner = alive.filter(up).reduce((a, b) => (b.attribute > a.attribute ? b : a));
    cluster.epoch += 1;
    const epoch = `${cluster.epoch}.${winner.id}`;
    record(winner, 'takeover', `no higher rank answered; taking over as leader of epoch ${epoch}`);
    const others = alive.filter((n) => n !== winner && up(n));
    for (const n of others) datagram('prepare', winner, n);
    await wait(5);
    for (const n of others) datagram('promise', n, winner);
    record(winner, 'epoch', `epoch ${epoch} begins, promised by ${others.map((n) => n.id).join(', ')}`);
    record(winner, 'epoch', `LEADER of epoch ${epoch} (rank ${winner.attribute}), log up to seq ${board.seq}, commit ${board.seq}`);
    cluster.leader = winner.id;
    for (const n of others) record(n, 'role', `following leader ${winner.id} of epoch ${epoch}`);
  } finally {
    electing = false;
  }
}

function leaderLost() {
  cluster.leader = null;
  cluster.lostAt = Date.now();
  setTimeout(() => elect('suspect'), TIMEOUT_MS);
}

function boardJson(node) {
  return { node: node.id, seq: board.seq, entries: board.entries.map(({ id, text }) => ({ id, text })) };
}

function changed(op) {
  board.seq += 1;
  board.ops.push({ seq: board.seq, ...op });
  const leader = nodes.find((n) => n.id === cluster.leader);
  if (leader) record(leader, 'commit', `committed seq ${board.seq}..=${board.seq}: ${2 * (nodes.length - 1)} datagrams sent since seq ${board.seq - 1}`);
  const ready = waiters;
  waiters = [];
  for (const wake of ready) wake();
}

function send(res, status, body) {
  res.writeHead(status, { 'Content-Type': 'application/json', ...res.cors });
  res.end(JSON.stringify(body));
}

function readForm(req) {
  return new Promise((resolve) => {
    let data = '';
    req.on('data', (chunk) => { data += chunk; });
    req.on('end', () => resolve(new URLSearchParams(data)));
  });
}

function checkEntry(text) {
  if (text === null || text === '') return [400, 'missing or empty entry'];
  if (Buffer.byteLength(text, 'utf8') > MAX_BYTES) return [413, 'entry over 1024 bytes'];
  return null;
}

function status(node) {
  const role = (n) => (!up(n) ? 'unknown' : cluster.leader === null ? 'candidate' : n.id === cluster.leader ? 'leader' : 'follower');
  return {
    id: node.id, attribute: node.attribute, role: role(node), leader: cluster.leader, epoch: cluster.epoch,
    commit: board.seq, seq: board.seq, http: `127.0.0.1:${node.port}`,
    pace: { heartbeat_ms: HEARTBEAT_MS, timeout_ms: TIMEOUT_MS }, faults_allowed: true, fault: node.fault,
    leader_silent_ms: cluster.leader === node.id ? null
      : cluster.leader !== null ? Math.floor(Math.random() * HEARTBEAT_MS) : up(node) && !electing ? Date.now() - cluster.lostAt : null,
    peers: nodes.map((n) => ({ id: n.id, addr: `127.0.0.1:${17100 + n.id}`, alive: up(n),
      last_heard_ms: n.id === node.id ? 0 : up(n) ? Math.floor(Math.random() * 60) : 4200,
      role: role(n), attribute: n.attribute, self: n.id === node.id, http: `127.0.0.1:${n.port}` })),
    counters: { sent: {}, received: {}, dropped: {}, elections: cluster.epoch },
  };
}

async function mutate(req, res, id) {
  if (cluster.leader === null) { res.setHeader('Retry-After', '1'); return send(res, 503, { error: 'no leader' }); }
  const form = await readForm(req);
  if (id === null) {
    const text = form.get('entry');
    const bad = checkEntry(text);
    if (bad) return send(res, bad[0], { error: bad[1] });
    const entry = { id: board.nextId++, text };
    board.entries.push(entry);
    changed({ op: 'add', id: entry.id, text });
    return send(res, 201, { id: entry.id, seq: board.seq });
  }
  const index = board.entries.findIndex((e) => e.id === id);
  if (index < 0) return send(res, 404, { error: 'unknown entry' });
  if (form.get('delete') === '1') {
    board.entries.splice(index, 1);
    changed({ op: 'delete', id });
  } else {
    const text = form.get('entry');
    const bad = checkEntry(text);
    if (bad) return send(res, bad[0], { error: bad[1] });
    board.entries[index].text = text;
    changed({ op: 'modify', id, text });
  }
  return send(res, 200, { id, seq: board.seq });
}

function kill(id) {
  const node = nodes.find((n) => n.id === id);
  if (!node || !node.alive) return;
  node.alive = false;
  node.server.close();
  node.server.closeAllConnections();
  if (cluster.leader === id) leaderLost();
}

// A new process: its events start again from 1. The board is shared, so unlike a real restarted
// node this one has it back at once.
function revive(id) {
  const node = nodes.find((n) => n.id === id);
  if (!node || node.alive) return;
  node.alive = true;
  node.events = [];
  node.n = 0;
  rejoin(node);
  listen(node);
}

function rejoin(node) {
  record(node, 'recovery', `booted with attribute ${node.attribute} (rank ${node.attribute}); no state yet, looking for a leader`);
  if (cluster.leader !== null) {
    record(node, 'role', `following leader ${cluster.leader} of epoch ${cluster.epoch}.${cluster.leader}`);
    record(node, 'recovery', `RECOVERED the board from leader ${cluster.leader}: seq ${board.seq}, ${board.entries.length} entries`);
  }
}

const FAULT_TEXT = {
  crash: (s) => `crashed (a demo fault): no memory, back in ${s} s`,
  cutoff: (s) => `cut off (a demo fault): every datagram dropped for ${s} s`,
  loss: (s, p) => `losing ${p}% of datagrams (a demo fault) for ${s} s`,
};

function endFault(node) {
  clearTimeout(node.faultTimer);
  if (node.crashed) {
    node.crashed = false;
    record(node, 'fault', 'back from the crash: rebooted with no memory');
    rejoin(node);
  } else if (node.fault) {
    record(node, 'fault', node.fault.startsWith('cut') ? 'cut-off over: datagrams flow again' : 'datagram loss over');
  }
  node.fault = null;
}

// POST /fault, checked as the node checks it.
async function fault(node, req, res) {
  const form = await readForm(req);
  const action = form.get('action');
  if (action === 'heal') {
    endFault(node);
    record(node, 'fault', 'faults healed');
    return send(res, 202, { fault: 'faults healed' });
  }
  const seconds = form.has('seconds') ? Number(form.get('seconds')) : 5;
  if (!Number.isInteger(seconds) || seconds < 1 || seconds > 600) return send(res, 400, { error: '`seconds` must be a whole number from 1 to 600' });
  if (!FAULT_TEXT[action]) return send(res, 400, { error: '`action` must be crash, cutoff, loss or heal' });
  const percent = Number(form.get('percent'));
  if (action === 'loss' && (!Number.isInteger(percent) || percent < 1 || percent > 100)) {
    return send(res, 400, { error: '`percent` must be a whole number from 1 to 100' });
  }
  const text = FAULT_TEXT[action](seconds, percent);
  send(res, 202, { fault: text });
  endFault(node);
  record(node, 'fault', text);
  node.fault = text;
  node.faultTimer = setTimeout(() => endFault(node), seconds * 1000);
  if (action === 'crash') {
    node.crashed = true;
    if (cluster.leader === node.id) leaderLost();
  }
  return undefined;
}

function eventsAnswer(node, since) {
  const events = node.events.filter((e) => e.n > since).slice(0, MAX_EVENTS);
  return { next: events.length ? events[events.length - 1].n : Math.min(since, node.n), events };
}

// Other members' pages may read /events and /status, as the nodes allow.
function cors(req, res) {
  const origin = req.headers.origin;
  res.cors = origin && /^http:\/\/(127\.0\.0\.1|localhost):\d+$/.test(origin) ? { 'Access-Control-Allow-Origin': origin } : {};
}

function handle(node, req, res) {
  const url = new URL(req.url, 'http://x');
  const file = FILES[url.pathname];
  cors(req, res);
  // The page itself is served even by a crashed node (the nodes answer pages on the HTTP thread).
  if (req.method === 'GET' && file) {
    res.writeHead(200, { 'Content-Type': file[1] });
    return res.end(fs.readFileSync(path.join(WWW, file[0])));
  }
  if (node.crashed && !(url.pathname === '/fault' && req.method === 'POST')) {
    return send(res, 503, { error: 'this node is down: crashed by a demo fault, it reboots by itself' });
  }
  if (req.method === 'GET' && url.pathname === '/status') return send(res, 200, status(node));
  if (req.method === 'GET' && url.pathname === '/board') {
    const since = url.searchParams.get('since');
    if (since === null || board.seq > Number(since)) return send(res, 200, boardJson(node));
    const timer = setTimeout(() => { waiters = waiters.filter((w) => w !== wake); send(res, 200, boardJson(node)); }, LONG_POLL_MS);
    const wake = () => { clearTimeout(timer); send(res, 200, boardJson(node)); };
    waiters.push(wake);
    return undefined;
  }
  if (req.method === 'GET' && url.pathname === '/changes') {
    const text = url.searchParams.get('since') ?? '0';
    if (!/^\d+$/.test(text)) return send(res, 400, { error: '`since` must be a sequence number' });
    const since = Number(text);
    // Like a node: past the board is a reset (the whole board); the mock keeps every op, so never too old.
    const answer = () => (since > board.seq ? { reset: true, ...boardJson(node) }
      : { seq: board.seq, reset: false, more: false, ops: board.ops.filter((o) => o.seq > since) });
    if (since !== board.seq) return send(res, 200, answer());
    const timer = setTimeout(() => { waiters = waiters.filter((w) => w !== wake); send(res, 200, answer()); }, LONG_POLL_MS);
    const wake = () => { clearTimeout(timer); send(res, 200, answer()); };
    waiters.push(wake);
    return undefined;
  }
  if (req.method === 'GET' && url.pathname === '/events') {
    const text = url.searchParams.get('since') ?? '0';
    if (!/^\d+$/.test(text)) return send(res, 400, { error: '`since` must be an event number' });
    const since = Number(text);
    if (node.n > since) return send(res, 200, eventsAnswer(node, since));
    const timer = setTimeout(() => { node.eventWaiters = node.eventWaiters.filter((w) => w !== wake); send(res, 200, eventsAnswer(node, since)); }, LONG_POLL_MS);
    const wake = () => { clearTimeout(timer); send(res, 200, eventsAnswer(node, since)); };
    node.eventWaiters.push(wake);
    return undefined;
  }
  if (req.method === 'POST' && url.pathname === '/fault') return fault(node, req, res);
  if (req.method === 'POST' && (url.pathname === '/board' || url.pathname === '/entries')) return mutate(req, res, null);
  const match = url.pathname.match(/^\/board\/(\d+)\/?$/);
  if (req.method === 'POST' && match) return mutate(req, res, Number(match[1]));
  const killMatch = url.pathname.match(/^\/_mock\/kill\/(\d+)$/);
  if (req.method === 'POST' && killMatch) { send(res, 200, { killed: Number(killMatch[1]) }); return setTimeout(() => kill(Number(killMatch[1])), 50); }
  const reviveMatch = url.pathname.match(/^\/_mock\/revive\/(\d+)$/);
  if (req.method === 'POST' && reviveMatch) { revive(Number(reviveMatch[1])); return send(res, 200, { revived: Number(reviveMatch[1]) }); }
  return send(res, 404, { error: 'not found' });
}

function listen(node) {
  node.server = http.createServer((req, res) => handle(node, req, res));
  node.server.listen(node.port, '127.0.0.1', () => console.log(`node ${node.id} pid ${process.pid} http://127.0.0.1:${node.port}`));
}

for (const node of nodes) {
  listen(node);
  record(node, 'recovery', `booted with attribute ${node.attribute} (rank ${node.attribute}); no state yet, looking for a leader`);
}
elect('boot');
