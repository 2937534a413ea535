#!/usr/bin/env python3
"""Fault scenarios for a blackboard cluster (run as root).

Backends:
  (default)   a namespace cluster driven by netns-cluster.sh (10.1.0.1..N, host 10.1.0.254)
  --mininet   the same scenarios on Mininet: re-runs itself through
              /usr/bin/python3 mininet_topo.py --scenario ... (LinuxBridge, no controller)

Scenarios (each starts from a fresh cluster; every loop and wait is bounded):
  steady       N nodes, the consistency checker passes
  cut-leader   cut the leader's link: a new leader among the rest, writes on the
               majority side commit, a write posted to the cut-off old leader (from
               inside its own namespace) answers 503 and is neither lost nor
               duplicated; heal: the old leader follows the new one and converges
  kill-leader  kill -9 the leader, restart it (state lost): new leader, the
               restarted node reloads the board
  loss         20% UDP loss (in and out) on every node while the checker runs:
               everything acknowledged is present, once, and in order
  minority     cut a minority (the leader and one more, 2 of 5) while writes go
               on through every node, heal: all converge, nothing acked is lost
  split        node-to-node partition (iptables) of a minority that still talks to
               itself and to the client: writes to it answer 503, the majority
               commits; heal and converge
  chaos        --rounds random faults one at a time (cut, kill+restart, partition;
               the leader half of the time) under 10% UDP loss while writes go on
               through every node; then all agree on a leader and nothing is lost
Each prints its timings: detection (fault -> a survivor names a new leader),
agreement (-> all survivors agree), first commit (fault -> first acknowledged write
sent after the fault), rejoin/recovery and convergence.

The last line is "N passed, M failed"; exit 0 only if all passed.
"""

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import check_consistency as cc  # noqa: E402

ALL = ["steady", "cut-leader", "kill-leader", "loss", "minority", "split", "chaos"]
NET = "10.1.0"

# Runs inside a node's namespace: POST or GET to a URL, print one JSON line.
INSIDE_SNIPPET = r"""
import json, sys, time, urllib.request, urllib.parse, urllib.error
url, text, timeout = sys.argv[1], sys.argv[2], float(sys.argv[3])
op = urllib.request.build_opener(urllib.request.ProxyHandler({}))
data = urllib.parse.urlencode({"entry": text}).encode() if text else None
t0 = time.monotonic(); out = {"status": 0, "body": None, "retry_after": None}
try:
    r = op.open(urllib.request.Request(url, data=data, method="POST" if data else "GET"), timeout=timeout)
    out["status"], raw = r.status, r.read()
except urllib.error.HTTPError as e:
    out["status"], raw, out["retry_after"] = e.code, e.read(), e.headers.get("Retry-After")
except Exception as e:
    raw = b""; out["error"] = "%s: %s" % (type(e).__name__, e)
out["elapsed"] = time.monotonic() - t0
try:
    out["body"] = json.loads(raw.decode()) if raw else None
except ValueError:
    out["body"] = raw.decode("utf-8", "replace")[:200]
print(json.dumps(out))
"""


def now():
    return time.monotonic()


def say(msg):
    sys.stdout.write(msg + "\n")
    sys.stdout.flush()


# --------------------------------------------------------------------------- backends

class NetnsCluster:
    """Drives scripts/netns-cluster.sh."""

    name = "netns"

    def __init__(self, n, artifacts, script=os.path.join(HERE, "netns-cluster.sh")):
        self.n, self.artifacts, self.script = n, artifacts, script
        self.urls = ["http://%s.%d" % (NET, i) for i in range(1, n + 1)]
        self.state_dir = os.environ.get("BB_STATE_DIR", "/tmp/bb-netns")

    def _run(self, *args, timeout=60, check=True):
        p = subprocess.run([self.script] + [str(a) for a in args], stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True, timeout=timeout)
        if check and p.returncode != 0:
            raise RuntimeError("netns-cluster.sh %s failed (%d): %s" % (" ".join(map(str, args)), p.returncode,
                                                                          p.stdout.strip()[-800:]))
        return p.stdout

    def reset(self):
        self._run("down", check=False)
        self._run("up", self.n)

    def close(self):
        self._run("down", check=False)

    def cut(self, i):
        self._run("cut", i)

    def heal(self, i):
        self._run("heal", i)

    def loss(self, i, pct):
        self._run("loss", i, pct)

    def partition(self, ids):
        self._run("partition", ",".join(map(str, ids)))

    def unpartition(self):
        self._run("unpartition")

    def kill(self, i):
        self._run("kill", i)

    def restart(self, i):
        self._run("restart", i)

    def exec_in(self, i, argv, timeout=20):
        p = subprocess.run([self.script, "exec", str(i)] + list(argv), stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True, timeout=timeout)
        return p.returncode, p.stdout

    def save_logs(self, dest):
        os.makedirs(dest, exist_ok=True)
        for i in range(1, self.n + 1):
            src = os.path.join(self.state_dir, "node-%d.log" % i)
            if os.path.exists(src):
                shutil.copy(src, dest)


