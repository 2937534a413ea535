'use strict';
// Real-browser test of the page's story of the protocol, against a demo-pace 3-node cluster started
// with --allow-faults by run.sh: the timeline merged from every member's /events, the sequence
// diagrams, the pace and the leader-silence countdown, and the fault buttons. It presses "Crash and
// reboot" on the leader's own page and watches another node's page tell the election, then checks
// that the crashed node's page comes back with the whole board.
// Environment:
//   BB_NODES      "1=http://127.0.0.1:25101,2=...,3=..."  base URL of each node's HTTP server
//   BB_MOCK       "1" when the cluster is mock-server.js
//   BB_ARTIFACTS  where screenshots go (default artifacts/demo)
// Prints one line per check and then "N passed, M failed"; exits 1 on any failure.

const fs = require('fs');
const path = require('path');
const { chromium } = require('playwright-core');
const { parseMap, check, assert, jsonFrom, run } = require('./harness');

const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const ARTIFACTS = process.env.BB_ARTIFACTS || path.join(__dirname, 'artifacts', 'demo');
const WAIT_MS = 10000;       // bound for "the page shows what the nodes already know"
const FAILOVER_MS = 20000;   // bound for "a new leader after a crash" (demo timeout is 3 s)
const RESTART_MS = 30000;    // bound for "the crashed node is back with the board, and its page too"
const WHOLE_RUN_MS = 200000; // the test never runs longer than this
const CRASH_S = 8;           // the election takes ~3.5 s at demo pace, ~6 s when a first takeover is refused
const MESSAGE_LABELS = ['Election', 'Alive', 'Trial', 'Prepare', 'Promise'];

const nodes = parseMap(process.env.BB_NODES ||
  '1=http://127.0.0.1:25101,2=http://127.0.0.1:25102,3=http://127.0.0.1:25103');
const ids = Object.keys(nodes).map(Number);

const getJson = jsonFrom(nodes);

