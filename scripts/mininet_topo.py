#!/usr/bin/python3
"""Mininet topology for blackboard: N hosts h1..hN (10.1.0.i) on one switch s1,
`python3 scripts/server.py --id i --servers 10.1.0.1,...,10.1.0.N` started on every
host as the course's start script starts its server.py (server.py execs
`blackboard node` with those arguments: HTTP on 10.1.0.i:80, UDP 7000).

Interactive (default): starts the network and the nodes, then the Mininet CLI:
    mininet> h1 curl -s 10.1.0.1/status
    mininet> h2 curl -s -d entry=hello 10.1.0.2/board
    mininet> link h3 s1 down          (cut h3 off: the lab's "kill the leader")
    mininet> link h3 s1 up
The host itself reaches every node too (an extra root-namespace port on s1 with
10.1.0.254), e.g. scripts/check_consistency.py --nodes 10.1.0.1,...,10.1.0.N
from another terminal.

Non-interactive: --scenario NAME[,NAME...] (or 'all') runs scenarios from
scenarios.py on this topology and exits 0 (all passed) or 1.

Run as root with /usr/bin/python3 (the Debian mininet package is only visible to
the system Python).  Here (no OVS kernel datapath) use --switch lxbr; on the lab
VM Mininet's defaults (--switch default: OVS + default controller) work as well.
"""

import argparse
import os
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, HERE)

NET = "10.1.0"
ROOT_IP = NET + ".254"

try:
    from mininet.net import Mininet
    from mininet.topo import Topo
    from mininet.link import Link, TCLink
    from mininet.node import Node
    from mininet.cli import CLI
    from mininet.log import setLogLevel, info, warn
except ImportError as e:  # pragma: no cover - depends on the machine
    sys.stderr.write("mininet_topo.py: cannot import mininet (%s).\n"
                     "Install it (apt-get install -y --no-install-recommends mininet bridge-utils) and run with "
                     "/usr/bin/python3.\n" % e)
    if "-h" not in sys.argv and "--help" not in sys.argv:
        sys.exit(2)
    Mininet = Topo = Link = TCLink = Node = CLI = None

    def setLogLevel(_):
        pass

    def info(m):
        sys.stderr.write(m)

    warn = info

try:  # Debian keeps LinuxBridge in mininet.nodelib; some versions had it in mininet.node
    from mininet.nodelib import LinuxBridge
except ImportError:
    try:
        from mininet.node import LinuxBridge
    except ImportError:
        LinuxBridge = None


def find_binary(explicit=None):
    cands = [explicit, os.environ.get("BLACKBOARD"), os.path.join(REPO, "target/release/blackboard"),
             os.path.join(REPO, "target/debug/blackboard")]
    for c in cands:
        if c and os.path.isfile(c) and os.access(c, os.X_OK):
            return os.path.abspath(c)
    return None


def netem_available():
    """True if this kernel has netem (probed in a scratch namespace)."""
    ns = "bbnetem-probe%d" % os.getpid()
    try:
        if subprocess.run(["ip", "netns", "add", ns], capture_output=True).returncode != 0:
            return False
        r = subprocess.run(["ip", "netns", "exec", ns, "tc", "qdisc", "add", "dev", "lo", "root", "netem",
                            "delay", "1ms"], capture_output=True)
        return r.returncode == 0
    finally:
        subprocess.run(["ip", "netns", "del", ns], capture_output=True)


if Topo is not None:
    class BlackboardTopo(Topo):
        """N hosts at 10.1.0.i on one switch."""

        def build(self, n=8, linkopts=None):
            s1 = self.addSwitch("s1")
            for i in range(1, n + 1):
                h = self.addHost("h%d" % i, ip="%s.%d/24" % (NET, i))
                self.addLink(h, s1, **(linkopts or {}))