def inside_request(cluster, i, path, text=None, timeout=15.0):
    """POST entry=text (or GET if text is None) to node i's own address from inside
    its namespace (works while its link is cut).  Returns a dict."""
    url = "http://%s.%d%s" % (NET, i, path)
    try:
        rc, out = cluster.exec_in(i, [sys.executable, "-c", INSIDE_SNIPPET, url, text or "", str(timeout)],
                                  timeout=timeout + 10)
        return json.loads(out.strip().splitlines()[-1])
    except Exception as e:  # noqa: BLE001
        return {"status": 0, "error": "%s: %s" % (type(e).__name__, e), "body": None, "retry_after": None}


def record_inside_add(h, node, text, res, t_send, t_ack):
    """Put a write made from inside a namespace into the checker's history."""
    op = cc.Op("add", node, "inside:%s.%d" % (NET, node), text=text, marker=text)
    op.t_send, op.t_ack, op.status = t_send, t_ack, res.get("status")
    body = res.get("body")
    if isinstance(body, dict):
        op.id, op.seq = body.get("id"), body.get("seq")
    op.error, op.retry_after = res.get("error"), res.get("retry_after")
    with h.lock:
        h.ops.append(op)
    return op


class InsidePoster(threading.Thread):
    """Posts `count` adds to node i from inside its namespace, one after another."""

    def __init__(self, cluster, h, i, tag, count=1, timeout=15.0):
        super().__init__(daemon=True)
        self.c, self.h, self.i, self.tag, self.count, self.timeout = cluster, h, i, tag, count, timeout
        self.results = []

    def run(self):
        for k in range(self.count):
            text = self.h.marker(self.tag, k)
            t0 = now()
            res = inside_request(self.c, self.i, "/board", text, self.timeout)
            op = record_inside_add(self.h, self.i, text, res, t0, now())
            self.results.append((op, res))


# --------------------------------------------------------------------------- helpers

class Result:
    def __init__(self, name, backend):
        self.name, self.backend = name, backend
        self.problems, self.notes, self.timings = [], [], {}
        self.summary = ""

    @property
    def ok(self):
        return not self.problems

    def fail(self, msg):
        self.problems.append(msg)
        say("    FAIL: " + msg)

    def note(self, msg):
        self.notes.append(msg)
        say("    note: " + msg)

    def t(self, key, value):
        self.timings[key] = None if value is None else round(value, 3)

    def to_dict(self):
        return {"scenario": self.name, "backend": self.backend, "ok": self.ok, "problems": self.problems,
                "notes": self.notes, "timings": self.timings, "summary": self.summary}


def fmt_t(v):
    return "-" if v is None else "%.2f s" % v


def start_cluster(c, r, leader_timeout=10.0):
    t0 = now()
    c.reset()
    leader, waited = cc.wait_leader(c.urls, timeout=leader_timeout, agree="all")
    r.t("first_leader_s", now() - t0)
    if leader is None:
        r.fail("no leader agreed by all %d nodes within %.0f s of start: %s"
               % (c.n, leader_timeout, cc.leader_view(c.urls)))
    else:
        say("    leader %s elected, all nodes agree %.2f s after start" % (leader, now() - t0))
    return leader


def url_of(i):
    return "http://%s.%d" % (NET, i)


def split_sides(c, old):
    """The largest minority holding the leader `old`, and the majority left."""
    k = (c.n - 1) // 2
    others = [i for i in range(1, c.n + 1) if i != old]
    minority = [old] + others[:k - 1]
    majority = [i for i in range(1, c.n + 1) if i not in minority]
    return minority, majority


def pre_writes(h, urls, k=3):
    """A few acknowledged adds through every node before the fault."""
    cc.add_phase(h, urls, k, 1, max_time=30)
    bad = [o for o in h.snapshot() if not o.acked]
    return len(bad)


