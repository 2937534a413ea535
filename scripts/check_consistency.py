#!/usr/bin/env python3
"""Consistency checker for a blackboard cluster (Python 3 standard library only).

Against any list of node URLs it
  1. waits (bounded) until the nodes agree on a leader,
  2. adds entries concurrently through every node (threads; --writes K per node),
     each with a unique marker text  chk-<run>-n<node>-<k>,
  3. modifies and deletes the same entries concurrently from different nodes,
  4. waits (bounded) until every node shows the same seq and board,
  5. compares every node's board (same entries, same order) and checks that
     - every acknowledged add (201) is present, with its marker, unless a delete of
       that id was attempted; an acknowledged delete really removed it,
     - no marker appears twice, no entry appears that nobody wrote,
     - a modified entry holds one of the texts written to it (never the original
       text once a modify was acknowledged; the highest-seq one if all were acked),
     - writes acknowledged before another was sent come first in the board
       (real-time order) and have a smaller seq; no two acks share a seq,
     - read-your-writes: after a 201/200 from node N, N's board has seq >= the ack's.
503s (and requests that got no answer) are fine: counted, not acknowledged, and
such a write may appear at most once.

Exit status 0 if everything holds, 1 otherwise; the last line of stdout is a
one-line summary (or, with --json, one JSON object).

Library use (scenarios.py):
    import check_consistency as cc
    cc.status(url); cc.board(url); cc.post(url, "/board", {"entry": "x"})
    cc.add(url, text); cc.modify(url, id, text); cc.delete(url, id)
    cc.wait_leader(urls, timeout=10); cc.wait_converged(urls, timeout=30)
    h = cc.History("run1"); w = cc.Writer(h, url, tag="w1"); w.start(); ...; w.stop()
    cc.verify(h, boards)  /  cc.run_check(urls, writes=20)
"""

import argparse
import http.client
import json
import random
import re
import socket
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

DEFAULT_TIMEOUT = 10.0  # per HTTP request; the node answers 503 after ~3 s

# Never use a proxy from the environment: we only ever talk to our own nodes.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def now():
    return time.monotonic()


def log(msg, quiet=False):
    if not quiet:
        sys.stderr.write("%s\n" % msg)
        sys.stderr.flush()


# --------------------------------------------------------------------------- HTTP

class Resp:
    """One HTTP exchange. status 0 means no HTTP answer (refused, timeout, reset)."""

    __slots__ = ("status", "body", "raw", "headers", "error", "elapsed")

    def __init__(self, status, body, raw, headers, error, elapsed):
        self.status, self.body, self.raw = status, body, raw
        self.headers, self.error, self.elapsed = headers, error, elapsed

    def __repr__(self):
        return "Resp(%s, %r%s, %.3fs)" % (self.status, self.body if self.body is not None else self.raw[:80],
                                          ", error=%s" % self.error if self.error else "", self.elapsed)


def norm_url(u):
    u = u.strip().rstrip("/")
    if not re.match(r"^https?://", u):
        u = "http://" + u
    return u


def request(method, url, fields=None, timeout=DEFAULT_TIMEOUT):
    data = urllib.parse.urlencode(fields).encode() if fields is not None else None
    req = urllib.request.Request(url, data=data, method=method)
    if data is not None:
        req.add_header("Content-Type", "application/x-www-form-urlencoded")
    t0 = now()
    try:
        with _OPENER.open(req, timeout=timeout) as r:
            status, raw, headers = r.status, r.read(), dict(r.headers)
    except urllib.error.HTTPError as e:
        status, headers = e.code, dict(e.headers or {})
        try:
            raw = e.read()
        except Exception:  # noqa: BLE001 - body unreadable, keep status
            raw = b""
    except (urllib.error.URLError, OSError, http.client.HTTPException, socket.timeout, ValueError) as e:
        reason = getattr(e, "reason", e)
        return Resp(0, None, "", {}, "%s: %s" % (type(e).__name__, reason), now() - t0)
    text = raw.decode("utf-8", "replace")
    try:
        body = json.loads(text) if text else None
    except ValueError:
        body = None
    return Resp(status, body, text, headers, None, now() - t0)