async function screenshot(page, name) {
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`), fullPage: true });
}

// Each page in a context of its own: a browser allows few connections per server, and every page
// keeps long-polls open to every member.
async function openPage(browser, id, viewport) {
  const context = await browser.newContext({ viewport });
  const page = await context.newPage();
  page.setDefaultTimeout(WAIT_MS);
  const watch = { foreign: [], errors: [] };
  const members = Object.values(nodes);
  page.on('request', (r) => { if (!members.some((base) => r.url().startsWith(base))) watch.foreign.push(r.url()); });
  page.on('pageerror', (error) => watch.errors.push(error.message));
  await page.goto(nodes[id] + '/', { waitUntil: 'load' });
  return { page, watch, id };
}

// The timeline's lines as { node, kind, text, t } (t: ms since 1970, from the <time>).
const timelineOf = (page) => page.evaluate(() => [...document.querySelectorAll('#timeline li')].map((li) => ({
  node: Number(li.dataset.node), kind: li.dataset.kind, text: li.textContent,
  t: Date.parse(li.querySelector('time').dateTime),
})));

// Waits, polling the DOM, until some timeline line after `since` satisfies `test` (given as source
// text, run in the page); returns that line's text.
async function waitForLine(page, test, since, timeout) {
  const handle = await page.waitForFunction(([body, after]) => {
    const wanted = new Function('line', `return (${body})(line);`);
    const line = [...document.querySelectorAll('#timeline li')].map((li) => ({
      node: Number(li.dataset.node), kind: li.dataset.kind, text: li.textContent,
      t: Date.parse(li.querySelector('time').dateTime),
    })).find((l) => l.t >= after && wanted(l));
    return line ? line.text : false;
  }, [test.toString(), since], { timeout, polling: 100 });
  return handle.jsonValue();
}

const listOf = (page) => page.evaluate(() => [...document.querySelectorAll('#entries li')]
  .map((li) => ({ id: Number(li.dataset.id), text: li.querySelector('.entry-text').textContent })));

async function main() {
  const status = await getJson(ids[0], '/status');
  const leader = status.leader;
  if (!nodes[leader]) {
    console.log(`FAIL  cluster has a leader before the test (node ${ids[0]} says leader=${leader})`);
    return false;
  }
  const other = ids.find((id) => id !== leader);
  console.log(`leader is node ${leader}; pages on node ${leader} (the one to crash) and node ${other} (the watcher)`);
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS, headless: true, timeout: 30000 });
  try {
    const L = await openPage(browser, leader, { width: 1280, height: 900 });
    const O = await openPage(browser, other, { width: 1280, height: 900 });
    await runChecks(L, O, leader);
  } finally {
    await browser.close();
  }
  return true;
}

async function runChecks(L, O, leader) {
  const stamp = Date.now().toString(36);

  await check(`node ${O.id} page shows the pace: heartbeat 500 ms, timeout 3 s`, async () => {
    await O.page.waitForFunction(() => document.getElementById('pace').textContent ===
      'pace: heartbeat 500 ms, timeout 3 s' && !document.getElementById('pace').hidden, null, { polling: 100 });
    assert(await O.page.locator('#pace').isVisible(), 'pace line not visible');
    assert(!(await O.page.locator('#countdown').isVisible()), 'a countdown while the leader is heard');
  });

  await check('both pages offer the four fault buttons, with the fault in force "none"', async () => {
    for (const P of [L, O]) {
      await P.page.locator('#faults').waitFor({ state: 'visible' });
      const labels = await P.page.locator('#fault-form button').allTextContents();
      assert(JSON.stringify(labels) === JSON.stringify(['Crash and reboot (5 s)', 'Cut off (5 s)', 'Lose 30% (5 s)', 'Heal']),
        `node ${P.id} buttons: ${labels}`);
      assert(await P.page.locator('#fault-now').textContent() === 'none', `node ${P.id} shows a fault in force`);
    }
  });

  await check(`node ${O.id}'s timeline merges every member's events (each member's boot is there)`, async () => {
    await O.page.waitForFunction((n) => {
      const booted = new Set([...document.querySelectorAll('#timeline li')]
        .filter((li) => /booted with attribute/.test(li.textContent)).map((li) => li.dataset.node));
      return booted.size === n;
    }, ids.length, { timeout: WAIT_MS, polling: 100 });
    const text = await O.page.locator('#timeline-sources').textContent();
    assert(text === `events of node ${ids.join(', ')}`, `sources line says "${text}"`);
  });

  // The board to find again on the crashed node's page once it is back.
  const before = [`before the crash 1 ${stamp}`, `before the crash 2 ${stamp}`, `before the crash 3 ${stamp}`];
  await check('entries posted before the crash show on both pages, and the last write is drawn', async () => {
    for (const text of before) {
      await O.page.fill('#entry-input', text);
      await O.page.press('#entry-input', 'Enter');
      await O.page.waitForFunction((t) => [...document.querySelectorAll('#entries .entry-text')]
        .some((p) => p.textContent === t), text, { polling: 100 });
    }
    await L.page.waitForFunction((t) => [...document.querySelectorAll('#entries .entry-text')]
      .some((p) => p.textContent === t), before[before.length - 1], { polling: 100 });
    const seq = (await getJson(leader, '/status')).commit;
    await O.page.waitForFunction((s) => new RegExp(`^Last write: seq ${s} committed by node \\d+ at [\\d:.]+, costing \\d+ datagrams \\(`)
      .test(document.getElementById('write-caption').textContent) &&
      document.querySelector('#write-diagram .mark.k-commit') && document.querySelector('#write-diagram .note'),
    seq, { timeout: WAIT_MS, polling: 100 });
  });

  await check('a fault the node refuses shows its 400 and changes nothing', async () => {
    await O.page.fill('#fault-seconds', '0');
    assert(await O.page.locator('#fault-cutoff').textContent() === 'Cut off (0 s)', 'label does not follow the input');
    const answer = O.page.waitForResponse((r) => r.url().endsWith('/fault'));
    await O.page.click('#fault-cutoff');
    assert((await answer).status() === 400, 'the node did not answer 400');
    await O.page.waitForFunction(() => /refused \(HTTP 400\): `seconds` must be/.test(document.getElementById('fault-answer').textContent),
      null, { polling: 100 });
    await O.page.fill('#fault-seconds', '5');
    assert((await getJson(O.id, '/status')).fault === null, 'a fault is in force after a refused one');
  });

  // 2 s is below the earliest suspicion (a timeout less a heartbeat of jitter): no election follows.
  await check(`a 2 s cut-off of node ${O.id}: its answer, then the fault in force, then none again`, async () => {
    await O.page.fill('#fault-seconds', '2');
    await O.page.click('#fault-cutoff');
    await O.page.waitForFunction(() => /cut off \(a demo fault\): every datagram dropped for 2 s/
      .test(document.getElementById('fault-answer').textContent), null, { polling: 100 });
    await O.page.waitForFunction(() => /^cut off/.test(document.getElementById('fault-now').textContent),
      null, { polling: 100 });
    await O.page.waitForFunction(() => document.getElementById('fault-now').textContent === 'none',
      null, { timeout: WAIT_MS, polling: 100 });
    await O.page.fill('#fault-seconds', '5');
  });

  await screenshot(O.page, '1-before-crash-node' + O.id);

  await L.page.fill('#fault-seconds', String(CRASH_S));
  const crashedAt = Date.now();
  await check(`pressing "Crash and reboot (${CRASH_S} s)" on node ${leader}'s page: the node's answer is shown`, async () => {
    const button = L.page.locator('#fault-crash');
    assert(await button.textContent() === `Crash and reboot (${CRASH_S} s)`, `button says ${await button.textContent()}`);
    await button.click();
    await L.page.waitForFunction(() => /node \d+: crashed \(a demo fault\): no memory, back in \d+ s/
      .test(document.getElementById('fault-answer').textContent), null, { polling: 100 });
  });

  await check(`node ${leader}'s own page says it is not answering while crashed`, async () => {
    await L.page.waitForFunction(() => !document.getElementById('node-down').hidden, null, { timeout: WAIT_MS, polling: 100 });
    await screenshot(L.page, '2-crashed-node' + leader);
  });

  await check(`node ${O.id}'s page counts down its leader's silence to suspicion`, async () => {
    const text = await O.page.waitForFunction(() => {
      const c = document.getElementById('countdown');
      return !c.hidden && /^leader silent for \d+\.\d s: suspected (in \d+\.\d s|now)$/.test(c.textContent) && c.textContent;
    }, null, { timeout: WAIT_MS, polling: 50 });
    console.log(`      saw "${await text.jsonValue()}"`);
    await screenshot(O.page, '2-countdown-node' + O.id);
  });

  let newLeader = null;
  await check(`node ${O.id}'s timeline shows a suspicion of the leader after the crash`, async () => {
    const line = await waitForLine(O.page, (l) => l.kind === 'suspect' && /suspects its leader: no leader heard for \d+ ms/.test(l.text),
      crashedAt, FAILOVER_MS);
    console.log(`      "${line}"`);
  });
  await check(`node ${O.id}'s timeline shows election or takeover messages after the crash`, async () => {
    const line = await waitForLine(O.page, (l) => /→ (Election|Alive|Trial|Prepare|Promise) → \d/.test(l.text) || l.kind === 'takeover',
      crashedAt, FAILOVER_MS);
    console.log(`      "${line}"`);
  });
  await check(`node ${O.id}'s timeline shows the new leader, and the page agrees`, async () => {
    const line = await waitForLine(O.page, (l) => l.kind === 'epoch' && /^\S+ node \d+ leads epoch \S+, promised by \d/.test(l.text),
      crashedAt, FAILOVER_MS);
    console.log(`      "${line}"`);
    newLeader = Number(/node (\d+) leads/.exec(line)[1]);
    assert(newLeader !== leader, `the crashed node ${leader} leads`);
    await O.page.waitForFunction((lead) => document.getElementById('node-leader').textContent === `node ${lead}`,
      newLeader, { timeout: WAIT_MS, polling: 100 });
  });
  await check(`node ${O.id}'s diagram draws the election: arrows labelled with the messages, the new leader's lane`, async () => {
    await O.page.waitForFunction(([labels, lead]) => {
      const arrows = [...document.querySelectorAll('#election-diagram g.arrow')];
      const caption = document.getElementById('election-caption').textContent;
      return arrows.some((g) => labels.includes(g.querySelector('text.label')?.textContent)) &&
        caption.includes(`node ${lead} leads epoch`) &&
        document.querySelector(`#election-diagram g.lane.lead[data-node="${lead}"]`);
    }, [MESSAGE_LABELS, newLeader], { timeout: WAIT_MS, polling: 100 });
    const kinds = await O.page.$$eval('#election-diagram g.arrow text.label', (texts) => [...new Set(texts.map((t) => t.textContent))]);
    console.log(`      arrows: ${kinds.join(', ')}`);
  });
  await O.page.locator('#timeline-heading').scrollIntoViewIfNeeded();
  await screenshot(O.page, '3-after-election-node' + O.id);
  await O.page.screenshot({ path: path.join(ARTIFACTS, 'demo.png'), fullPage: true, clip: await storyClip(O.page) });

  await check(`node ${leader} comes back: its page drops the banner and shows the whole board posted before the crash`, async () => {
    await L.page.waitForFunction((texts) => {
      const shown = [...document.querySelectorAll('#entries .entry-text')].map((p) => p.textContent);
      return document.getElementById('node-down').hidden && texts.every((t) => shown.includes(t)) &&
        !['unknown', '–'].includes(document.getElementById('node-role').textContent);
    }, before, { timeout: RESTART_MS, polling: 100 });
    const onL = JSON.stringify(await listOf(L.page));
    const onO = JSON.stringify(await listOf(O.page));
    assert(onL === onO, `boards differ:\n${onL}\n${onO}`);
  });
  await check(`node ${O.id}'s timeline shows node ${leader}'s crash once it answers again`, async () => {
    await waitForLine(O.page, (l) => l.kind === 'fault' && /crashed \(a demo fault\)/.test(l.text), crashedAt - 1000, RESTART_MS);
  });
  await check(`node ${leader}'s page, back, shows the election it missed (from the other members' events)`, async () => {
    await waitForLine(L.page, (l) => l.kind === 'epoch' && /leads epoch/.test(l.text), crashedAt, WAIT_MS);
  });
  await screenshot(L.page, '4-back-node' + leader);

  await check('pages loaded nothing but the members, threw no script errors', async () => {
    for (const P of [L, O]) {
      assert(P.watch.foreign.length === 0, `node ${P.id} page requested ${P.watch.foreign[0]}`);
      assert(P.watch.errors.length === 0, `node ${P.id} page error: ${P.watch.errors[0]}`);
    }
  });
}

// The timeline and the diagrams, for the README's picture.
async function storyClip(page) {
  return page.evaluate(() => {
    const box = document.querySelector('section.story').getBoundingClientRect();
    return { x: box.left + scrollX, y: box.top + scrollY, width: box.width, height: Math.min(box.height, 1400) };
  });
}

run(main, WHOLE_RUN_MS);