def measure_fault(r, h, survivors, old_leader, t_fault, detect_limit, t_in_place=None):
    """Detection, agreement and first commit after a fault (t_fault: just before the
    fault command; t_in_place: when it returned - only writes sent after that count
    for 'first commit', whose time is still measured from t_fault)."""
    t_in_place = t_in_place or now()
    leader_any, t_any = cc.wait_leader(survivors, timeout=detect_limit, exclude={old_leader}, agree="any",
                                       interval=0.02)
    r.t("detection_s", (now() - t_fault) if leader_any is not None else None)
    leader_all, _ = cc.wait_leader(survivors, timeout=max(1.0, detect_limit - (now() - t_fault)),
                                   exclude={old_leader}, agree="all", interval=0.02)
    r.t("agreement_s", (now() - t_fault) if leader_all is not None else None)
    if leader_all is None:
        r.fail("survivors did not agree on a new leader within %.0f s: %s"
               % (detect_limit, cc.leader_view(survivors)))
    # first acknowledged write sent after the fault
    first = None
    deadline = now() + 12
    for _ in range(600):
        first = h.first_ack_after_send(t_in_place)
        if first is not None:
            first += t_in_place - t_fault
        if first is not None or now() > deadline:
            break
        time.sleep(0.02)
    r.t("first_commit_s", first)
    if first is None:
        r.fail("no write sent after the fault was acknowledged within 12 s")
    say("    detection %s (a survivor names leader %s), agreement %s (leader %s), first commit after fault %s"
        % (fmt_t(r.timings.get("detection_s")), leader_any, fmt_t(r.timings.get("agreement_s")), leader_all,
           fmt_t(first)))
    return leader_all


def wait_follows(c, i, leader, timeout=10.0):
    """Wait until node i reports role follower with the given leader."""
    t0 = now()
    st = None
    for _ in range(int(timeout / 0.05) + 1):
        st = cc.status(url_of(i), timeout=1.0)
        if st and st.get("leader") == leader and st.get("role") == "follower":
            return now() - t0, st
        if now() - t0 > timeout:
            break
        time.sleep(0.05)
    return None, st


def wait_for(cond, timeout, interval=0.05):
    """Poll cond() until it holds, at most `timeout` seconds and a bounded number of
    times.  Returns the seconds waited, or None if it never held."""
    t0 = now()
    for _ in range(int(timeout / interval) + 2):
        if cond():
            return now() - t0
        if now() - t0 >= timeout:
            break
        time.sleep(interval)
    return None


def require_writes(r, h, nodes, since, timeout, what):
    """Wait until, through each of `nodes`, a write sent at or after `since` has been
    acknowledged; a problem if one of them has none within `timeout` s.  Returns the
    seconds waited (None on failure)."""
    def missing():
        return [i for i in nodes if h.first_ack_after_send(since, nodes=[i]) is None]
    waited = wait_for(lambda: not missing(), timeout)
    if waited is None:
        r.fail("%s: no write through node(s) %s acknowledged within %.0f s" % (what, missing(), timeout))
    return waited


def writes_flowing(r, h, nodes, timeout=10.0):
    """Before a fault: every writer has had a write acknowledged (instead of a blind
    pause), so the fault lands on a cluster that is taking writes."""
    return require_writes(r, h, nodes, now(), timeout, "before the fault")


def brief_status(st):
    if not isinstance(st, dict):
        return repr(st)
    return "role=%s leader=%s epoch=%s seq=%s" % (st.get("role"), st.get("leader"), st.get("epoch"), st.get("seq"))


def fault(r, what, fn, *args):
    """Run a fault command; returns the time just before it (detection is measured
    from there, so it includes the command's own duration, printed too)."""
    t0 = now()
    fn(*args)
    r.t(what + "_cmd_s", now() - t0)
    return t0


def after_heal(r, c, healed, new, t_heal, strict):
    """After a heal: all nodes agree on a leader within 10 s.  strict: it must be
    `new` (the healed nodes follow the new leader; report.txt: the pre-vote makes a
    healed minority follow the leader the majority chose) - otherwise only a note
    (--allow-retakeover, for a build that knowingly lets the healed take over)."""
    lead, waited = cc.wait_leader(c.urls, timeout=10, agree="all")
    r.t("agree_after_heal_s", (now() - t_heal) if lead is not None else None)
    if lead is None:
        r.fail("no leader agreed by all nodes within 10 s of the heal: %s"
               % {u.rsplit(".", 1)[1]: brief_status(cc.status(u, 1.0)) for u in c.urls})
        return None
    if new is not None and lead != new:
        ranks = {}
        for u in c.urls:
            st = cc.status(u, 1.0) or {}
            ranks[st.get("id")] = st.get("attribute")
        msg = ("after the heal the leader is %s, not the new leader %s: healed node(s) %s took the leadership "
               "back (bully re-election by rank; attributes %s)" % (lead, new, healed, ranks))
        if strict:
            r.fail(msg)
        else:
            r.note(msg)
    else:
        say("    all nodes follow leader %s %.2f s after the heal" % (lead, now() - t_heal))
    return lead


