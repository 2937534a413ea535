#!/usr/bin/env python3
"""Plots for the evaluation: SVG charts of the figures report.txt quotes.

    python3 scripts/plots.py DIR [--bench BENCH.json] [--bin target/release/blackboard]

Runs `blackboard sim --report` (deterministic) and draws, into DIR:
  elections.svg   datagrams per election against n: start-up, re-election, its bully part,
                  each measured (points) beside its formula (line);
  steady.svg      datagrams per write and per read against n, measured and formula;
  idle.svg        datagrams per second of failure detection, idle, against n;
  snapshot.svg    datagrams to give a rebooted member a board of b entries.
With --bench (the output of `blackboard bench --json`), also bench-latency.svg and bench-failover.svg.
No dependencies beyond Python 3; the SVGs open in any browser.
"""
import json
import os
import re
import subprocess
import sys

W, H, PAD = 640, 400, 60
COLOURS = ["#2b6f77", "#c0392b", "#b9770e", "#6c3483", "#1e8449"]


def run_report(binary):
    out = subprocess.run([binary, "sim", "--report"], check=True, capture_output=True, text=True).stdout
    blocks = [b.strip("\n").split("\n") for b in out.strip().split("\n\n")]
    if len(blocks) != 3:
        sys.exit(f"plots.py: expected 3 tables from `sim --report`, got {len(blocks)}")
    return blocks


def numbers(cell):
    """'22/28/28 [28]' -> ([22, 28, 28], 28.0); '4.0 [4]' -> ([4.0], 4.0); '0.24' -> ([0.24], None)."""
    formula = re.search(r"\[([\d.]+)\]", cell)
    measured = [float(x) for x in re.sub(r"\[.*?\]", "", cell).strip().split("/") if x]
    return measured, float(formula.group(1)) if formula else None


def cells(line):
    # Columns are separated by two or more spaces.
    return [c for c in re.split(r"\s{2,}", line.strip()) if c]


def chart(path, title, xlabel, ylabel, series):
    """series: [(name, [(x, y)], style)] with style 'points' or 'line'."""
    xs = [x for _, pts, _ in series for x, _ in pts]
    ys = [y for _, pts, _ in series for _, y in pts]
    x0, x1 = min(xs), max(xs)
    # A round top: 1, 2 or 5 times a power of ten, over the largest value.
    top = max(ys) or 1
    scale = 10 ** (len(str(int(top))) - 1)
    y1 = next(m * scale for m in (1, 2, 5, 10) if m * scale >= top)
    sx = lambda x: PAD + (x - x0) / ((x1 - x0) or 1) * (W - 2 * PAD)
    sy = lambda y: H - PAD - y / y1 * (H - 2 * PAD)
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" font-family="sans-serif" font-size="12">',
           f'<rect width="{W}" height="{H}" fill="white"/>',
           f'<text x="{W / 2}" y="22" text-anchor="middle" font-size="15">{title}</text>',
           f'<line x1="{PAD}" y1="{H - PAD}" x2="{W - PAD}" y2="{H - PAD}" stroke="black"/>',
           f'<line x1="{PAD}" y1="{PAD}" x2="{PAD}" y2="{H - PAD}" stroke="black"/>',
           f'<text x="{W / 2}" y="{H - 18}" text-anchor="middle">{xlabel}</text>',
           f'<text x="16" y="{H / 2}" text-anchor="middle" transform="rotate(-90 16 {H / 2})">{ylabel}</text>']
    for x in sorted(set(xs)):
        out.append(f'<text x="{sx(x):.1f}" y="{H - PAD + 16}" text-anchor="middle">{x:g}</text>')
    for i in range(5):
        y = y1 * i / 4
        out.append(f'<text x="{PAD - 6}" y="{sy(y) + 4:.1f}" text-anchor="end">{y:.4g}</text>')
        out.append(f'<line x1="{PAD}" y1="{sy(y):.1f}" x2="{W - PAD}" y2="{sy(y):.1f}" stroke="#ddd"/>')
    colours = {}
    for i, (name, pts, style) in enumerate(series):
        # A measure and its formula share a colour.
        colour = colours.setdefault(name.split(",")[0], COLOURS[len(colours) % len(COLOURS)])
        if style == "line":
            d = " ".join(f"{sx(x):.1f},{sy(y):.1f}" for x, y in pts)
            out.append(f'<polyline points="{d}" fill="none" stroke="{colour}" stroke-dasharray="5,3"/>')
        else:
            for x, y in pts:
                out.append(f'<circle cx="{sx(x):.1f}" cy="{sy(y):.1f}" r="4" fill="{colour}"/>')
        ly = PAD + 16 * i
        mark = (f'<line x1="{PAD + 10}" y1="{ly - 4}" x2="{PAD + 28}" y2="{ly - 4}" stroke="{colour}" stroke-dasharray="5,3"/>'
                if style == "line" else f'<circle cx="{PAD + 19}" cy="{ly - 4}" r="4" fill="{colour}"/>')
        out.append(mark + f'<text x="{PAD + 34}" y="{ly}">{name}</text>')
    out.append("</svg>")
    with open(path, "w") as f:
        f.write("\n".join(out) + "\n")


