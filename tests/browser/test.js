'use strict';
// Real-browser test of the blackboard page against a running 3-node cluster (started by run.sh).
// Environment:
//   BB_NODES  "1=http://127.0.0.1:18101,2=...,3=..."   base URL of each node's HTTP server
//   BB_PIDS   "1=1234,2=1235,3=1236"                    pids, so the leader can be killed with SIGKILL
//   BB_MOCK   "1" when the cluster is mock-server.js: the leader is then "killed" via POST /_mock/kill/ID
//             and restarted via POST /_mock/revive/ID
//   BB_BIN, BB_PEERS  the node binary and its --peers list, so the killed leader can be restarted as it was
//   BB_RESTARTED      file to append a restarted node's pid to; run.sh stops those on exit
// Prints one line per check and then "N passed, M failed"; exits 1 on any failure.

const fs = require('fs');
const path = require('path');
const { spawn } = require('child_process');
const { chromium } = require('playwright-core');
const { parseMap, check, assert, jsonFrom, run } = require('./harness');

const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const ARTIFACTS = path.join(__dirname, 'artifacts');
const WAIT_MS = 10000;       // bound for "it shows up on the other page"
const FAILOVER_MS = 20000;   // bound for "the survivors agree on a new leader"
const WHOLE_RUN_MS = 240000; // the test never runs longer than this
const RESTART_MS = 20000;    // bound for "a restarted node has the board back and its page shows it"

const nodes = parseMap(process.env.BB_NODES ||
  '1=http://127.0.0.1:18101,2=http://127.0.0.1:18102,3=http://127.0.0.1:18103');
const pids = parseMap(process.env.BB_PIDS);
const mock = process.env.BB_MOCK === '1';

const getJson = jsonFrom(nodes);

// ---------- reading the page ----------

const listOf = (page) => page.evaluate(() => [...document.querySelectorAll('#entries li')]
  .map((li) => ({ id: Number(li.dataset.id), text: li.querySelector('.entry-text').textContent })));

// Waits (bounded, polling the DOM) until the list has an entry with exactly this text; returns its id.
async function waitForText(page, text, timeout = WAIT_MS) {
  const handle = await page.waitForFunction((wanted) => {
    const li = [...document.querySelectorAll('#entries li')]
      .find((item) => item.querySelector('.entry-text').textContent === wanted);
    return li ? Number(li.dataset.id) : false;
  }, text, { timeout, polling: 100 });
  return handle.jsonValue();
}

function waitForGone(page, id, timeout = WAIT_MS) {
  return page.waitForFunction((gone) => !document.querySelector(`#entries li[data-id="${gone}"]`),
    id, { timeout, polling: 100 });
}

const textOf = (page, selector) => page.locator(selector).textContent();

// Every row of the list, in order, read by scrolling its box from top to bottom (only rows in view exist).
const scrollThrough = (page) => page.evaluate(async () => {
  const box = document.getElementById('board-scroll');
  const frame = () => new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve)));
  const seen = new Map();
  box.scrollTop = 0;
  for (let guard = 0; guard < 100000; guard++) {
    await frame();
    for (const li of document.querySelectorAll('#entries li')) {
      seen.set(li.dataset.id, { id: Number(li.dataset.id), text: li.querySelector('.entry-text').textContent });
    }
    if (box.scrollTop + box.clientHeight >= box.scrollHeight - 1) break;
    box.scrollTop += Math.max(1, Math.floor(box.clientHeight / 2));
  }
  return [...seen.values()];
});

// `count` adds, modifies and deletes sent to random nodes, four at a time; modifies and deletes pick
// ids this run added (some already deleted by then: those answer 404, as they should).
async function randomChanges(count, tag) {
  const urls = Object.values(nodes);
  const ids = [];
  let next = 0;
  const one = async (i) => {
    const pick = Math.random();
    const url = urls[Math.floor(Math.random() * urls.length)];
    let path = '/board', form = { entry: `${tag} ${i} m` };
    if (pick > 0.5 && ids.length > 0) {
      const id = ids[Math.floor(Math.random() * ids.length)];
      path = `/board/${id}`;
      form = pick > 0.8 ? { delete: '1' } : { delete: '0', entry: `${tag} ${i} modified` };
    }
    const response = await fetch(url + path, { method: 'POST', body: new URLSearchParams(form),
      signal: AbortSignal.timeout(10000) });
    const body = await response.json().catch(() => ({}));
    if (response.status === 201) ids.push(body.id);
    else if (![200, 404].includes(response.status)) throw new Error(`POST ${path}: HTTP ${response.status}`);
  };
  const worker = async () => { while (next < count) await one(next++); };
  await Promise.all([worker(), worker(), worker(), worker()]);
}