def heal_disruption(r, h, t_heal):
    ops = [o for o in h.snapshot() if o.t_send >= t_heal]
    if not ops:
        return
    acked = [o for o in ops if o.acked]
    bad = [o for o in ops if not o.acked]
    worst = max(o.t_ack - o.t_send for o in ops)
    r.t("max_write_latency_after_heal_s", worst)
    say("    writes sent after the heal: %d acked, %d not (%s), slowest answer %.2f s"
        % (len(acked), len(bad), ", ".join(sorted(set(str(o.status) for o in bad))) or "-", worst))


ARTIFACTS = {"dir": None}


def save_history(h, bs=None):
    d = ARTIFACTS["dir"]
    if not d:
        return
    try:
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, "history.json"), "w") as f:
            json.dump({"run": h.run, "ops": [o.to_dict() for o in h.snapshot()], "boards": bs}, f)
    except OSError as e:
        say("    (could not save the history: %s)" % e)


def final_check(r, h, c, converge_timeout=30.0):
    ok, bs, waited, reason = cc.wait_converged(c.urls, converge_timeout)
    save_history(h, bs)
    r.t("converge_s", waited)
    if not ok:
        r.fail("boards not identical within %.0f s: %s" % (converge_timeout, reason))
    v = cc.verify(h, bs, names=c.urls)
    for p in v["problems"]:
        r.fail(p)
    for i in v["info"]:
        r.note(i)
    # The contract: a 503 always carries Retry-After.
    bare = [op for op in h.snapshot() if op.status == 503 and op.retry_after is None]
    if bare:
        r.fail("%d answers 503 without Retry-After (e.g. %s %s via %s)"
               % (len(bare), bare[0].kind, bare[0].text or bare[0].target, bare[0].url))
    st = v["stats"]
    r.summary = "%s; final seq %s, %d entries, converged in %.2f s" % (
        cc.summarize_counts(st.get("counts", {})), st.get("seq"), st.get("entries", 0), waited)
    say("    " + r.summary)
    return v


def start_writers(h, nodes, interval=0.05, max_time=120):
    ws = [cc.Writer(h, url_of(i), "w%d" % i, node=i, max_count=2000, max_time=max_time, interval=interval)
          for i in nodes]
    for w in ws:
        w.start()
    return ws


def stop_writers(ws):
    for w in ws:
        w._stop_ev.set()
    for w in ws:
        w.join(cc.DEFAULT_TIMEOUT + 5)


# --------------------------------------------------------------------------- scenarios

def scn_steady(c, r, o):
    leader = start_cluster(c, r)
    if leader is None:
        return
    res = cc.run_check(c.urls, writes=o.writes, threads=2, converge_timeout=30, max_time=240)
    r.t("adds_s", res["timings"].get("adds_s"))
    r.t("moddel_s", res["timings"].get("moddel_s"))
    r.t("converge_s", res["timings"].get("converge_s"))
    for p in res["problems"]:
        r.fail(p)
    r.summary = res["summary"]
    say("    " + res["summary"])
    lat = res["stats"].get("latency_s", {})
    say("    write latency p50 %s s, p95 %s s, max %s s" % (lat.get("p50"), lat.get("p95"), lat.get("max")))


