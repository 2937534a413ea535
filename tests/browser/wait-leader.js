'use strict';
// Waits (bounded) until every node answers GET /status and they all name the same leader.
//   node wait-leader.js SECONDS URL...      exit 0 and print the leader id, or exit 1 after SECONDS.

const [seconds, ...urls] = process.argv.slice(2);
const deadline = Date.now() + Number(seconds) * 1000;

async function leaderOf(url) {
  try {
    const response = await fetch(`${url}/status`, { signal: AbortSignal.timeout(1000) });
    return (await response.json()).leader ?? null;
  } catch {
    return null;
  }
}

async function main() {
  let seen = [];
  while (Date.now() < deadline) {
    seen = await Promise.all(urls.map(leaderOf));
    if (seen[0] !== null && seen.every((leader) => leader === seen[0])) {
      console.log(seen[0]);
      return 0;
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  console.error(`no agreed leader after ${seconds} s (nodes say: ${seen.join(', ')})`);
  return 1;
}

main().then((code) => process.exit(code));
