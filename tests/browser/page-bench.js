'use strict';
// The page at scale, measured in real Chromium (a benchmark: it prints figures, it asserts nothing).
// Starts 3 real nodes on 127.0.0.1, loads the board to each size given (default 50,000 then 200,000
// entries), opens a follower's page and prints, at each size:
//   - how long the page takes to first show the board (from navigation to "seq S" for the loaded seq);
//   - 200 posts at ~100 a second to the leader: how long after its acknowledgement each is on the page
//     (median, p95 and the last one), the list scrolled to its end as a watcher's would be;
//   - the bytes the page downloaded while those 200 arrived.
// Usage: tests/browser/page-bench.sh [SIZE...]   (builds the release binary, installs playwright-core)
//   env BB_BIN (default target/release/blackboard), BB_ARTIFACTS (node logs, default artifacts/bench).

const fs = require('fs');
const http = require('http');
const path = require('path');
const { spawn } = require('child_process');
const { chromium } = require('playwright-core');

const ROOT = path.join(__dirname, '..', '..');
const BIN = process.env.BB_BIN || path.join(ROOT, 'target', 'release', 'blackboard');
const ARTIFACTS = process.env.BB_ARTIFACTS || path.join(__dirname, 'artifacts', 'bench');
const SIZES = process.argv.slice(2).map(Number).filter((n) => n > 0);
if (SIZES.length === 0) SIZES.push(50000, 200000);
const UDP = [26201, 26202, 26203];
const HTTP = [26301, 26302, 26303];
const TAIL = 200;           // posts measured at each size
const TAIL_GAP_MS = 10;     // between posts: ~100 a second with their round trips
const LOADERS = 16;         // concurrent connections loading the board
const MAX_ENTRIES = 200000; // the node's limit: the largest size is loaded short of it by the tail

const agent = new http.Agent({ keepAlive: true, maxSockets: LOADERS + 4 });
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function request(port, method, route, form) {
  return new Promise((resolve, reject) => {
    const body = form === undefined ? undefined : new URLSearchParams(form).toString();
    const req = http.request({ host: '127.0.0.1', port, method, path: route, agent, timeout: 15000,
      headers: body === undefined ? {} : { 'Content-Type': 'application/x-www-form-urlencoded',
        'Content-Length': Buffer.byteLength(body) } }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        try { resolve({ status: res.statusCode, json: JSON.parse(Buffer.concat(chunks).toString()) }); }
        catch (e) { reject(new Error(`${method} ${route}: HTTP ${res.statusCode}, not JSON`)); }
      });
    });
    req.on('timeout', () => req.destroy(new Error(`${method} ${route}: no answer`)));
    req.on('error', reject);
    req.end(body);
  });
}

// Polls `probe` every 50 ms until it returns a value, for at most `ms`.
async function poll(ms, what, probe) {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined && value !== null && value !== false) return value;
    await sleep(50);
  }
  throw new Error(`gave up waiting for ${what}`);
}

function startNodes() {
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  const peers = UDP.map((p, i) => `${i + 1}=127.0.0.1:${p}`).join(',');
  return HTTP.map((port, i) => {
    const log = fs.openSync(path.join(ARTIFACTS, `node${i + 1}.log`), 'w');
    const child = spawn(BIN, ['node', '--id', String(i + 1), '--peers', peers, '--http', `127.0.0.1:${port}`],
      { stdio: ['ignore', log, log] });
    return { id: i + 1, port, child };
  });
}

async function leaderOf(nodes) {
  return poll(20000, 'a leader', async () => {
    const views = await Promise.all(nodes.map((n) => request(n.port, 'GET', '/status').then((r) => r.json)));
    const leader = views[0].leader;
    return leader && views.every((v) => v.leader === leader) ? nodes.find((n) => n.id === leader) : undefined;
  });
}