def scn_cut_leader(c, r, o):
    old = start_cluster(c, r)
    if old is None:
        return
    h = cc.History()
    if pre_writes(h, c.urls):
        r.fail("writes failed before any fault")
    survivors_ids = [i for i in range(1, c.n + 1) if i != old]
    survivors = [url_of(i) for i in survivors_ids]
    ws = start_writers(h, survivors_ids)
    writes_flowing(r, h, survivors_ids)
    t_fault = fault(r, "cut", c.cut, old)
    say("    cut node %s (the leader)" % old)
    # a write to the old leader from inside its namespace, right after the cut
    p1 = InsidePoster(c, h, old, "old", count=1)
    p1.start()
    new = measure_fault(r, h, survivors, old, t_fault, o.detect_limit, t_fault + r.timings["cut_cmd_s"])
    # and one more once the rest has a new leader
    p2 = InsidePoster(c, h, old, "old2", count=1)
    p2.start()
    st_res = inside_request(c, old, "/status", None, 2.0)
    st = st_res.get("body") if isinstance(st_res.get("body"), dict) else {}
    say("    old leader %s while cut off: role=%s leader=%s epoch=%s" % (old, st.get("role"), st.get("leader"),
                                                                     st.get("epoch")))
    p1.join(30)
    p2.join(30)
    for p in (p1, p2):
        for op, res in p.results:
            say("    post to cut-off old leader %s: HTTP %s after %.2f s, Retry-After %s, body %s"
                % (old, res.get("status"), op.t_ack - op.t_send, res.get("retry_after"), res.get("body")))
            if res.get("status") == 201:
                r.fail("the cut-off old leader acknowledged a write (%s): split brain" % op.text)
            elif res.get("status") != 503:
                r.fail("the cut-off old leader answered %s (expected 503): %s" % (res.get("status"), res))
            elif res.get("retry_after") is None:
                r.fail("the cut-off old leader answered 503 without Retry-After")
            r.t("old_leader_503_s" if p is p1 else "old_leader_503_late_s", op.t_ack - op.t_send)
    if p1.is_alive() or p2.is_alive():
        r.fail("post to the cut-off old leader did not return within 30 s")
    time.sleep(1.0)  # not a wait for anything: the old leader stays cut off a while longer
    t_heal = fault(r, "heal", c.heal, old)
    say("    healed node %s" % old)
    lead = after_heal(r, c, [old], new, t_heal, strict=not o.allow_retakeover)
    if lead is not None and lead == new:
        rejoin, st = wait_follows(c, old, new, timeout=10)
        r.t("rejoin_s", rejoin)
        if rejoin is None:
            r.fail("old leader %s does not follow new leader %s within 10 s of heal: %s" % (old, new, brief_status(st)))
        else:
            say("    old leader %s follows leader %s %.2f s after heal" % (old, new, rejoin))
    require_writes(r, h, survivors_ids, t_heal, 10.0, "after the heal")
    stop_writers(ws)
    heal_disruption(r, h, t_heal)
    final_check(r, h, c)


def scn_kill_leader(c, r, o):
    old = start_cluster(c, r)
    if old is None:
        return
    h = cc.History()
    if pre_writes(h, c.urls):
        r.fail("writes failed before any fault")
    survivors_ids = [i for i in range(1, c.n + 1) if i != old]
    survivors = [url_of(i) for i in survivors_ids]
    ws = start_writers(h, survivors_ids)
    writes_flowing(r, h, survivors_ids)
    t_fault = fault(r, "kill", c.kill, old)
    say("    killed node %s (the leader) with SIGKILL" % old)
    new = measure_fault(r, h, survivors, old, t_fault, o.detect_limit, t_fault + r.timings["kill_cmd_s"])
    time.sleep(1.0)  # not a wait for anything: the killed node stays down a while
    t_restart = fault(r, "restart", c.restart, old)
    say("    restarted node %s (empty state)" % old)
    if new is not None:
        rejoin, st = wait_follows(c, old, new, timeout=15)
        r.t("rejoin_s", rejoin)
        if rejoin is None:
            r.fail("restarted node %s does not follow leader %s within 15 s: %s" % (old, new, brief_status(st)))
    # recovery: the restarted node's board reaches the leader's seq at restart time
    target = None
    lb = cc.board(url_of(new)) if new is not None else None
    if lb:
        target = lb.get("seq")
    rec = None
    for _ in range(300):
        b = cc.board(url_of(old), timeout=1.0)
        if b and target is not None and isinstance(b.get("seq"), int) and b["seq"] >= target:
            rec = now() - t_restart
            break
        if now() - t_restart > 15:
            break
        time.sleep(0.05)
    r.t("recovery_s", rec)
    if rec is None:
        r.fail("restarted node %s did not reload the board (seq %s) within 15 s" % (old, target))
    say("    restarted node follows leader %s after %s, has the board (seq >= %s) after %s"
        % (new, fmt_t(r.timings.get("rejoin_s")), target, fmt_t(rec)))
    # a write through the restarted node must work, now that it follows the leader
    # and holds the board (both polled above)
    op = h.add(old, url_of(old), "restarted", 0)
    say("    write through the restarted node: HTTP %s in %.2f s" % (op.status, op.t_ack - op.t_send))
    if not op.acked:
        r.fail("write through the restarted node answered %s (%s)" % (op.status, op.error))
    stop_writers(ws)
    final_check(r, h, c)


