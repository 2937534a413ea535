#!/usr/bin/env python3
"""Breaks each named safety rule of the core, one at a time, and checks that
the fast tests (unit tests, the fault sweep and the scenario stories) fail.

A rule that can be broken without a failing test is a rule nothing checks.
The breaks are found by their code: when the code moves, this script says so
and fails, so that it is re-pointed rather than silently skipped.

    python3 scripts/safety-breaks.py            # every break
    python3 scripts/safety-breaks.py fence      # one, by name

It works on a copy of the tree (never on your files) and keeps its build in
target/safety-breaks, so a second run rebuilds only what each break touches.
"""
import os
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# (name, what the rule guarantees, file, the code, the code with the rule broken)
BREAKS = [
    ("epoch-rule", "only an entry of the leader's own epoch commits by counting (Raft's figure 8)",
     "src/core/replication.rs",
     "if n <= self.commit || self.log.tag_at(n) != Some(l.epoch) {",
     "if n <= self.commit {"),
    ("fence", "a rebooted member follows only a leader at or past its fence",
     "src/core/recovery.rs",
     "Some(fence) if epoch >= fence => true,",
     "Some(_) => true,"),
    ("recovering-acks", "a recovering member's ack never counts toward a commit",
     "src/core/replication.rs",
     ".filter(|p| !p.recovering && p.acked_at.is_some())",
     ".filter(|p| p.acked_at.is_some())"),
    ("majority", "a commit needs a majority",
     "src/core/replication.rs",
     "let n = matched[majority - 1];",
     "let n = matched[0];"),
    ("read-confirmation", "a read waits for a heartbeat round sent after it arrived",
     "src/core/reads.rs",
     "round: self.reads.round + 1,",
     "round: self.reads.round,"),
    ("dedup", "a retransmitted request applies once",
     "src/board.rs",
     "if session.contains(request.number) {\n            return Outcome::Duplicate;\n        }",
     ""),
]

TESTS = ["cargo", "test", "-q", "--no-fail-fast", "--lib", "--test", "sweep", "--test", "scenarios"]


def run_tests(tree, env):
    r = subprocess.run(TESTS, cwd=tree, env=env, capture_output=True, text=True)
    out = r.stdout + r.stderr
    failed = sorted({line.split()[0] for line in out.splitlines()
                     if line.strip().endswith("FAILED") and not line.startswith("test result")}
                    | {line.split("'")[1] for line in out.splitlines()
                       if line.startswith("thread '") and "panicked" in line})
    return r.returncode == 0, failed, out


def main():
    wanted = sys.argv[1:]
    unknown = [w for w in wanted if w not in {b[0] for b in BREAKS}]
    if unknown:
        sys.exit(f"unknown break(s) {unknown}; known: {[b[0] for b in BREAKS]}")
    # The project's own target folder: the dependencies `cargo test` built
    # are reused, and only the copied crate is built again. Its binary gets
    # another name, so that it never takes the place of the real one.
    env = dict(os.environ, CARGO_TARGET_DIR=os.path.join(ROOT, "target"))
    with tempfile.TemporaryDirectory(prefix="bb-breaks-") as tmp:
        tree = os.path.join(tmp, "tree")
        shutil.copytree(ROOT, tree, ignore=shutil.ignore_patterns("target", ".git", "fuzz", "node_modules"))
        manifest = os.path.join(tree, "Cargo.toml")
        text = open(manifest).read()
        bin_entry = '[[bin]]\nname = "blackboard"\n'
        if text.count(bin_entry) != 1:
            sys.exit("Cargo.toml: the [[bin]] entry moved; re-point scripts/safety-breaks.py")
        open(manifest, "w").write(text.replace(bin_entry, '[[bin]]\nname = "blackboard-breaks"\n'))
        ok, failed, out = run_tests(tree, env)
        if not ok:
            print(out[-3000:])
            sys.exit("the unbroken tests fail: nothing to compare against")
        survived, moved = [], []
        for name, rule, path, code, broken in BREAKS:
            if wanted and name not in wanted:
                continue
            file = os.path.join(tree, path)
            source = open(file).read()
            if source.count(code) != 1:
                moved.append(name)
                print(f"{name}: MOVED (the code for '{rule}' is not in {path} once)")
                continue
            open(file, "w").write(source.replace(code, broken, 1))
            try:
                ok, failed, _ = run_tests(tree, env)
            finally:
                open(file, "w").write(source)
            if ok:
                survived.append(name)
                print(f"{name}: SURVIVED: '{rule}' broken, every test passes")
            else:
                print(f"{name}: caught by {', '.join(failed) or 'a failing build'}")
        total = len(wanted or BREAKS)
        print(f"safety breaks: {total - len(survived) - len(moved)} of {total} caught")
        if survived or moved:
            sys.exit(1)


if __name__ == "__main__":
    main()