// Posts until the board holds `size` entries, LOADERS at a time.
async function load(leader, size) {
  const have = (await request(leader.port, 'GET', '/board?stale=1')).json.entries.length;
  let next = have;
  const started = Date.now();
  const worker = async () => {
    while (next < size) {
      const k = next++;
      const r = await request(leader.port, 'POST', '/board', { entry: `e${k} ${'x'.repeat(40)}` });
      if (r.status !== 201) throw new Error(`load: HTTP ${r.status}`);
    }
  };
  await Promise.all(Array.from({ length: LOADERS }, worker));
  const seconds = (Date.now() - started) / 1000;
  console.log(`  loaded ${(size - have).toLocaleString('en')} entries in ${seconds.toFixed(1)} s`);
}

const percentile = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))];

async function measure(browser, leader, follower, size) {
  const seq0 = await poll(60000, 'the follower to catch up', async () => {
    const [l, f] = await Promise.all([leader, follower].map((n) => request(n.port, 'GET', '/status')));
    return f.json.seq >= l.json.seq && f.json.seq;
  });
  const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Network.enable');
  let bytes = 0, counting = false;
  cdp.on('Network.dataReceived', (e) => { if (counting) bytes += e.encodedDataLength || e.dataLength; });
  const t0 = Date.now();
  await page.goto(`http://127.0.0.1:${follower.port}/`, { waitUntil: 'commit' });
  await page.waitForFunction((s) => document.getElementById('board-seq').textContent === `seq ${s}`, seq0,
    { timeout: 120000, polling: 'raf' });
  const firstMs = Date.now() - t0;

  // A watcher at the end of the list; every tail post's first appearance on the page, by its clock.
  await page.evaluate(() => {
    const box = document.getElementById('board-scroll');
    box.scrollTop = box.scrollHeight;
    window.seenAt = {};
    const look = () => {
      for (const p of document.querySelectorAll('#entries .entry-text')) {
        const m = /^tail-(\d+)$/.exec(p.textContent);
        if (m && !(m[1] in window.seenAt)) window.seenAt[m[1]] = Date.now();
      }
    };
    new MutationObserver(look).observe(document.getElementById('entries'),
      { childList: true, subtree: true, characterData: true });
  });
  await sleep(500);
  counting = true;
  const ackAt = [];
  for (let i = 0; i < TAIL; i++) {
    const r = await request(leader.port, 'POST', '/board', { entry: `tail-${i}` });
    if (r.status !== 201) throw new Error(`tail post: HTTP ${r.status}`);
    ackAt.push(Date.now());
    await sleep(TAIL_GAP_MS);
  }
  const seen = await poll(60000, 'every tail post on the page', async () => {
    const s = await page.evaluate(() => window.seenAt);
    return Object.keys(s).length === TAIL && s;
  });
  counting = false;
  const lags = ackAt.map((t, i) => Math.max(0, seen[i] - t));
  const sorted = [...lags].sort((a, b) => a - b);
  await page.close();
  console.log(`page at ${size.toLocaleString('en')} entries (a follower's page, real Chromium):`);
  console.log(`  first show of the board: ${firstMs} ms`);
  console.log(`  ${TAIL} posts at ~100/s, each on the page after its ack: median ${percentile(sorted, 0.5)} ms, ` +
    `p95 ${percentile(sorted, 0.95)} ms, the last ${lags[TAIL - 1]} ms`);
  console.log(`  downloaded while they arrived: ${(bytes / 1048576).toFixed(3)} MiB`);
}

(async () => {
  if (!fs.existsSync(BIN)) throw new Error(`no node binary at ${BIN} (cargo build --release)`);
  const nodes = startNodes();
  const stop = () => nodes.forEach((n) => n.child.kill('SIGKILL'));
  process.on('exit', stop);
  const browser = await chromium.launch({ executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'] });
  try {
    const leader = await leaderOf(nodes);
    const follower = nodes.find((n) => n !== leader);
    for (const wanted of SIZES) {
      const size = Math.min(wanted, MAX_ENTRIES - TAIL);
      await load(leader, size);
      await measure(browser, leader, follower, size);
    }
  } finally {
    await browser.close();
  }
  process.exit(0);
})().catch((error) => { console.error(`page-bench: ${error.message || error}`); process.exit(1); });