def scn_loss(c, r, o):
    leader = start_cluster(c, r)
    if leader is None:
        return
    c.loss("all", o.loss)
    say("    %s%% UDP loss in and out on every node" % o.loss)
    h = cc.History()
    t0 = now()
    try:
        res = cc.run_check(c.urls, writes=max(5, o.writes // 2), threads=1, converge_timeout=60,
                           leader_timeout=20, max_time=240, history=h)
    finally:
        r.t("checker_under_loss_s", now() - t0)
    say("    under loss: " + res["summary"])
    r.t("converge_under_loss_s", res["timings"].get("converge_s"))
    if not res.get("converged"):
        # Liveness holds with a majority connected: 20% loss slows the pulls and
        # heartbeats but must not stop them.
        r.fail("did not converge within 60 s while the loss was on: %s" % "; ".join(res["problems"][:2]))
    # And writes commit under the loss: every node gets some acknowledged, and most
    # are (retransmission gives each write dozens of heartbeats within its 3 s; not
    # all must be, since a 503 is allowed when an election under loss outlasts a
    # write's request timeout).
    adds = [op for op in h.snapshot() if op.kind == "add"]
    acked = [op for op in adds if op.acked]
    idle = [i for i in range(1, c.n + 1) if not any(op.node == i for op in acked)]
    if idle:
        r.fail("under %s%% loss no write through node(s) %s was acknowledged" % (o.loss, idle))
    if 2 * len(acked) < len(adds):
        r.fail("under %s%% loss only %d of %d adds were acknowledged" % (o.loss, len(acked), len(adds)))
    c.loss("all", 0)
    say("    loss removed")
    final_check(r, h, c)


def scn_minority(c, r, o):
    old = start_cluster(c, r)
    if old is None:
        return
    h = cc.History()
    if pre_writes(h, c.urls):
        r.fail("writes failed before any fault")
    minority, majority = split_sides(c, old)
    ws = start_writers(h, list(range(1, c.n + 1)), interval=0.05)
    writes_flowing(r, h, list(range(1, c.n + 1)))
    t_fault = now()
    for i in minority:
        c.cut(i)
    r.t("cut_cmd_s", now() - t_fault)
    say("    cut %s (the leader and %d more) off; writes go on through all %d nodes" % (minority, len(minority) - 1, c.n))
    posters = [InsidePoster(c, h, i, "in%d" % i, count=1) for i in minority]
    for p in posters:
        p.start()
    new = measure_fault(r, h, [url_of(i) for i in majority], old, t_fault, o.detect_limit,
                        t_fault + r.timings["cut_cmd_s"])
    for p in posters:
        p.join(30)
        for op, res in p.results:
            say("    post inside cut node %s: HTTP %s after %.2f s" % (p.i, res.get("status"), op.t_ack - op.t_send))
            if res.get("status") == 201:
                r.fail("cut-off node %s acknowledged a write (%s)" % (p.i, op.text))
            elif res.get("status") != 503:
                r.fail("cut-off node %s answered %s (expected 503)" % (p.i, res.get("status")))
            elif res.get("retry_after") is None:
                r.fail("cut-off node %s answered 503 without Retry-After" % p.i)
    time.sleep(2.0)  # not a wait for anything: the minority stays cut off a while longer
    t_heal = now()
    for i in minority:
        c.heal(i)
    r.t("heal_cmd_s", now() - t_heal)
    say("    healed %s" % minority)
    after_heal(r, c, minority, new, t_heal, strict=not o.allow_retakeover)
    # Every healed node takes writes again (a write sent there just before the
    # heal may still be waiting out its 3 s request timeout).
    require_writes(r, h, minority, t_heal, 10.0, "after the heal, through the healed nodes")
    first = h.first_ack_after_send(t_heal, nodes=minority)
    r.t("first_commit_via_healed_s", first)
    say("    first write through a healed node acknowledged %s after the heal" % fmt_t(first))
    stop_writers(ws)
    heal_disruption(r, h, t_heal)
    final_check(r, h, c)


def scn_split(c, r, o):
    old = start_cluster(c, r)
    if old is None:
        return
    h = cc.History()
    if pre_writes(h, c.urls):
        r.fail("writes failed before any fault")
    minority, majority = split_sides(c, old)
    ws = start_writers(h, majority, interval=0.05)
    writes_flowing(r, h, majority)
    t_fault = fault(r, "partition", c.partition, minority)
    say("    partition %s | %s (node-to-node; the client reaches both sides)" % (minority, majority))
    # writes through the minority side: from the client, expect 503
    mws = start_writers(h, minority, interval=0.2)
    new = measure_fault(r, h, [url_of(i) for i in majority], old, t_fault, o.detect_limit,
                        t_fault + r.timings["partition_cmd_s"])
    # Writes through the minority go on until each minority node has answered one
    # with 503 (each takes the 3 s request timeout); any ack meanwhile is a problem.
    t_in_place = t_fault + r.timings["partition_cmd_s"]

    def refused(i):
        return any(op.node == i and op.status == 503 and op.t_send >= t_in_place for op in h.snapshot())
    waited = wait_for(lambda: all(refused(i) for i in minority), 15.0)
    stop_writers(mws)
    minority_acks = [op for op in h.snapshot() if op.node in minority and op.acked and op.t_send >= t_in_place]
    minority_503 = [op for op in h.snapshot() if op.node in minority and op.status == 503 and op.t_send >= t_fault]
    say("    writes through the minority side during the split: %d acked, %d answered 503"
        % (len(minority_acks), len(minority_503)))
    if minority_acks:
        r.fail("the minority side acknowledged %d writes sent after the partition (e.g. %s via node %s)"
               % (len(minority_acks), minority_acks[0].text, minority_acks[0].node))
    if waited is None:
        r.fail("not every minority node answered a write with 503 within 15 s of the partition: %s"
               % [i for i in minority if not refused(i)])
    views = cc.leader_view([url_of(i) for i in minority])
    say("    minority view: %s" % {u.rsplit(".", 1)[1]: v[:3] for u, v in views.items()})
    mws = start_writers(h, minority, interval=0.05)
    t_heal = fault(r, "unpartition", c.unpartition)
    say("    partition healed")
    after_heal(r, c, minority, new, t_heal, strict=not o.allow_retakeover)
    require_writes(r, h, list(range(1, c.n + 1)), t_heal, 10.0, "after the heal")
    stop_writers(mws + ws)
    first = h.first_ack_after_send(t_heal, nodes=minority)
    r.t("first_commit_via_healed_s", first)
    say("    first write through the former minority acknowledged %s after the heal" % fmt_t(first))
    heal_disruption(r, h, t_heal)
    final_check(r, h, c)


def scn_chaos(c, r, o):
    """Bounded random faults, one at a time, under light loss, while writes go on."""
    import random as _random
    rng = _random.Random(o.seed)
    start_cluster(c, r)
    h = cc.History()
    c.loss("all", 10)
    ws = [cc.Writer(h, url_of(i), "w%d" % i, node=i, max_count=5000, max_time=180, interval=0.05, timeout=5.0)
          for i in range(1, c.n + 1)]
    for w in ws:
        w.start()
    say("    seed %s, %d rounds, 10%% UDP loss, writes through all %d nodes" % (o.seed, o.rounds, c.n))
    t0 = now()
    # The pauses in the rounds are not waits for anything: they are how long each
    # fault lasts and how long the cluster runs between faults (random, bounded).
    for rnd in range(o.rounds):
        leader, _ = cc.wait_leader(c.urls, timeout=5, agree="majority")
        target = leader if (leader is not None and rng.random() < 0.5) else rng.randrange(1, c.n + 1)
        action = rng.choice(["cut", "kill", "partition"])
        say("    round %d: %s node %s%s" % (rnd + 1, action, target, " (leader)" if target == leader else ""))
        if action == "cut":
            c.cut(target)
            time.sleep(rng.uniform(0.5, 2.0))
            c.heal(target)
        elif action == "kill":
            c.kill(target)
            time.sleep(rng.uniform(0.2, 1.5))
            c.restart(target)
        else:
            others = [i for i in range(1, c.n + 1) if i != target]
            side = [target] + rng.sample(others, (c.n - 1) // 2 - 1)
            c.partition(side)
            time.sleep(rng.uniform(0.5, 2.0))
            c.unpartition()
        time.sleep(rng.uniform(0.3, 1.5))
    r.t("chaos_s", now() - t0)
    c.loss("all", 0)
    lead, waited = cc.wait_leader(c.urls, timeout=10, agree="all")
    if lead is None:
        r.fail("no leader agreed by all nodes within 10 s after the last fault: %s" % cc.leader_view(c.urls))
    else:
        say("    all nodes agree on leader %s %.2f s after the last fault" % (lead, waited))
    t_calm = now()
    require_writes(r, h, list(range(1, c.n + 1)), t_calm, 15.0, "after the last fault")
    stop_writers(ws)
    final_check(r, h, c)


SCENARIOS = {
    "steady": scn_steady,
    "cut-leader": scn_cut_leader,
    "kill-leader": scn_kill_leader,
    "loss": scn_loss,
    "minority": scn_minority,
    "split": scn_split,
    "chaos": scn_chaos,
}


def run_scenarios(cluster, names, opts):
    """Run the named scenarios on a cluster backend; returns a list of Result."""
    results = []
    for name in names:
        r = Result(name, cluster.name)
        ARTIFACTS["dir"] = os.path.join(opts.artifacts, cluster.name, name) if opts.artifacts else None
        say("=== %s/%s" % (cluster.name, name))
        t0 = now()
        try:
            SCENARIOS[name](cluster, r, opts)
        except Exception as e:  # noqa: BLE001 - a broken scenario is a failed scenario
            r.fail("exception: %s: %s" % (type(e).__name__, e))
        finally:
            r.t("scenario_s", now() - t0)
            if opts.artifacts:
                try:
                    cluster.save_logs(os.path.join(opts.artifacts, cluster.name, name))
                except Exception as e:  # noqa: BLE001
                    say("    (could not save logs: %s)" % e)
        timing = ", ".join("%s=%s" % (k, v) for k, v in r.timings.items())
        say("RESULT %s/%s %s  [%s]%s" % (cluster.name, name, "PASS" if r.ok else "FAIL", timing,
                                         "" if r.ok else "  -- " + r.problems[0][:300]))
        results.append(r)
    return results


def add_common_args(ap):
    ap.add_argument("--only", default=",".join(ALL), help="comma-separated scenarios (default all: %s)" % ",".join(ALL))
    ap.add_argument("--writes", type=int, default=20, help="adds per node for the checker (20)")
    ap.add_argument("--loss", type=float, default=20.0, help="UDP loss percentage for 'loss' (20)")
    ap.add_argument("--detect-limit", type=float, default=5.0,
                    help="seconds within which survivors must agree on a new leader (5)")
    ap.add_argument("--artifacts", default="/tmp/bb-results",
                    help="copy node logs here per scenario (default /tmp/bb-results; '' = off)")
    ap.add_argument("--json", metavar="FILE", help="also write the results as JSON to FILE")
    ap.add_argument("--rounds", type=int, default=8, help="chaos: number of faults (8)")
    ap.add_argument("--seed", type=int, default=None, help="chaos: random seed (default: time-based, printed)")
    ap.add_argument("--allow-retakeover", action="store_true",
                    help="cut-leader, minority, split: accept that healed nodes take the leadership back "
                         "(bully) instead of following the new leader (default: that fails)")


def finish(results, json_file=None):
    passed = sum(1 for r in results if r.ok)
    failed = len(results) - passed
    say("")
    for r in results:
        say("%-4s %s/%s%s" % ("PASS" if r.ok else "FAIL", r.backend, r.name,
                              "" if r.ok else ": " + "; ".join(r.problems)[:300]))
    if json_file:
        with open(json_file, "w") as f:
            json.dump([r.to_dict() for r in results], f, indent=1)
    say("%d passed, %d failed" % (passed, failed))
    return 0 if failed == 0 and results else 1


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mininet", action="store_true",
                    help="run on Mininet (via /usr/bin/python3 mininet_topo.py --scenario)")
    ap.add_argument("--switch", default="lxbr", help="with --mininet: lxbr (default), default, ovsbr")
    ap.add_argument("--nodes", type=int, default=5, help="cluster size (5)")
    ap.add_argument("--list", action="store_true", help="list the scenarios and exit")
    add_common_args(ap)
    o = ap.parse_args(argv)
    if o.seed is None:
        o.seed = int(time.time()) % 100000
    if o.list:
        print("\n".join(ALL))
        return 0
    names = [s for s in o.only.split(",") if s]
    bad = [s for s in names if s not in SCENARIOS]
    if bad:
        ap.error("unknown scenario(s) %s; known: %s" % (bad, ", ".join(ALL)))
    if os.geteuid() != 0:
        ap.error("must run as root")
    if o.nodes < 3:
        ap.error("--nodes must be at least 3")
    if o.mininet:
        cmd = ["/usr/bin/python3", os.path.join(HERE, "mininet_topo.py"), "--hosts", str(o.nodes),
               "--switch", o.switch, "--scenario", ",".join(names), "--writes", str(o.writes),
               "--loss-pct", str(o.loss), "--detect-limit", str(o.detect_limit), "--artifacts", o.artifacts]
        if o.json:
            cmd += ["--json", o.json]
        if o.allow_retakeover:
            cmd += ["--allow-retakeover"]
        cmd += ["--rounds", str(o.rounds), "--seed", str(o.seed)]
        os.execv(cmd[0], cmd)
    def on_signal(_sig, _frame):
        raise KeyboardInterrupt

    # explicit handlers: a background job may have inherited SIGINT ignored
    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    c = NetnsCluster(o.nodes, o.artifacts)
    results = []
    try:
        results = run_scenarios(c, names, o)
    except KeyboardInterrupt:
        say("interrupted")
    finally:
        c.close()
    return finish(results, o.json)


if __name__ == "__main__":
    sys.exit(main())
