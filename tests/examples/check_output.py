#!/usr/bin/env python3
"""Run an example program and check its exit status and output.

usage: check_output.py [--exit N] [--expect REGEX]... [--reject REGEX]...
                       [--glob PATTERN] -- PROG [ARGS...]

Each --expect regex must match somewhere in stdout+stderr (re.MULTILINE; use
[\\s\\S] to span lines, backreferences tie numbers together); each --reject
must not. With --glob, the first file matching PATTERN replaces every "@GLOB@"
argument, and the test is skipped (exit 77) when nothing matches: for data that
lands later (the shipped model). Sanitizer reports are always rejected (an expected non-zero exit
must not hide one). The program's output is echoed so a failing test log
shows it.
"""
import argparse
import glob
import re
import subprocess
import sys

SANITIZER = r"ERROR: (AddressSanitizer|LeakSanitizer)|runtime error: "


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--exit", type=int, default=0, help="expected exit status")
    ap.add_argument("--expect", action="append", default=[])
    ap.add_argument("--reject", action="append", default=[])
    ap.add_argument("--glob", help="file pattern substituted for @GLOB@ (skip if no match)")
    ap.add_argument("cmd", nargs=argparse.REMAINDER)
    a = ap.parse_args()
    cmd = a.cmd[1:] if a.cmd and a.cmd[0] == "--" else a.cmd
    if not cmd:
        ap.error("no program given")
    if a.glob:
        found = sorted(glob.glob(a.glob))
        if not found:
            print(f"check_output: nothing matches {a.glob}: skipped")
            sys.exit(77)
        cmd = [found[0] if c == "@GLOB@" else c for c in cmd]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    out = p.stdout + p.stderr
    sys.stdout.write(out)
    bad = []
    if p.returncode != a.exit:
        bad.append(f"exit status {p.returncode}, expected {a.exit}")
    bad += [f"missing: {rx!r}" for rx in a.expect if not re.search(rx, out, re.M)]
    bad += [f"unexpected: {rx!r}" for rx in a.reject + [SANITIZER] if re.search(rx, out, re.M)]
    for b in bad:
        print("check_output: " + b, file=sys.stderr)
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
