#!/usr/bin/env python3
"""Drop-in for the course's server/server.py: the course's Mininet start script runs

    python3 server/server.py --id I --servers 10.1.0.1,10.1.0.2,...

on every host. This file takes the same arguments and becomes the blackboard node
(it execs the binary, so the pid the start script holds is the node's own, and a
kill reaches the node itself):

    blackboard node --id I --servers 10.1.0.1,10.1.0.2,...

HTTP on this host's own address, port 80; UDP port 7000. Any further arguments
(--log-level debug, --timeout-ms 500, ...) go to the node unchanged.

The binary is, in this order: $BLACKBOARD, `blackboard` beside this file, the
repository's target/release/blackboard (when this file sits in scripts/), then
`blackboard` on PATH.
"""
import argparse
import os
import shutil
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def find_binary():
    tried = []
    explicit = os.environ.get("BLACKBOARD")
    if explicit:
        if os.access(explicit, os.X_OK) and os.path.isfile(explicit):
            return explicit, tried
        tried.append("$BLACKBOARD=%s (not an executable file)" % explicit)
    for candidate in (os.path.join(HERE, "blackboard"),
                      os.path.join(HERE, "..", "target", "release", "blackboard")):
        if os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return os.path.normpath(candidate), tried
        tried.append(os.path.normpath(candidate))
    on_path = shutil.which("blackboard")
    if on_path:
        return on_path, tried
    tried.append("blackboard on PATH")
    return None, tried


def main():
    ap = argparse.ArgumentParser(
        description="Start one blackboard node the way the course's start script starts server.py.")
    ap.add_argument("--id", required=True, type=int, help="this node's id: its place in --servers, from 1")
    ap.add_argument("--servers", required=True, help="every node's address, comma-separated, in id order")
    args, extra = ap.parse_known_args()
    binary, tried = find_binary()
    if binary is None:
        sys.exit("server.py: no blackboard binary found; tried: %s.\n"
                 "Build it (cargo build --release), then set BLACKBOARD=/path/to/blackboard "
                 "or copy the binary next to this file." % "; ".join(tried))
    argv = [binary, "node", "--id", str(args.id), "--servers", args.servers] + extra
    sys.stderr.write("server.py: exec %s\n" % " ".join(argv))
    sys.stderr.flush()
    try:
        os.execv(binary, argv)
    except OSError as e:
        sys.exit("server.py: cannot run %s: %s" % (binary, e))


if __name__ == "__main__":
    main()