class MininetCluster:
    """The cluster interface scenarios.py expects, on a running Mininet."""

    name = "mininet"

    def __init__(self, net, n, binary, node_args, logdir):
        self.net, self.n, self.binary, self.node_args, self.logdir = net, n, binary, node_args, logdir
        self.urls = ["http://%s.%d" % (NET, i) for i in range(1, n + 1)]
        self.servers = ",".join("%s.%d" % (NET, i) for i in range(1, n + 1))
        self.procs = {}
        os.makedirs(logdir, exist_ok=True)

    def host(self, i):
        return self.net.get("h%d" % i)

    def log_path(self, i):
        return os.path.join(self.logdir, "node-%d.log" % i)

    def start(self, i, fresh_log=False):
        # The course's way: its start script runs server.py --id I --servers ...
        # on each host; scripts/server.py execs the binary with those arguments.
        cmd = ["python3", os.path.join(HERE, "server.py"), "--id", str(i), "--servers",
               self.servers] + list(self.node_args)
        with open(self.log_path(i), "w" if fresh_log else "a") as f:
            f.write("=== %s start node %d: %s\n" % (time.strftime("%F %T"), i, " ".join(cmd)))
            f.flush()
            p = self.host(i).popen(cmd, stdin=subprocess.DEVNULL, stdout=f, stderr=subprocess.STDOUT,
                                   cwd=self.logdir, env=dict(os.environ, BLACKBOARD=self.binary))
        self.procs[i] = p
        self._write_pids()
        return p

    def _write_pids(self):
        with open(os.path.join(self.logdir, "pids"), "w") as f:
            for i, p in sorted(self.procs.items()):
                if p.poll() is None:
                    f.write("%d %d\n" % (i, p.pid))

    def kill(self, i):
        p = self.procs.pop(i, None)
        if p is not None and p.poll() is None:
            p.kill()  # SIGKILL, like kill -9
            try:
                p.wait(5)
            except subprocess.TimeoutExpired:
                pass
            with open(self.log_path(i), "a") as f:
                f.write("=== %s killed -9 node %d (pid %d)\n" % (time.strftime("%F %T"), i, p.pid))
        self._write_pids()

    def restart(self, i):
        self.kill(i)
        self.start(i)

    def alive(self, i):
        p = self.procs.get(i)
        return p is not None and p.poll() is None

    def cut(self, i):
        self.net.configLinkStatus("h%d" % i, "s1", "down")

    def heal(self, i):
        self.net.configLinkStatus("h%d" % i, "s1", "up")

    def _ipt(self, i, args):
        return self.host(i).cmd("iptables " + args)

    def _loss_one(self, i, pct):
        for a in ("-D INPUT -i h%d-eth0 -p udp -j BBLOSS" % i, "-D OUTPUT -o h%d-eth0 -p udp -j BBLOSS" % i,
                  "-F BBLOSS", "-X BBLOSS"):
            self._ipt(i, a + " 2>/dev/null")
        if float(pct) > 0:
            self._ipt(i, "-N BBLOSS")
            self._ipt(i, "-A BBLOSS -m statistic --mode random --probability %.4f -j DROP" % (float(pct) / 100))
            self._ipt(i, "-A INPUT -i h%d-eth0 -p udp -j BBLOSS" % i)
            self._ipt(i, "-A OUTPUT -o h%d-eth0 -p udp -j BBLOSS" % i)

    def loss(self, target, pct):
        for i in (range(1, self.n + 1) if target == "all" else [int(target)]):
            self._loss_one(i, pct)

    def unpartition(self):
        for i in range(1, self.n + 1):
            for a in ("-D INPUT -j BBPART", "-D OUTPUT -j BBPART", "-F BBPART", "-X BBPART"):
                self._ipt(i, a + " 2>/dev/null")

    def partition(self, ids):
        ids = set(int(x) for x in ids)
        self.unpartition()
        for i in range(1, self.n + 1):
            self._ipt(i, "-N BBPART")
            for j in range(1, self.n + 1):
                if (i in ids) != (j in ids):
                    self._ipt(i, "-A BBPART -s %s.%d -j DROP" % (NET, j))
                    self._ipt(i, "-A BBPART -d %s.%d -j DROP" % (NET, j))
            self._ipt(i, "-A INPUT -j BBPART")
            self._ipt(i, "-A OUTPUT -j BBPART")

    def exec_in(self, i, argv, timeout=20):
        p = self.host(i).popen(list(argv), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE)
        try:
            out, _err = p.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            out, _err = p.communicate()
        return p.returncode, out.decode("utf-8", "replace")

    def stop_all(self):
        for i in list(self.procs):
            self.kill(i)

    def reset(self):
        """Fresh cluster: all nodes killed, links up, no loss/partition, nodes started."""
        self.stop_all()
        for i in range(1, self.n + 1):
            self.heal(i)
            self._loss_one(i, 0)
        self.unpartition()
        for i in range(1, self.n + 1):
            self.start(i, fresh_log=True)
        time.sleep(0.3)
        dead = [i for i in range(1, self.n + 1) if not self.alive(i)]
        if dead:
            tail = open(self.log_path(dead[0])).read()[-800:]
            raise RuntimeError("node(s) %s exited at once; log of %d:\n%s" % (dead, dead[0], tail))

    def close(self):
        self.stop_all()

    def save_logs(self, dest):
        import shutil
        os.makedirs(dest, exist_ok=True)
        for i in range(1, self.n + 1):
            if os.path.exists(self.log_path(i)):
                shutil.copy(self.log_path(i), dest)


