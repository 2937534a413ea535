'use strict';
// A stand-in for a 3-node blackboard cluster, for working on the page before (or without) the Rust node.
// One process serves several ports that share one board, following API-NOTES.tmp.md:
//   node mock-server.js [18101 18102 18103]     node i is the i-th port
// Extra, mock-only: POST /_mock/kill/ID makes node ID stop answering and, if it led, elects another after ~1 s;
// POST /_mock/revive/ID (sent to a live node) makes it answer again on its port, as a restarted node would.

const http = require('http');
const fs = require('fs');
const path = require('path');

const WWW = path.join(__dirname, '..', '..', 'www');
const FILES = { '/': ['index.html', 'text/html; charset=utf-8'], '/app.js': ['app.js', 'text/javascript'],
  '/style.css': ['style.css', 'text/css'] };
const MAX_BYTES = 1024;
const LONG_POLL_MS = 25000;

const ports = process.argv.slice(2).map(Number);
if (ports.length === 0) ports.push(18101, 18102, 18103);

const nodes = ports.map((port, i) => ({ id: i + 1, port, alive: true, attribute: 1000 + (i + 1) * 111, server: null }));
const board = { seq: 0, nextId: 1, entries: [] };
const cluster = { leader: null, epoch: 0 };
let waiters = []; // long-polls waiting for seq to pass their `since`

function electLeader() {
  const alive = nodes.filter((n) => n.alive);
  if (alive.length * 2 <= nodes.length) { cluster.leader = null; return; }
  cluster.leader = alive.reduce((a, b) => (b.attribute > a.attribute ? b : a)).id;
  cluster.epoch += 1;
}

function boardJson(node) {
  return { node: node.id, seq: board.seq, entries: board.entries.map(({ id, text }) => ({ id, text })) };
}

function changed() {
  board.seq += 1;
  const ready = waiters;
  waiters = [];
  for (const wake of ready) wake();
}

function send(res, status, body) {
  res.writeHead(status, { 'Content-Type': 'application/json' });
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
  const role = (n) => (!n.alive ? 'unknown' : cluster.leader === null ? 'candidate' : n.id === cluster.leader ? 'leader' : 'follower');
  return {
    id: node.id, attribute: node.attribute, role: role(node), leader: cluster.leader, epoch: cluster.epoch,
    commit: board.seq, seq: board.seq, http: `127.0.0.1:${node.port}`,
    peers: nodes.map((n) => ({ id: n.id, addr: `127.0.0.1:${17100 + n.id}`, alive: n.alive,
      last_heard_ms: n.id === node.id ? 0 : n.alive ? Math.floor(Math.random() * 60) : 4200,
      role: role(n), attribute: n.attribute, self: n.id === node.id })),
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
    changed();
    return send(res, 201, { id: entry.id, seq: board.seq });
  }
  const index = board.entries.findIndex((e) => e.id === id);
  if (index < 0) return send(res, 404, { error: 'unknown entry' });
  if (form.get('delete') === '1') {
    board.entries.splice(index, 1);
  } else {
    const text = form.get('entry');
    const bad = checkEntry(text);
    if (bad) return send(res, bad[0], { error: bad[1] });
    board.entries[index].text = text;
  }
  changed();
  return send(res, 200, { id, seq: board.seq });
}

function kill(id) {
  const node = nodes.find((n) => n.id === id);
  if (!node || !node.alive) return;
  node.alive = false;
  node.server.close();
  node.server.closeAllConnections();
  if (cluster.leader === id) {
    cluster.leader = null;
    setTimeout(electLeader, 1000);
  }
}

// The board is shared, so unlike a real restarted node this one has it back at once.
function revive(id) {
  const node = nodes.find((n) => n.id === id);
  if (!node || node.alive) return;
  node.alive = true;
  listen(node);
}

function handle(node, req, res) {
  const url = new URL(req.url, 'http://x');
  const file = FILES[url.pathname];
  if (req.method === 'GET' && file) {
    res.writeHead(200, { 'Content-Type': file[1] });
    return res.end(fs.readFileSync(path.join(WWW, file[0])));
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

for (const node of nodes) listen(node);
electLeader();