def post(url, path="/board", fields=None, timeout=DEFAULT_TIMEOUT):
    """POST a form to node url + path; returns a Resp."""
    return request("POST", norm_url(url) + path, fields or {}, timeout)


def add(url, text, timeout=DEFAULT_TIMEOUT):
    return post(url, "/board", {"entry": text}, timeout)


def modify(url, entry_id, text, timeout=DEFAULT_TIMEOUT):
    return post(url, "/board/%d" % entry_id, {"delete": "0", "entry": text}, timeout)


def delete(url, entry_id, timeout=DEFAULT_TIMEOUT):
    return post(url, "/board/%d" % entry_id, {"delete": "1"}, timeout)


def get_json(url, timeout=2.0):
    r = request("GET", url, None, timeout)
    if r.status == 200 and isinstance(r.body, dict):
        return r.body
    return None


def board(url, timeout=3.0):
    """GET /board (linearizable) -> {"seq":..,"entries":[{"id":..,"text":..},..]}, or None
    when no answer or a 503 (no leader or majority confirmed the read) came back."""
    return get_json(norm_url(url) + "/board", timeout)


def status(url, timeout=2.0):
    """GET /status -> dict or None."""
    return get_json(norm_url(url) + "/status", timeout)


def parallel(fn, items):
    """fn(item) for every item concurrently (one thread each); results in order."""
    out = [None] * len(items)

    def run(i, it):
        try:
            out[i] = fn(it)
        except Exception as e:  # noqa: BLE001 - report, never hang
            out[i] = e

    ts = [threading.Thread(target=run, args=(i, it), daemon=True) for i, it in enumerate(items)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(60)
    return out


def statuses(urls, timeout=1.0):
    return parallel(lambda u: status(u, timeout), list(urls))


def boards(urls, timeout=3.0):
    return parallel(lambda u: board(u, timeout), list(urls))


def leader_view(urls, timeout=1.0):
    """{url: (leader, role, epoch)} for the nodes that answered /status."""
    view = {}
    for u, st in zip(urls, statuses(urls, timeout)):
        if isinstance(st, dict):
            view[u] = (st.get("leader"), st.get("role"), st.get("epoch"), st.get("id"))
    return view


def wait_leader(urls, timeout=10.0, exclude=(), agree="all", interval=0.05):
    """Wait until the nodes at urls agree on a leader.

    agree="all":      every url answers and names the same leader (not in exclude),
                      and that leader (if among urls) says role == "leader";
    agree="majority": a majority of urls do so;
    agree="any":      any one url names a leader not in exclude (detection time).
    Returns (leader_id or None, seconds waited)."""
    urls = [norm_url(u) for u in urls]
    exclude = set(exclude or ())
    t0 = now()
    deadline = t0 + timeout
    need = {"all": len(urls), "majority": len(urls) // 2 + 1, "any": 1}[agree]
    for _ in range(int(timeout / max(interval, 0.01)) + 2):
        view = leader_view(urls, timeout=min(1.0, max(0.2, deadline - now())))
        votes = {}
        roles = {}
        for _u, (leader, role, _epoch, nid) in view.items():
            if nid is not None:
                roles[nid] = role
            if leader is not None and leader not in exclude:
                votes[leader] = votes.get(leader, 0) + 1
        for leader, cnt in sorted(votes.items(), key=lambda kv: -kv[1]):
            if cnt >= need and (agree == "any" or roles.get(leader, "leader") == "leader"):
                return leader, now() - t0
        if now() >= deadline:
            break
        time.sleep(interval)
    return None, now() - t0


def board_key(b):
    return (b.get("seq"), [(e.get("id"), e.get("text")) for e in b.get("entries", [])])


def wait_converged(urls, timeout=30.0, interval=0.2):
    """Wait until every node answers GET /board with the same seq and entries.
    Returns (ok, boards (list, None for silent nodes), seconds waited, reason)."""
    urls = [norm_url(u) for u in urls]
    t0 = now()
    deadline = t0 + timeout
    bs, reason = [], "no attempt"
    for _ in range(int(timeout / max(interval, 0.01)) + 2):
        bs = boards(urls, timeout=min(3.0, max(0.5, deadline - now())))
        silent = [u for u, b in zip(urls, bs) if not isinstance(b, dict)]
        if silent:
            reason = "no board from %s" % ", ".join(silent)
        else:
            keys = [board_key(b) for b in bs]
            if all(k == keys[0] for k in keys):
                return True, bs, now() - t0, "seq %s on all %d nodes" % (keys[0][0], len(urls))
            reason = "seqs differ: %s" % ", ".join("%s=%s" % (u, b.get("seq")) for u, b in zip(urls, bs))
            if len(set(k[0] for k in keys)) == 1:
                reason = "same seq %s but different entries" % keys[0][0]
        if now() >= deadline:
            break
        time.sleep(interval)
    return False, [b if isinstance(b, dict) else None for b in bs], now() - t0, reason


# --------------------------------------------------------------------------- history

class Op:
    __slots__ = ("kind", "node", "url", "text", "marker", "target", "status", "id", "seq",
                 "t_send", "t_ack", "error", "retry_after", "ryw", "raw")

    def __init__(self, kind, node, url, text=None, marker=None, target=None):
        self.kind, self.node, self.url = kind, node, url
        self.text, self.marker, self.target = text, marker, target
        self.status = self.id = self.seq = self.t_ack = self.error = self.retry_after = None
        self.t_send = now()
        self.ryw = None  # None = not checked, True/False = read-your-writes result
        self.raw = None  # response body of unexpected answers

    @property
    def acked(self):
        return self.status == (201 if self.kind == "add" else 200)

    def to_dict(self):
        return {k: getattr(self, k) for k in self.__slots__}


class History:
    """Thread-safe record of every write attempted against the cluster."""

    def __init__(self, run=None, ryw_every=4):
        self.run = run or "%06x" % random.randrange(16 ** 6)
        self.lock = threading.Lock()
        self.ops = []
        self.t0 = now()
        self.ryw_every = ryw_every  # check read-your-writes on every k-th ack (0 = never)
        self._n = 0

    def marker(self, tag, k):
        return "chk-%s-%s-%d" % (self.run, tag, k)

    def _do(self, op, fields, path, timeout):
        op.t_send = now()
        r = post(op.url, path, fields, timeout)
        op.t_ack = now()
        op.status, op.error = r.status, r.error
        op.retry_after = r.headers.get("Retry-After") if r.headers else None
        if r.status not in (200, 201, 503, 404, 0):
            op.raw = r.raw[:300]
        elif op.kind == "add" and r.status == 200:
            op.raw = r.raw[:300]
        if isinstance(r.body, dict):
            op.id = r.body.get("id") if op.id is None else op.id
            op.seq = r.body.get("seq")
            if op.status >= 400 and not op.error:
                op.error = r.body.get("error")
        with self.lock:
            self.ops.append(op)
            self._n += 1
            check = op.acked and self.ryw_every and self._n % self.ryw_every == 0
        if check:
            b = board(op.url, timeout=3.0)
            if b is None:
                # No board came back (no answer, or a 503): nothing was read, so
                # nothing to check - a scenario may cut the node off right after
                # its answer. A board that came back must show the write.
                return op
            ok = isinstance(b.get("seq"), int) and isinstance(op.seq, int) and b["seq"] >= op.seq
            if ok and op.kind == "add":
                ok = any(e.get("id") == op.id for e in b.get("entries", [])) or self._deleted(op.id)
            op.ryw = bool(ok)
        return op

    def _deleted(self, entry_id):
        with self.lock:
            return any(o.kind == "delete" and o.target == entry_id for o in self.ops)

    def add(self, node, url, tag, k, timeout=DEFAULT_TIMEOUT):
        m = self.marker(tag, k)
        op = Op("add", node, url, text=m, marker=m)
        return self._do(op, {"entry": m}, "/board", timeout)

    def modify(self, node, url, entry_id, text, timeout=DEFAULT_TIMEOUT):
        op = Op("modify", node, url, text=text, target=entry_id)
        op.id = entry_id
        return self._do(op, {"delete": "0", "entry": text}, "/board/%d" % entry_id, timeout)

    def delete(self, node, url, entry_id, timeout=DEFAULT_TIMEOUT):
        op = Op("delete", node, url, target=entry_id)
        op.id = entry_id
        return self._do(op, {"delete": "1"}, "/board/%d" % entry_id, timeout)

    def snapshot(self):
        with self.lock:
            return list(self.ops)

    def first_ack_after_send(self, t, nodes=None):
        """Seconds from t (monotonic) to the first acknowledgement of a write sent at
        or after t (optionally only writes made through the given nodes); None if none."""
        best = None
        for o in self.snapshot():
            if o.acked and o.t_send >= t and (nodes is None or o.node in nodes):
                if best is None or o.t_ack < best:
                    best = o.t_ack
        return None if best is None else best - t

    def counts(self):
        c = {}
        for o in self.snapshot():
            k = c.setdefault(o.kind, {"sent": 0, "acked": 0, "503": 0, "404": 0, "noanswer": 0, "other": 0})
            k["sent"] += 1
            if o.acked:
                k["acked"] += 1
            elif o.status == 503:
                k["503"] += 1
            elif o.status == 404:
                k["404"] += 1
            elif o.status == 0:
                k["noanswer"] += 1
            else:
                k["other"] += 1
                k.setdefault("other_statuses", {})
                key = "%s %s" % (o.status, (o.error or "")[:60])
                k["other_statuses"][key] = k["other_statuses"].get(key, 0) + 1
        return c


class Writer(threading.Thread):
    """Adds entries through one node until stopped (bounded by count and time)."""

    def __init__(self, history, url, tag, node=None, max_count=1000, max_time=120.0, interval=0.05,
                 timeout=DEFAULT_TIMEOUT):
        super().__init__(daemon=True)
        self.h, self.url, self.tag, self.node = history, norm_url(url), tag, node if node is not None else tag
        self.max_count, self.max_time, self.interval, self.timeout = max_count, max_time, interval, timeout
        self._stop_ev = threading.Event()
        self.k = 0

    def run(self):
        deadline = now() + self.max_time
        while self.k < self.max_count and now() < deadline and not self._stop_ev.is_set():
            self.h.add(self.node, self.url, self.tag, self.k, self.timeout)
            self.k += 1
            self._stop_ev.wait(self.interval)

    def stop(self, join_timeout=None):
        self._stop_ev.set()
        self.join(join_timeout if join_timeout is not None else self.timeout + 5)


# --------------------------------------------------------------------------- workload

def add_phase(h, urls, writes, threads_per_node=1, max_time=120.0, timeout=DEFAULT_TIMEOUT):
    """Every node gets `writes` adds, from threads_per_node threads each, concurrently."""
    ws = []
    for i, u in enumerate(urls, 1):
        per = [writes // threads_per_node + (1 if t < writes % threads_per_node else 0)
               for t in range(threads_per_node)]
        for t, cnt in enumerate(per):
            tag = "n%d" % i if threads_per_node == 1 else "n%dt%d" % (i, t)
            ws.append(Writer(h, u, tag, node=i, max_count=cnt, max_time=max_time, interval=0.0,
                             timeout=timeout))
    for w in ws:
        w.start()
    for w in ws:
        w.join(max_time + timeout + 5)
    return ws


def moddel_phase(h, urls, ntargets, max_time=120.0, timeout=DEFAULT_TIMEOUT):
    """Concurrent modifies and deletes of the same entries from different nodes.

    For target j (an acknowledged add made through node a) two other nodes b, c act
    at about the same time; pattern j % 4: modify+modify, modify+delete,
    delete+delete, delete+modify."""
    n = len(urls)
    acked = [o for o in h.snapshot() if o.kind == "add" and o.acked and isinstance(o.id, int)]
    random.shuffle(acked)
    targets = acked[:ntargets]
    queues = [[] for _ in range(n)]
    for j, o in enumerate(targets):
        a = (o.node - 1) if isinstance(o.node, int) else 0
        b, c = (a + 1 + j) % n, (a + 2 + j) % n
        pat = [("modify", "modify"), ("modify", "delete"), ("delete", "delete"), ("delete", "modify")][j % 4]
        for node_idx, kind, slot in ((b, pat[0], "b"), (c, pat[1], "c")):
            queues[node_idx].append((kind, o, "%s~m%d%s" % (o.marker, node_idx + 1, slot)))
    deadline = now() + max_time

    def work(idx):
        for kind, o, text in queues[idx]:
            if now() >= deadline:
                break
            if kind == "modify":
                h.modify(idx + 1, urls[idx], o.id, text, timeout)
            else:
                h.delete(idx + 1, urls[idx], o.id, timeout)

    parallel(work, list(range(n)))
    return len(targets)


# --------------------------------------------------------------------------- verification

def base_marker(text):
    return text.split("~", 1)[0]


def verify(h, boards_, names=None, order_check=True):
    """Check the history against the final boards (one per node, all must be dicts).
    Returns {"ok": bool, "problems": [str], "info": [str], "stats": {...}}."""
    problems, info = [], []
    names = names or ["node%d" % (i + 1) for i in range(len(boards_))]
    bs = [(n, b) for n, b in zip(names, boards_)]
    missing = [n for n, b in bs if not isinstance(b, dict)]
    if missing:
        problems.append("no board from %s" % ", ".join(missing))
    bs = [(n, b) for n, b in bs if isinstance(b, dict)]
    if not bs:
        return {"ok": False, "problems": problems or ["no boards"], "info": info,
                "stats": {"run": h.run, "nodes": 0, "counts": h.counts()}}

    # 1. identical boards: same seq, same entries, same order
    ref_name, ref = bs[0]
    ref_key = board_key(ref)
    for n, b in bs[1:]:
        k = board_key(b)
        if k[0] != ref_key[0]:
            problems.append("%s seq %s != %s seq %s" % (n, k[0], ref_name, ref_key[0]))
        if k[1] != ref_key[1]:
            diff = next((i for i, (x, y) in enumerate(zip(k[1], ref_key[1])) if x != y),
                        min(len(k[1]), len(ref_key[1])))
            problems.append("%s board differs from %s (%d vs %d entries; first difference at position %d: %s vs %s)"
                            % (n, ref_name, len(k[1]), len(ref_key[1]), diff,
                               k[1][diff] if diff < len(k[1]) else "-",
                               ref_key[1][diff] if diff < len(ref_key[1]) else "-"))

    entries = ref.get("entries", [])
    pos = {}
    by_id = {}
    for i, e in enumerate(entries):
        eid = e.get("id")
        if eid in by_id:
            problems.append("id %s appears twice on the board" % eid)
        by_id[eid] = e
        pos[eid] = i

    ops = h.snapshot()
    prefix = "chk-%s-" % h.run
    adds = [o for o in ops if o.kind == "add"]
    add_by_marker = {o.marker: o for o in adds}
    deletes_by_id, modifies_by_id = {}, {}
    for o in ops:
        if o.kind == "delete":
            deletes_by_id.setdefault(o.target, []).append(o)
        elif o.kind == "modify":
            modifies_by_id.setdefault(o.target, []).append(o)

    # 2. every marker at most once, and only markers somebody wrote
    seen = {}
    for e in entries:
        t = e.get("text", "")
        if isinstance(t, str) and t.startswith(prefix):
            seen.setdefault(base_marker(t), []).append(e)
    for m, es in seen.items():
        if len(es) > 1:
            problems.append("marker %s appears %d times (ids %s)" % (m, len(es), [e.get("id") for e in es]))
        if m not in add_by_marker:
            problems.append("entry %s with text %r was never written by this run" % (es[0].get("id"), es[0].get("text")))

    # 3. acknowledged adds present (unless deleted), unacknowledged ones at most once
    lost, unacked_present = [], 0
    for o in adds:
        if o.acked:
            if not isinstance(o.id, int):
                problems.append("201 for %s without an integer id" % o.marker)
                continue
            dels = deletes_by_id.get(o.id, [])
            e = by_id.get(o.id)
            if e is None:
                if not dels:
                    lost.append(o)
            else:
                if base_marker(e.get("text", "")) != o.marker:
                    problems.append("id %d was acknowledged for %s but holds %r" % (o.id, o.marker, e.get("text")))
                if any(d.acked for d in dels):
                    problems.append("id %d (%s) is present although its delete was acknowledged" % (o.id, o.marker))
        elif o.marker in seen:
            unacked_present += 1
    # 3b. answers outside the contract (add -> 201/503, modify/delete -> 200/404/503)
    expected = {"add": (201, 503, 0), "modify": (200, 404, 503, 0), "delete": (200, 404, 503, 0)}
    odd = [o for o in ops if o.status not in expected[o.kind]]
    for o in odd[:5]:
        problems.append("CONTRACT: %s %s via %s answered %s %s" % (
            o.kind, o.text or o.target, o.url, o.status, (o.raw or o.error or "")[:120]))
    if len(odd) > 5:
        problems.append("... %d answers outside the contract in total" % len(odd))
    for o in adds:
        if o.status == 200 and o.marker not in seen and not o.acked:
            lost.append(o)  # it claimed success (200), so it must be there
    for o in lost[:10]:
        problems.append("LOST: acknowledged add %s (HTTP %s, id %s, seq %s, via %s) is missing"
                        % (o.marker, o.status, o.id, o.seq, o.url))
    if len(lost) > 10:
        problems.append("... %d acknowledged adds lost in total" % len(lost))

    # 4. modifies: the text is one that was written; acked modify not undone; highest seq wins
    for eid, mods in modifies_by_id.items():
        e = by_id.get(eid)
        if e is None:
            continue
        add_op = next((o for o in adds if o.id == eid and o.acked), None)
        if add_op is None:
            continue
        texts = {m.text for m in mods}
        t = e.get("text")
        acked = [m for m in mods if m.acked]
        if t != add_op.marker and t not in texts:
            problems.append("id %s holds %r, which nobody wrote to it" % (eid, t))
        elif acked and t == add_op.marker:
            problems.append("id %s lost its acknowledged modify (%r): still holds the original text" % (eid, acked[0].text))
        elif acked and len(acked) == len(mods) and all(isinstance(m.seq, int) for m in acked):
            last = max(acked, key=lambda m: m.seq)
            if t != last.text:
                problems.append("id %s holds %r but the modify with the highest seq (%s) wrote %r"
                                % (eid, t, last.seq, last.text))
    # Deletes of one id apply in one order: the first removes it, any later one
    # finds nothing and must answer 404, so two acknowledged deletes are a bug.
    for eid, dels in deletes_by_id.items():
        if sum(1 for d in dels if d.acked) > 1:
            problems.append("id %s: %d deletes acknowledged (all but the first must answer 404)"
                            % (eid, sum(1 for d in dels if d.acked)))
        # Likewise a modify ordered after the acknowledged delete found nothing.
        gone = [d.seq for d in dels if d.acked and isinstance(d.seq, int)]
        late = [m for m in modifies_by_id.get(eid, []) if m.acked and isinstance(m.seq, int)
                and gone and m.seq > min(gone)]
        if late:
            problems.append("id %s: modify %r acknowledged at seq %s, after the delete at seq %s (must answer 404)"
                            % (eid, late[0].text, late[0].seq, min(gone)))

    # 5. real-time order and seq order of acknowledged adds; seqs unique
    order_viol = []
    seq_viol = []
    acked_present = [o for o in adds if o.acked and o.id in pos and isinstance(o.seq, int)]
    if order_check and acked_present:
        acked_present.sort(key=lambda o: o.t_ack)
        by_send = sorted(acked_present, key=lambda o: o.t_send)
        # for each B, every A acknowledged before B was sent must come first
        j = 0
        max_pos_a = None
        max_seq_a = None
        for b in by_send:
            while j < len(acked_present) and acked_present[j].t_ack < b.t_send:
                a = acked_present[j]
                if max_pos_a is None or pos[a.id] > pos[max_pos_a.id]:
                    max_pos_a = a
                if max_seq_a is None or a.seq > max_seq_a.seq:
                    max_seq_a = a
                j += 1
            if max_pos_a is not None and pos[max_pos_a.id] > pos[b.id]:
                order_viol.append((max_pos_a, b))
            if max_seq_a is not None and max_seq_a.seq >= b.seq:
                seq_viol.append((max_seq_a, b))
    for a, b in order_viol[:5]:
        problems.append("ORDER: %s was acknowledged before %s was sent but comes after it on the board"
                        % (a.marker, b.marker))
    if len(order_viol) > 5:
        problems.append("... %d real-time order violations" % len(order_viol))
    for a, b in seq_viol[:5]:
        problems.append("SEQ: %s (seq %s) acknowledged before %s was sent, which got seq %s"
                        % (a.marker, a.seq, b.marker, b.seq))
    seqs = {}
    for o in ops:
        if o.acked and isinstance(o.seq, int):
            seqs.setdefault(o.seq, []).append(o)
    dup_seqs = {s: os_ for s, os_ in seqs.items() if len(os_) > 1}
    for s, os_ in list(dup_seqs.items())[:5]:
        problems.append("seq %s acknowledged for %d writes: %s" % (s, len(os_), [o.text or o.kind for o in os_]))
    ref_seq = ref.get("seq")
    if isinstance(ref_seq, int):
        over = [o for o in ops if o.acked and isinstance(o.seq, int) and o.seq > ref_seq]
        if over:
            problems.append("%d acknowledged writes have seq above the final board seq %s" % (len(over), ref_seq))

    # 6. read-your-writes
    ryw_bad = [o for o in ops if o.ryw is False]
    for o in ryw_bad[:5]:
        problems.append("RYW: %s %s acknowledged by %s (seq %s) but its board did not show it right after"
                        % (o.kind, o.text or o.target, o.url, o.seq))

    lat = sorted(o.t_ack - o.t_send for o in ops if o.acked)

    def pct(p):
        return round(lat[min(len(lat) - 1, int(p * len(lat)))], 4) if lat else None

    stats = {
        "run": h.run,
        "nodes": len(bs),
        "seq": ref.get("seq"),
        "entries": len(entries),
        "counts": h.counts(),
        "unacked_but_present": unacked_present,
        "ryw_checked": sum(1 for o in ops if o.ryw is not None),
        "latency_s": {"p50": pct(0.5), "p95": pct(0.95), "max": round(lat[-1], 4) if lat else None},
    }
    return {"ok": not problems, "problems": problems, "info": info, "stats": stats}


def summarize_counts(c):
    parts = []
    for kind in ("add", "modify", "delete"):
        if kind in c:
            k = c[kind]
            s = "%d %s: %d acked" % (k["sent"], {"add": "adds", "modify": "modifies", "delete": "deletes"}[kind], k["acked"])
            extra = ["%d %s" % (k[x], x) for x in ("503", "404", "noanswer") if k[x]]
            if k["other"]:
                extra.append("%d other (%s)" % (k["other"], "; ".join("%s x%d" % kv for kv in
                                                                       sorted(k.get("other_statuses", {}).items()))))
            parts.append(s + (" " + " ".join(extra) if extra else ""))
    return ", ".join(parts) or "no writes"


def run_check(urls, writes=20, threads=1, mods=None, converge_timeout=30.0, leader_timeout=10.0,
              timeout=DEFAULT_TIMEOUT, max_time=300.0, run=None, quiet=True, history=None):
    """The whole check; returns the verify() result plus "summary" and timings."""
    urls = [norm_url(u) for u in urls]
    h = history or History(run)
    t_start = now()
    res = {"ok": False, "problems": [], "info": [], "stats": {}, "timings": {}}
    leader, waited = wait_leader(urls, timeout=leader_timeout, agree="majority")
    res["timings"]["leader_wait_s"] = round(waited, 3)
    if leader is None:
        view = leader_view(urls)
        res["problems"].append("no leader agreed by a majority within %.0f s: %s" % (leader_timeout, view))
        res["summary"] = "FAIL: no leader within %.0f s (%d nodes)" % (leader_timeout, len(urls))
        return res
    log("leader %s; adding %d entries per node through %d nodes" % (leader, writes, len(urls)), quiet)
    t = now()
    add_phase(h, urls, writes, threads, max_time=max_time / 2, timeout=timeout)
    res["timings"]["adds_s"] = round(now() - t, 3)
    ntargets = mods if mods is not None else max(4, writes)
    t = now()
    if ntargets > 0:
        log("modifying/deleting %d entries concurrently from different nodes" % ntargets, quiet)
        moddel_phase(h, urls, ntargets, max_time=max_time / 2, timeout=timeout)
    res["timings"]["moddel_s"] = round(now() - t, 3)
    ok, bs, waited, reason = wait_converged(urls, converge_timeout)
    res["timings"]["converge_s"] = round(waited, 3)
    res["converged"] = ok
    v = verify(h, bs, names=urls)
    res.update({"ok": ok and v["ok"], "problems": ([] if ok else ["not converged within %.0f s: %s"
                                                               % (converge_timeout, reason)]) + v["problems"],
                "info": v["info"], "stats": v["stats"], "leader": leader})
    res["timings"]["total_s"] = round(now() - t_start, 3)
    st = v["stats"]
    res["summary"] = "%s: %d nodes, leader %s, %s; %s at seq %s (%d entries) in %.2f s; %d problems; total %.1f s" % (
        "PASS" if res["ok"] else "FAIL", len(urls), leader, summarize_counts(st.get("counts", {})),
        "converged" if ok else "NOT converged", st.get("seq"), st.get("entries", 0), waited,
        len(res["problems"]), res["timings"]["total_s"])
    res["history"] = [o.to_dict() for o in h.snapshot()]
    return res


def main(argv=None):
    ap = argparse.ArgumentParser(
        description="Check a blackboard cluster for consistency: concurrent adds from every node, "
                    "concurrent modifies/deletes from different nodes, convergence, identical boards, "
                    "no lost or duplicated acknowledged write. Exit 0 = consistent.",
        epilog="examples:\n"
               "  %(prog)s --nodes http://127.0.0.1:8001,http://127.0.0.1:8002,http://127.0.0.1:8003\n"
               "  %(prog)s --nodes 10.1.0.1,10.1.0.2,10.1.0.3,10.1.0.4,10.1.0.5 --writes 50 --json\n"
               "  %(prog)s --local 5      (same as --nodes http://127.0.0.1:8001..8005)",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--nodes", help="comma-separated node URLs (http://HOST[:PORT]); 'http://' may be omitted")
    ap.add_argument("--local", type=int, metavar="N", help="use http://127.0.0.1:8001..800N (blackboard cluster)")
    ap.add_argument("--writes", type=int, default=20, help="adds per node (default 20)")
    ap.add_argument("--threads", type=int, default=1, help="writer threads per node (default 1)")
    ap.add_argument("--mods", type=int, default=None,
                    help="entries to modify/delete concurrently from two other nodes (default max(4, writes); 0 = skip)")
    ap.add_argument("--converge-timeout", type=float, default=30.0, help="seconds to wait for identical boards (30)")
    ap.add_argument("--leader-timeout", type=float, default=10.0, help="seconds to wait for a leader (10)")
    ap.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT, help="per-request HTTP timeout (10)")
    ap.add_argument("--max-time", type=float, default=300.0, help="upper bound for the write phases (300)")
    ap.add_argument("--run", help="run id used in the marker texts (default random)")
    ap.add_argument("--json", action="store_true", help="print one JSON object instead of the summary line")
    ap.add_argument("--history", action="store_true", help="with --json: include every request made")
    ap.add_argument("-q", "--quiet", action="store_true", help="no progress on stderr")
    a = ap.parse_args(argv)
    if a.local:
        urls = ["http://127.0.0.1:%d" % (8000 + i) for i in range(1, a.local + 1)]
    elif a.nodes:
        urls = [norm_url(u) for u in a.nodes.split(",") if u.strip()]
    else:
        ap.error("give --nodes or --local")
    if a.writes < 0 or a.threads < 1:
        ap.error("--writes >= 0 and --threads >= 1")
    res = run_check(urls, a.writes, a.threads, a.mods, a.converge_timeout, a.leader_timeout, a.timeout,
                    a.max_time, a.run, a.quiet)
    if a.json:
        if not a.history:
            res.pop("history", None)
        print(json.dumps(res, indent=None, sort_keys=True))
    else:
        for p in res["problems"][:30]:
            print("problem: %s" % p)
        for i in res["info"][:10]:
            print("note: %s" % i)
        print(res["summary"])
    return 0 if res["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
