// The frame both browser tests share: named checks, counted and reported
// one line each, the node maps from the environment, JSON from a node, and
// the end of the run ("N passed, M failed"; exit 1 on any failure, or when
// the whole run outlasts its bound).
'use strict';

const tally = { passed: 0, failed: 0 };

// "1=http://...,2=http://..." -> {1: 'http://...', 2: 'http://...'}
const parseMap = (text) => Object.fromEntries((text || '').split(',').filter(Boolean)
  .map((pair) => pair.split('=')).map(([id, value]) => [Number(id), value]));

// Runs one named check; a failure is counted and reported, and the run goes on.
async function check(name, body) {
  try {
    await body();
    tally.passed += 1;
    console.log(`ok    ${name}`);
  } catch (error) {
    tally.failed += 1;
    console.log(`FAIL  ${name}\n      ${String(error.message || error).split('\n')[0]}`);
  }
}

function assert(condition, message) {
  if (!condition) throw new Error(message);
}

// getJson(id, route) for the nodes of `nodes` (id -> base URL).
const jsonFrom = (nodes) => async (id, route) => {
  const response = await fetch(nodes[id] + route, { signal: AbortSignal.timeout(3000) });
  return response.json();
};

// Runs `main` (it resolves false when the cluster was not ready) within
// `wholeRunMs`, then prints the tally and exits.
function run(main, wholeRunMs) {
  setTimeout(() => {
    console.log(`FAIL  whole run took longer than ${wholeRunMs / 1000} s`);
    console.log(`${tally.passed} passed, ${tally.failed + 1} failed`);
    process.exit(1);
  }, wholeRunMs).unref();

  main().then((ready) => {
    if (!ready) tally.failed += 1;
  }).catch((error) => {
    tally.failed += 1;
    console.log(`FAIL  test crashed: ${error.stack || error}`);
  }).finally(() => {
    console.log(`${tally.passed} passed, ${tally.failed} failed`);
    process.exit(tally.failed === 0 && tally.passed > 0 ? 0 : 1);
  });
}

module.exports = { parseMap, check, assert, jsonFrom, run };