async function addThroughForm(page, text) {
  await page.fill('#entry-input', text);
  await page.press('#entry-input', 'Enter');
}

async function screenshot(page, name) {
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`), fullPage: true });
}

// Opens a node's page and records anything that would break the "live, local, no reload" promise.
async function openPage(context, id, viewport) {
  const page = await context.newPage();
  page.setDefaultTimeout(WAIT_MS);
  await page.setViewportSize(viewport);
  const watch = { loads: 0, foreign: [], errors: [] };
  page.on('framenavigated', (frame) => { if (frame === page.mainFrame()) watch.loads += 1; });
  // The page reads the other members' /events too (for its timeline), and nothing else from elsewhere.
  const members = Object.values(nodes);
  page.on('request', (request) => {
    if (!members.some((base) => request.url().startsWith(base))) watch.foreign.push(request.url());
  });
  page.on('pageerror', (error) => watch.errors.push(error.message));
  await page.goto(nodes[id] + '/', { waitUntil: 'load' });
  return { page, watch, id };
}

// ---------- the cluster ----------

async function findLeader() {
  const status = await getJson(1, '/status');
  return status.leader;
}

async function killNode(id) {
  if (mock) {
    await fetch(`${nodes[id]}/_mock/kill/${id}`, { method: 'POST', signal: AbortSignal.timeout(3000) });
    return;
  }
  assert(pids[id], `no pid known for node ${id}`);
  process.kill(Number(pids[id]), 'SIGKILL');
}

// Starts a killed node again with its old id and ports and no memory, the way run.sh started it.
async function restartNode(id) {
  if (mock) {
    const alive = Object.keys(nodes).map(Number).find((other) => other !== id);
    await fetch(`${nodes[alive]}/_mock/revive/${id}`, { method: 'POST', signal: AbortSignal.timeout(3000) });
    return;
  }
  const bin = process.env.BB_BIN;
  const peers = process.env.BB_PEERS;
  assert(bin && peers, 'BB_BIN and BB_PEERS are needed to restart a node (run this through run.sh)');
  const log = fs.openSync(path.join(ARTIFACTS, `node${id}-restarted.log`), 'w');
  const child = spawn(bin, ['node', '--id', String(id), '--peers', peers, '--http', new URL(nodes[id]).host],
    { detached: true, stdio: ['ignore', log, log] });
  fs.closeSync(log);
  // Recorded before anything can fail, so run.sh stops this node even if the test dies right after.
  if (process.env.BB_RESTARTED) fs.appendFileSync(process.env.BB_RESTARTED, `${child.pid}\n`);
  child.unref();
  pids[id] = child.pid;
}

// The banner's HH:MM:SS as seconds into the day, or null when there is none.
function bannerSeconds(text) {
  const match = /not answering since (\d\d):(\d\d):(\d\d)/.exec(text);
  return match ? Number(match[1]) * 3600 + Number(match[2]) * 60 + Number(match[3]) : null;
}
const localSeconds = (ms) => { const d = new Date(ms); return d.getHours() * 3600 + d.getMinutes() * 60 + d.getSeconds(); };

// ---------- the test ----------

async function main() {
  const leader = await findLeader();
  if (leader === null || leader === undefined || !nodes[leader]) {
    console.log(`FAIL  cluster has a leader before the test (node 1 says leader=${leader})`);
    return false;
  }
  // Pages go on the two nodes that will survive the leader's death, and one on the leader itself,
  // to see what a page says when its own node dies and comes back.
  const [aId, bId] = Object.keys(nodes).map(Number).filter((id) => id !== leader);
  console.log(`leader is node ${leader}; pages on node ${aId} (wide), node ${bId} (360 px) and node ${leader} (wide)`);

  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS, headless: true, timeout: 30000 });
  try {
    const context = await browser.newContext();
    const A = await openPage(context, aId, { width: 1280, height: 800 });
    const B = await openPage(context, bId, { width: 360, height: 780 });
    const L = await openPage(context, leader, { width: 1280, height: 800 });
    await runChecks(A, B, L, leader);
  } finally {
    await browser.close();
  }
  return true;
}

async function runChecks(A, B, L, leader) {
  const stamp = Date.now().toString(36);

  for (const P of [A, B]) {
    await check(`node ${P.id} page shows its id, role and the leader`, async () => {
      await P.page.waitForFunction(([id, lead]) =>
        document.getElementById('node-id').textContent === String(id) &&
        document.getElementById('node-leader').textContent === `node ${lead}` &&
        document.getElementById('node-role').textContent === 'follower', [P.id, leader], { timeout: WAIT_MS });
    });
    await check(`node ${P.id} cluster panel lists 3 members, leader row highlighted`, async () => {
      await P.page.waitForFunction((lead) => {
        const rows = document.querySelectorAll('#cluster tbody tr');
        const top = document.querySelector('#cluster tbody tr.is-leader');
        return rows.length === 3 && top && top.dataset.id === String(lead);
      }, leader, { timeout: WAIT_MS });
    });
  }
  await check(`node ${A.id} page shows the pace from /status, and fault buttons only if the node allows faults`, async () => {
    const status = await getJson(A.id, '/status');
    const span = (ms) => (ms < 1000 ? `${ms} ms` : `${ms / 1000} s`);
    const want = `pace: heartbeat ${span(status.pace.heartbeat_ms)}, timeout ${span(status.pace.timeout_ms)}`;
    await A.page.waitForFunction((text) => document.getElementById('pace').textContent === text, want, { timeout: WAIT_MS });
    assert(await A.page.locator('#faults').isVisible() === (status.faults_allowed === true),
      `fault buttons ${status.faults_allowed ? 'hidden' : 'shown'} with faults_allowed=${status.faults_allowed}`);
  });
  await check(`node ${A.id}'s timeline merges the events of all 3 members`, async () => {
    await A.page.waitForFunction(() => {
      const nodes = new Set([...document.querySelectorAll('#timeline li')].map((li) => li.dataset.node));
      return nodes.size === 3 && document.getElementById('timeline-sources').textContent === 'events of node 1, 2, 3';
    }, null, { timeout: WAIT_MS, polling: 100 });
  });
  await check(`node ${leader} page shows itself as leader with its attribute, no "not answering" banner`, async () => {
    await L.page.waitForFunction((id) =>
      document.getElementById('node-id').textContent === String(id) &&
      document.getElementById('node-role').textContent === 'leader' &&
      /^\d+$/.test(document.getElementById('node-attribute').textContent), leader, { timeout: WAIT_MS });
    assert(!(await L.page.locator('#node-down').isVisible()), 'banner shown while the node answers');
    assert(!(await L.page.locator('main.node-down').count()), 'board greyed while the node answers');
  });

  // Add on A; it must reach B through the leader without B reloading.
  const first = `Hello from node ${A.id} <b>not bold</b> & "quotes" ${stamp}`;
  let firstId = null;
  await check('add through the form (Enter) clears the input and shows on the same page', async () => {
    await addThroughForm(A.page, first);
    firstId = await waitForText(A.page, first);
    assert(await A.page.inputValue('#entry-input') === '', 'input was not cleared after success');
  });
  await check(`the new entry appears on node ${B.id}'s page without a reload`, async () => {
    await waitForText(B.page, first);
    assert(B.watch.loads === 1, `page loaded ${B.watch.loads} times`);
  });
  await check('entry text is shown literally (markup escaped)', async () => {
    const bold = await B.page.locator('#entries b').count();
    assert(bold === 0, 'a <b> element was created from entry text');
  });
  await screenshot(A.page, '1-after-add-node' + A.id);
  await screenshot(B.page, '1-after-add-node' + B.id);

  await check('entries posted from both pages show in the same order on both and on every node', async () => {
    const texts = [`second ${stamp}`, `third ${stamp}`, `fourth ${stamp}`];
    await addThroughForm(A.page, texts[0]);
    await waitForText(A.page, texts[0]);
    await addThroughForm(B.page, texts[1]);
    await waitForText(B.page, texts[1]);
    await addThroughForm(A.page, texts[2]);
    for (const text of texts) { await waitForText(A.page, text); await waitForText(B.page, text); }
    const onA = JSON.stringify(await listOf(A.page));
    const onB = JSON.stringify(await listOf(B.page));
    assert(onA === onB, `pages differ:\n${onA}\n${onB}`);
    const order = (await listOf(A.page)).map((e) => e.text).filter((t) => t.endsWith(stamp));
    assert(JSON.stringify(order) === JSON.stringify([first, ...texts]), `wrong order: ${order}`);
    for (const id of Object.keys(nodes)) {
      const board = await getJson(id, '/board');
      assert(JSON.stringify(board.entries) === onA, `node ${id}'s GET /board differs from the pages`);
    }
  });

  const edited = `Edited on node ${B.id} ${stamp}`;
  await check('Escape cancels an edit in place without changing the entry', async () => {
    const item = B.page.locator(`#entries li[data-id="${firstId}"]`);
    await item.locator('button.edit').click();
    await item.locator('.edit-input').fill('this must not be saved');
    await item.locator('.edit-input').press('Escape');
    assert(await item.locator('.edit-form').count() === 0, 'editor still open');
    assert(await item.locator('.entry-text').textContent() === first, 'text changed');
  });
  await check(`modify with Edit on node ${B.id} (Enter saves) shows on node ${A.id}`, async () => {
    const item = B.page.locator(`#entries li[data-id="${firstId}"]`);
    await item.locator('button.edit').click();
    await item.locator('.edit-input').fill(edited);
    await item.locator('.edit-input').press('Enter');
    assert(await waitForText(A.page, edited) === firstId, 'edited text landed on another id');
    await waitForText(B.page, edited);
  });
  await check(`delete on node ${A.id} removes it on node ${B.id}`, async () => {
    await A.page.locator(`#entries li[data-id="${firstId}"] button.delete`).click();
    await waitForGone(B.page, firstId);
    await waitForGone(A.page, firstId);
  });

  await check('empty entry: a message, nothing sent', async () => {
    await A.page.fill('#entry-input', '   ');
    await A.page.press('#entry-input', 'Enter');
    await A.page.waitForFunction(() => /Write something/.test(document.getElementById('message').textContent));
    await A.page.fill('#entry-input', '');
  });

  const long = 'x'.repeat(1100);
  await check('1100-char entry is stopped in the page: "too long" message, text kept, nothing sent', async () => {
    let posts = 0;
    const count = (request) => { if (request.method() === 'POST') posts += 1; };
    A.page.on('request', count);
    await addThroughForm(A.page, long);
    await A.page.waitForFunction(() => /too long \(max 1024 bytes\)/i.test(document.getElementById('message').textContent));
    A.page.off('request', count);
    assert(await A.page.inputValue('#entry-input') === long, 'text was not kept');
    assert(posts === 0, `${posts} POST requests were sent`);
  });
  await check('1100-char entry sent anyway gets the node\'s 413: message shown, text kept', async () => {
    // Lift the page's own limit so the request really goes out and the server's answer is what we see.
    await A.page.evaluate(() => { document.getElementById('add-form').dataset.maxBytes = '100000'; });
    await A.page.evaluate(() => { document.getElementById('message').textContent = ''; });
    const answer = A.page.waitForResponse((r) => r.request().method() === 'POST', { timeout: WAIT_MS });
    await A.page.press('#entry-input', 'Enter');
    const status = (await answer).status();
    assert(status === 413, `server answered ${status}, not 413`);
    await A.page.waitForFunction(() => /too long \(max 1024 bytes\)/i.test(document.getElementById('message').textContent));
    assert(await A.page.inputValue('#entry-input') === long, 'text was not kept');
    await A.page.evaluate(() => { document.getElementById('add-form').dataset.maxBytes = '1024'; });
  });
  await screenshot(A.page, '2-too-long-node' + A.id);
  await A.page.fill('#entry-input', '');

  // Failover: kill -9 the leader; both pages must show a new leader among the survivors.
  console.log(`killing leader node ${leader}${mock ? ' (mock)' : ` pid ${pids[leader]}`}`);
  const killedAt = Date.now();
  await killNode(leader);
  // Catch the election on camera if it lasts long enough to be seen; not a check, elections can be quick.
  await A.page.waitForSelector('#election-banner', { state: 'visible', timeout: 3000 })
    .then(() => screenshot(A.page, '3-election-node' + A.id)).catch(() => {});
  await check(`node ${leader}'s own page says it is not answering: banner with the time, board greyed, ` +
    'role and attribute unknown, posting off', async () => {
    await L.page.waitForFunction(() => {
      const banner = document.getElementById('node-down');
      return !banner.hidden && /not answering since \d\d:\d\d:\d\d/.test(banner.textContent) &&
        document.querySelector('main').classList.contains('node-down');
    }, null, { timeout: WAIT_MS, polling: 100 });
    assert(await L.page.locator('#node-down').isVisible(), 'banner is in the DOM but not visible');
    const shown = bannerSeconds(await textOf(L.page, '#node-down'));
    // The first failed poll comes after the kill and, given the wait above, within WAIT_MS of it.
    // Seconds into the day, taken signed around the kill so that midnight does not matter.
    const late = ((shown - localSeconds(killedAt) + 86400 + 43200) % 86400) - 43200;
    assert(late >= 0 && late <= WAIT_MS / 1000 + 1,
      `banner time is ${late < 0 ? `${-late} s before` : `${late} s after`} the kill (local clock)`);
    for (const field of ['#node-role', '#node-attribute', '#node-leader',
      '#cluster tr.is-self td[data-label="Role"]', '#cluster tr.is-self td[data-label="Attribute"]']) {
      const text = await textOf(L.page, field);
      assert(text === 'unknown', `${field} still says "${text}"`);
    }
    assert(await L.page.locator('#add-button').isDisabled(), 'Post button still enabled');
    assert(await L.page.locator('#posting-off').isVisible(), 'no "posting is off" note');
    assert(await L.page.locator('#entries button.delete:enabled').count() === 0, 'Delete buttons still enabled');
  });
  await screenshot(L.page, '3-node-down-node' + leader);
  await L.page.setViewportSize({ width: 360, height: 780 });
  await screenshot(L.page, '3-node-down-360px-node' + leader);
  await L.page.setViewportSize({ width: 1280, height: 800 });

  let newLeader = null;
  for (const P of [A, B]) {
    await check(`node ${P.id} page shows a new leader after node ${leader} is killed`, async () => {
      await P.page.waitForFunction(([a, b]) => {
        const text = document.getElementById('node-leader').textContent;
        return text === `node ${a}` || text === `node ${b}`;
      }, [A.id, B.id], { timeout: FAILOVER_MS, polling: 100 });
    });
  }
  await check('both pages agree on the new leader, highlight its row and show the dead node as down', async () => {
    await A.page.waitForFunction(() => !!document.querySelector('#cluster tr.is-leader'), null, { timeout: WAIT_MS });
    newLeader = Number((await textOf(A.page, '#node-leader')).replace('node ', ''));
    for (const P of [A, B]) {
      await P.page.waitForFunction(([lead, dead]) => {
        const top = document.querySelector('#cluster tbody tr.is-leader');
        const gone = document.querySelector(`#cluster tbody tr[data-id="${dead}"]`);
        return document.getElementById('node-leader').textContent === `node ${lead}` &&
          top && top.dataset.id === String(lead) && gone && gone.classList.contains('is-down');
      }, [newLeader, leader], { timeout: FAILOVER_MS, polling: 100 });
    }
  });
  await check('the page announces the leader change', async () => {
    const notice = await textOf(A.page, '#leader-change');
    assert(await A.page.locator('#leader-change').isVisible(), 'no leader-change notice visible');
    assert(notice.includes(`node ${newLeader}`), `notice says: ${notice}`);
  });
  await screenshot(A.page, '3-after-failover-node' + A.id);
  await screenshot(B.page, '3-after-failover-node' + B.id);

  // Posted while the old leader is down: its page can only show it by reading the restarted node.
  const duringOutage = `after failover ${stamp}`;
  await check('after failover, an entry added on one page appears on the other', async () => {
    const text = duringOutage;
    await addThroughForm(B.page, text);
    await waitForText(B.page, text, FAILOVER_MS);
    await waitForText(A.page, text);
  });

  console.log(`restarting node ${leader} (same id and ports, no memory)`);
  await restartNode(leader);
  await check(`node ${leader}'s page recovers after its node restarts: banner gone, board and role back`, async () => {
    const want = JSON.stringify(await listOf(A.page));
    assert(want.includes(JSON.stringify(duringOutage)), 'the entry posted during the outage is not on the board');
    await L.page.waitForFunction((entries) => {
      const list = JSON.stringify([...document.querySelectorAll('#entries li')]
        .map((li) => ({ id: Number(li.dataset.id), text: li.querySelector('.entry-text').textContent })));
      return document.getElementById('node-down').hidden &&
        !document.querySelector('main').classList.contains('node-down') && list === entries &&
        document.getElementById('node-role').textContent !== 'unknown';
    }, want, { timeout: RESTART_MS, polling: 100 });
    assert(await L.page.locator('#add-button').isEnabled(), 'Post button still disabled');
  });
  // A new process numbers its events from 1 again: the pages must notice and read its new boot.
  for (const P of [A, L]) {
    await check(`node ${P.id}'s timeline follows node ${leader} across its restart: both its boots are there`, async () => {
      await P.page.waitForFunction((id) => [...document.querySelectorAll(`#timeline li[data-node="${id}"]`)]
        .filter((li) => /booted with attribute/.test(li.textContent)).length >= 2, leader, { timeout: RESTART_MS, polling: 100 });
    });
  }
  await check(`posting from the restarted node ${leader}'s page reaches node ${A.id}`, async () => {
    const text = `after restart ${stamp}`;
    await addThroughForm(L.page, text);
    await waitForText(L.page, text, FAILOVER_MS);
    await waitForText(A.page, text);
  });
  await screenshot(L.page, '4-restarted-node' + leader);
  await screenshot(A.page, '4-end-node' + A.id);

  // The page follows GET /changes and draws only the rows in view: after many changes every row, seen
  // by scrolling through the whole list, must still be the board's.
  const churn = `churn ${stamp}`;
  await check(`after 1,000 random adds, modifies and deletes at every node, node ${A.id}'s page is the board, row by row`, async () => {
    await randomChanges(1000, churn);
    const board = await getJson(A.id, '/board');
    await A.page.waitForFunction((seq) => Number(/\d+/.exec(document.getElementById('board-seq').textContent)) >= seq,
      board.seq, { timeout: WAIT_MS, polling: 100 });
    const shown = await scrollThrough(A.page);
    assert(shown.length === board.entries.length, `the page has ${shown.length} rows, the board ${board.entries.length}`);
    const differs = shown.findIndex((row, i) => JSON.stringify(row) !== JSON.stringify(board.entries[i]));
    assert(differs < 0, `row ${differs} differs: page ${JSON.stringify(shown[differs])}, board ${JSON.stringify(board.entries[differs])}`);
    const count = await textOf(A.page, '#board-count');
    assert(count === `${board.entries.length.toLocaleString('en')} entries`, `the count says "${count}"`);
    const drawn = await A.page.locator('#entries li').count();
    assert(drawn < 60, `${drawn} rows in the DOM: the list draws more than the rows in view`);
  });
  await check('the filter shows only matching entries with their count; newest first reverses the order', async () => {
    const board = await getJson(A.id, '/board');
    const wanted = board.entries.filter((e) => e.text.toLowerCase().includes('7 m'));
    assert(wanted.length > 0 && wanted.length < board.entries.length, 'the filter text picks no subset');
    await A.page.fill('#board-filter', '7 M');
    const filtered = await scrollThrough(A.page);
    assert(JSON.stringify(filtered) === JSON.stringify(wanted), `filtered rows: ${filtered.length}, want ${wanted.length}`);
    const count = await textOf(A.page, '#board-count');
    assert(count === `${wanted.length} of ${board.entries.length.toLocaleString('en')} entries`, `the count says "${count}"`);
    await A.page.fill('#board-filter', 'no entry has this text');
    await A.page.waitForFunction(() => /No entry contains/.test(document.getElementById('empty').textContent) &&
      !document.getElementById('empty').hidden && document.querySelectorAll('#entries li').length === 0,
    null, { timeout: WAIT_MS });
    await A.page.fill('#board-filter', '');
    await A.page.check('#newest-first');
    const newest = await scrollThrough(A.page);
    assert(JSON.stringify(newest) === JSON.stringify([...board.entries].reverse()), 'newest first is not the board reversed');
    await A.page.uncheck('#newest-first');
  });
  await screenshot(A.page, '5-after-churn-node' + A.id);

  await check('pages never reloaded, loaded nothing from elsewhere, threw no script errors', async () => {
    for (const P of [A, B, L]) {
      assert(P.watch.loads === 1, `node ${P.id} page loaded ${P.watch.loads} times`);
      assert(P.watch.foreign.length === 0, `node ${P.id} page requested ${P.watch.foreign[0]}`);
      assert(P.watch.errors.length === 0, `node ${P.id} page error: ${P.watch.errors[0]}`);
    }
  });
}

run(main, WHOLE_RUN_MS);
