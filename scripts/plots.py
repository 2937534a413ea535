#!/usr/bin/env python3
"""Plots for the evaluation, drawn with matplotlib (Debian: apt install python3-matplotlib).

    python3 scripts/plots.py DIR [--bench BENCH.json] [--bin target/release/blackboard]

From `blackboard sim --report` (deterministic), into DIR:
  elections.png   datagrams per election against n: the re-election (median, min to max) beside
                  6(n-2), the classic bully round's (n-2)(n+3), and the start-up beside 10(n-1);
  load.png        datagrams per write against load: one write at a time and 500 at once, by n;
  snapshot.png    datagrams to give a rebooted member a board of b entries.
From BENCH.json (`blackboard bench --json`), with --bench:
  latency.png     commit latency distribution at the leader and at a follower (quantiles);
  failover.png    the failover timeline: kill -9, suspicion, new leader, first write acknowledged.
"""
import json
import os
import re
import subprocess
import sys

try:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
except ImportError:
    # Debian's package lives with Debian's interpreter; another python3 may be first on PATH.
    debian = "/usr/bin/python3"
    if os.path.exists(debian) and os.path.realpath(sys.executable) != os.path.realpath(debian) \
            and not os.environ.get("PLOTS_REEXEC"):
        os.environ["PLOTS_REEXEC"] = "1"
        os.execv(debian, [debian] + sys.argv)
    sys.exit("plots.py: needs matplotlib (apt install python3-matplotlib)")


def run_report(binary):
    out = subprocess.run([binary, "sim", "--report"], check=True, capture_output=True, text=True).stdout
    blocks = [b.strip("\n").split("\n") for b in out.strip().split("\n\n")]
    if len(blocks) != 3:
        sys.exit(f"plots.py: expected 3 tables from `sim --report`, got {len(blocks)}")
    return blocks


def cells(line):
    # Columns are separated by two or more spaces.
    return [c for c in re.split(r"\s{2,}", line.strip()) if c]


def measured(cell):
    """'22/24/24 [22]' -> [22.0, 24.0, 24.0]; '4.0 [4]' -> [4.0]."""
    return [float(x) for x in re.sub(r"\[.*?\]", "", cell).strip().split("/") if x]


def rows(table):
    return [cells(line) for line in table if re.match(r"\s*\d", line)]


def finish(fig, ax, xlabel, ylabel, title, out_dir, name, written):
    """Labels, legend and grid (minor lines too on log axes), then saves the chart."""
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.legend(fontsize=8)
    ax.grid(True, which="both", alpha=0.3)
    save(fig, out_dir, name, written)


def save(fig, out_dir, name, written):
    fig.tight_layout()
    fig.savefig(os.path.join(out_dir, name), dpi=110)
    plt.close(fig)
    written.append(name)


def elections(table, out_dir, written):
    data = rows(table)
    n = [int(r[0]) for r in data]
    re_election = [measured(r[2]) for r in data]
    start_up = [measured(r[1]) for r in data]
    fig, ax = plt.subplots(figsize=(7, 4.5))
    med = [m[1] for m in re_election]
    err = [[m[1] - m[0] for m in re_election], [m[2] - m[1] for m in re_election]]
    ax.errorbar(n, med, yerr=err, fmt="o", color="#2b6f77", capsize=3, label="re-election, measured (min-median-max)")
    ax.plot(n, [6 * (k - 2) for k in n], "--", color="#2b6f77", label="6(n-2)")
    ax.plot(n, [m[1] for m in start_up], "s", color="#b9770e", label="start-up, measured (median)")
    ax.plot(n, [10 * (k - 1) for k in n], ":", color="#b9770e", label="10(n-1)")
    ax.plot(n, [(k - 2) * (k + 3) for k in n], "-", color="#c0392b", alpha=0.6,
            label="classic bully round + takeover, (n-2)(n+3)")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xticks(n)
    ax.set_xticklabels([str(k) for k in n])
    finish(fig, ax, "n (members)", "datagrams per election", "Election cost: the leader dies, or all boot at once (simulator, 20 seeds)", out_dir, "elections.png", written)