def preflight(switch_name):
    problems = []
    out = subprocess.run(["ip", "-o", "addr", "show"], capture_output=True, text=True).stdout
    if (" %s." % NET) in out:
        problems.append("an interface already has an address in %s.0/24 (netns-cluster.sh still up? "
                        "run scripts/netns-cluster.sh down)" % NET)
    links = subprocess.run(["ip", "-o", "link", "show"], capture_output=True, text=True).stdout
    names = [ln.split(": ")[1].split("@")[0] for ln in links.splitlines() if ": " in ln]
    stale = [x for x in names if x == "s1" or x.startswith("s1-eth") or x.startswith("bbroot-")]
    if stale:
        problems.append("stale Mininet interfaces %s: run '%s --cleanup' (or 'mn -c', which also deletes "
                        "/tmp/*.log)" % (stale, sys.argv[0]))
    return problems


def cleanup_leftovers(logdir):
    """Remove what a crashed run of this script may have left: node processes it
    recorded, and its interfaces (s1, s1-eth*, bbroot-eth*)."""
    pidfile = os.path.join(logdir, "pids")
    if os.path.exists(pidfile):
        for line in open(pidfile):
            try:
                _i, pid = line.split()
                pid = int(pid)
                cmdline = open("/proc/%d/cmdline" % pid, "rb").read().decode(errors="replace")
                if "blackboard" in cmdline or " node " in cmdline.replace("\0", " "):
                    os.kill(pid, signal.SIGKILL)
                    print("killed leftover node pid %d" % pid)
            except (ValueError, OSError):
                pass
        os.remove(pidfile)
    links = subprocess.run(["ip", "-o", "link", "show"], capture_output=True, text=True).stdout
    for ln in links.splitlines():
        if ": " not in ln:
            continue
        name = ln.split(": ")[1].split("@")[0]
        if name.startswith("s1-eth") or name.startswith("bbroot-"):
            subprocess.run(["ip", "link", "del", name], capture_output=True)
            print("deleted %s" % name)
    if subprocess.run(["ip", "link", "show", "s1"], capture_output=True).returncode == 0:
        subprocess.run(["ip", "link", "set", "s1", "down"], capture_output=True)
        subprocess.run(["ip", "link", "del", "s1"], capture_output=True)
        print("deleted s1")