def measured_and_formula(rows, column, label):
    """Points of the measured median (or value) and the formula's line, for one column."""
    median = [(n, numbers(r[column])[0][len(numbers(r[column])[0]) // 2]) for n, r in rows]
    formula = [(n, numbers(r[column])[1]) for n, r in rows if numbers(r[column])[1] is not None]
    series = [(f"{label}, measured", median, "points")]
    if formula:
        series.append((f"{label}, formula", formula, "line"))
    return series


def main():
    args = sys.argv[1:]
    if not args or args[0].startswith("-"):
        sys.exit(__doc__)
    out_dir = args[0]
    opts = dict(zip(args[1::2], args[2::2]))
    binary = opts.get("--bin", os.path.join(os.path.dirname(__file__), "..", "target", "release", "blackboard"))
    os.makedirs(out_dir, exist_ok=True)
    elections, steady, snapshot = run_report(binary)

    rows = [(int(cells(l)[0]), cells(l)) for l in elections[2:]]
    series = []
    for column, label in [(1, "start-up"), (2, "re-election"), (3, "bully part")]:
        series += measured_and_formula(rows, column, label)
    chart(os.path.join(out_dir, "elections.svg"), "Datagrams per election (median of 20 seeds)", "n (members)",
          "datagrams", series)

    rows = [(int(cells(l)[0]), cells(l)) for l in steady[2:]]
    series = []
    for column, label in [(2, "write at the leader"), (3, "write at a follower"), (6, "read at a follower")]:
        series += measured_and_formula(rows, column, label)
    series.append(("write under load (batched)", [(n, numbers(r[4])[0][0]) for n, r in rows], "points"))
    chart(os.path.join(out_dir, "steady.svg"), "Datagrams per write and per read", "n (members)", "datagrams", series)
    chart(os.path.join(out_dir, "idle.svg"), "Failure detection: datagrams per second, idle", "n (members)",
          "datagrams per second", measured_and_formula(rows, 1, "heartbeats and acks"))

    points = [(float(cells(l)[0]), float(cells(l)[2])) for l in snapshot[2:] if re.match(r"\s*\d", l)]
    formula = [(float(cells(l)[0]), float(cells(l)[3])) for l in snapshot[2:] if re.match(r"\s*\d", l)]
    chart(os.path.join(out_dir, "snapshot.svg"), "A rebooted member's snapshot: datagrams against board size",
          "b (entries of 40 bytes)", "datagrams", [("measured", points, "points"), ("c + c/8", formula, "line")])

    written = ["elections.svg", "steady.svg", "idle.svg", "snapshot.svg"]
    if "--bench" in opts:
        with open(opts["--bench"]) as f:
            results = {k: float(v) for k, v in json.load(f).get("results", {}).items()}
        # Two scales: request latencies (under a few ms), and failover and election times.
        for name, title, keep in [
            ("bench-latency.svg", "bench: request latency (ms)", lambda k: "latency" in k),
            ("bench-failover.svg", "bench: failover and election (ms)", lambda k: "failover" in k or "election" in k),
        ]:
            picked = [(k, v) for k, v in results.items() if k.endswith(" ms") and keep(k)]
            if picked:
                chart(os.path.join(out_dir, name), title, "figure (see legend)", "ms",
                      [(f"{i + 1}: {k}", [(i + 1, v)], "points") for i, (k, v) in enumerate(picked)])
                written.append(name)
    print(f"plots.py: wrote {', '.join(written)} to {out_dir}")


if __name__ == "__main__":
    main()