def load(table, out_dir, written):
    data = rows(table)
    n = [int(r[0]) for r in data]
    fig, ax = plt.subplots(figsize=(7, 4.5))
    ax.plot(n, [measured(r[2])[0] for r in data], "o-", label="one write at a time, at the leader")
    ax.plot(n, [measured(r[3])[0] for r in data], "^-", label="one write at a time, at a follower")
    ax.plot(n, [measured(r[4])[0] for r in data], "s-", label="500 writes at once (batched)")
    ax.plot(n, [2 * (k - 1) for k in n], "--", color="grey", label="2(n-1)")
    finish(fig, ax, "n (members)", "datagrams per write", "Datagrams per write against load (simulator)", out_dir, "load.png", written)


def snapshot(table, out_dir, written):
    data = rows(table)
    b = [int(r[0]) for r in data]
    fig, ax = plt.subplots(figsize=(7, 4.5))
    ax.plot(b, [int(r[2]) for r in data], "o", label="measured")
    ax.plot(b, [int(r[3]) for r in data], "--", label="c + c/8, c = ceil(bytes/1376)")
    finish(fig, ax, "b (entries of 40 bytes on the board)", "datagrams", "A rebooted member's snapshot (simulator, n = 3)", out_dir, "snapshot.png", written)


def latency(results, out_dir, written):
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for label in ["commit latency at the leader", "commit latency at a follower"]:
        points = sorted((float(m.group(1)), v) for k, v in results.items()
                        if (m := re.fullmatch(re.escape(label) + r" quantile ([\d.]+) ms", k)))
        if not points:
            sys.exit(f"plots.py: the bench JSON has no quantiles of {label!r} (an older blackboard?)")
        if points:
            ax.plot([v for _, v in points], [q * 100 for q, _ in points], "o-", label=label.replace("commit latency ", ""))
    ax.set_xscale("log")
    finish(fig, ax, "commit latency (ms)", "share of writes at or below (%)", "Commit latency, sequential writes (blackboard bench)", out_dir, "latency.png", written)


def failover(results, out_dir, written):
    detection = results.get("failover detection ms")
    elected = results.get("failover election ms")
    total = results.get("failover median ms")
    if None in (detection, elected, total):
        return
    fig, ax = plt.subplots(figsize=(7, 3))
    spans = [(0, detection, "no leader heard (failure timeout)", "#c0392b"),
             (detection, max(elected - detection, 0.5), "election and takeover", "#b9770e"),
             (elected, max(total - elected, 0.5), "first write committed", "#2b6f77")]
    for start, width, label, colour in spans:
        ax.barh(0, width, left=start, color=colour, label=label)
    marks = [(0, "kill -9"), (detection, "suspicion"), (elected, "new leader"), (total, "write acked")]
    for i, (at, text) in enumerate(marks):
        ax.axvline(at, color="black", linewidth=0.8)
        # Alternate heights: the last marks are often a few ms apart.
        ax.text(at, 0.45 + 0.45 * (i % 2), f"{text} {at:.0f} ms", ha="center", va="bottom", fontsize=8)
    ax.set_ylim(-0.5, 1.4)
    ax.set_yticks([])
    ax.set_xlabel("ms after the leader was killed (median of the runs)")
    ax.set_title("Failover timeline (blackboard bench)")
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.35), ncol=3, frameon=False)
    save(fig, out_dir, "failover.png", written)


def main():
    args = sys.argv[1:]
    if not args or args[0].startswith("-"):
        sys.exit(__doc__)
    out_dir = args[0]
    opts = dict(zip(args[1::2], args[2::2]))
    binary = opts.get("--bin", os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "target", "release",
                                            "blackboard"))
    os.makedirs(out_dir, exist_ok=True)
    written = []
    election_table, steady_table, snapshot_table = run_report(binary)
    elections(election_table, out_dir, written)
    load(steady_table, out_dir, written)
    snapshot(snapshot_table, out_dir, written)
    if "--bench" in opts:
        with open(opts["--bench"]) as f:
            results = {k: float(v) for k, v in json.load(f).get("results", {}).items()}
        latency(results, out_dir, written)
        failover(results, out_dir, written)
    print(f"plots.py: wrote {', '.join(written)} to {out_dir}")


if __name__ == "__main__":
    main()