def build_net(o):
    linkopts = {}
    if o.delay:
        linkopts["delay"] = o.delay
    if o.loss is not None:
        linkopts["loss"] = o.loss
    if o.bw is not None:
        linkopts["bw"] = o.bw
    if ("delay" in linkopts or "loss" in linkopts) and not netem_available():
        warn("*** WARNING: this kernel has no netem: --delay/--loss are IGNORED here (TCLink cannot apply them).\n"
             "*** Use scenarios.py 'loss' (iptables statistic) for loss on this machine.\n")
    link_cls = TCLink if linkopts else Link
    topo = BlackboardTopo(n=o.hosts, linkopts=linkopts)
    kw = dict(topo=topo, link=link_cls, ipBase="%s.0/24" % NET, autoSetMacs=True, build=False)
    if o.switch == "lxbr":
        if LinuxBridge is None:
            raise SystemExit("LinuxBridge not found in mininet.nodelib or mininet.node")
        kw.update(switch=LinuxBridge, controller=None)
    elif o.switch == "ovsbr":
        from mininet.node import OVSBridge
        kw.update(switch=OVSBridge, controller=None)
    elif o.switch != "default":
        raise SystemExit("unknown --switch %s (lxbr, ovsbr, default)" % o.switch)
    net = Mininet(**kw)
    net.build()
    # A port on s1 for the root namespace, so that scripts on the host reach 10.1.0.i
    # (works with any switch class; this is Mininet's own sshd.py recipe).
    root = Node("bbroot", inNamespace=False)
    intf = net.addLink(root, net.switches[0], cls=Link).intf1
    root.setIP("%s/24" % ROOT_IP, intf=intf)
    return net, root


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--hosts", type=int, default=8, help="number of hosts/nodes (8)")
    ap.add_argument("--switch", default="lxbr",
                    help="lxbr (LinuxBridge, no controller; default, works here), ovsbr (OVS bridge, no "
                         "controller), default (Mininet defaults: OVS switch + default controller)")
    ap.add_argument("--binary", help="blackboard binary (default $BLACKBOARD, target/release, target/debug)")
    ap.add_argument("--node-args", default="", help="extra arguments for every node, e.g. '--log-level debug'")
    ap.add_argument("--delay", help="TCLink delay per link, e.g. 10ms (needs netem: ignored on this kernel)")
    ap.add_argument("--loss", type=float, help="TCLink loss %% per link (needs netem: ignored on this kernel)")
    ap.add_argument("--bw", type=float, help="TCLink bandwidth in Mbit/s per link (htb; works here)")
    ap.add_argument("--logdir", default="/tmp/bb-mininet", help="node logs and pids (default /tmp/bb-mininet)")
    ap.add_argument("--scenario", help="run these scenarios (comma-separated, or 'all') and exit 0/1")
    ap.add_argument("--cleanup", action="store_true", help="remove leftovers of a crashed run and exit")
    ap.add_argument("--no-cli", action="store_true", help="interactive mode without the CLI: start, wait, stop")
    ap.add_argument("--verbose", action="store_true", help="Mininet log level info (default warning)")
    # scenario options (same meaning as in scenarios.py)
    ap.add_argument("--writes", type=int, default=20, help="scenario: adds per node for the checker (20)")
    ap.add_argument("--loss-pct", type=float, default=20.0, help="scenario 'loss': UDP loss percentage (20)")
    ap.add_argument("--detect-limit", type=float, default=5.0, help="scenario: new-leader deadline in s (5)")
    ap.add_argument("--artifacts", default="/tmp/bb-results", help="scenario: copy logs here ('' = off)")
    ap.add_argument("--json", help="scenario: write results as JSON to this file")
    ap.add_argument("--rounds", type=int, default=8, help="scenario chaos: number of faults (8)")
    ap.add_argument("--seed", type=int, default=None, help="scenario chaos: random seed (default time-based)")
    ap.add_argument("--allow-retakeover", action="store_true",
                    help="scenarios cut-leader, minority, split: accept that healed nodes take the leadership back")
    o = ap.parse_args()

    if os.geteuid() != 0:
        ap.error("must run as root")
    if Mininet is None:
        return 2
    if o.cleanup:
        cleanup_leftovers(o.logdir)
        return 0
    if not 1 <= o.hosts <= 200:
        ap.error("--hosts must be 1..200")
    binary = find_binary(o.binary)
    if binary is None:
        ap.error("no blackboard binary: build it (cargo build --release) or pass --binary / set BLACKBOARD")
    probs = preflight(o.switch)
    if probs:
        for p in probs:
            sys.stderr.write("mininet_topo.py: %s\n" % p)
        return 1

    setLogLevel("info" if o.verbose or not o.scenario else "warning")
    net = root = cluster = None

    def on_term(_sig, _frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, on_term)  # also when started as a background job (SIGINT ignored)
    rc = 1
    try:
        net, root = build_net(o)
        net.start()
        cluster = MininetCluster(net, o.hosts, binary, o.node_args.split(), o.logdir)
        if o.scenario:
            import scenarios
            names = scenarios.ALL if o.scenario == "all" else [s for s in o.scenario.split(",") if s]
            bad = [s for s in names if s not in scenarios.SCENARIOS]
            if bad:
                ap.error("unknown scenario(s) %s; known: %s" % (bad, ", ".join(scenarios.ALL)))
            o.loss = o.loss_pct
            if o.seed is None:
                o.seed = int(time.time()) % 100000
            results = scenarios.run_scenarios(cluster, names, o)
            cluster.close()
            rc = scenarios.finish(results, o.json)
        else:
            import check_consistency as cc
            cluster.reset()
            leader, waited = cc.wait_leader(cluster.urls, timeout=10, agree="majority")
            info("*** %d blackboard nodes on h1..h%d (10.1.0.1..%d), logs in %s\n" % (o.hosts, o.hosts, o.hosts,
                                                                                      o.logdir))
            info("*** leader: %s (after %.2f s)\n" % (leader, waited))
            info("*** try:  h1 curl -s 10.1.0.1/status   |   h2 curl -s -d entry=hi 10.1.0.2/board\n"
                 "***       link h%s s1 down   (cut the leader off)   |   link h%s s1 up\n"
                 "***       from the host: %s/check_consistency.py --nodes %s\n"
                 % (leader or 1, leader or 1, HERE, ",".join(cluster.urls)))
            if o.no_cli:
                time.sleep(1)
            else:
                CLI(net)
            rc = 0
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
    except Exception as e:  # noqa: BLE001 - say what failed, then clean up
        sys.stderr.write("mininet_topo.py: %s: %s\n" % (type(e).__name__, e))
        if o.switch == "default":
            sys.stderr.write("mininet_topo.py: Mininet's defaults need Open vSwitch (kernel datapath) and an "
                             "OpenFlow controller (ovs-testcontroller); without them use --switch lxbr\n")
        rc = 1
    finally:
        if cluster is not None:
            cluster.close()
        if net is not None:
            net.stop()
        if root is not None:
            try:
                root.terminate()
            except Exception:  # noqa: BLE001
                pass
        for name in ("bbroot-eth0",):
            subprocess.run(["ip", "link", "del", name], capture_output=True)
    return rc


if __name__ == "__main__":
    sys.exit(main())
