#!/usr/bin/env python3
"""Count test cases across meson tests and print the closing line
"N passed, N failed". Takes one or more meson testlog.json files (the
sanitised build and the valgrind build) and sums them; a missing log counts as
one failure. Criterion executables report their own case counts
("Synthesis: Tested: T | Passing: P | Failing: F | Crashing: C"); any other
test counts as one case. Exit 1 when anything failed or no test ran."""
import json
import re
import sys

SYN = re.compile(r"Synthesis: Tested: (\d+) \| Passing: (\d+) \| Failing: (\d+) \| Crashing: (\d+)")


def count(path):
    passed = failed = 0
    with open(path) as f:
        for line in f:
            t = json.loads(line)
            ok = t.get("result") in ("OK", "EXPECTEDFAIL", "SKIP")
            m = SYN.search((t.get("stdout") or "") + (t.get("stderr") or ""))
            if m:
                tested, passing, failing, crashing = map(int, m.groups())
                passed += passing
                failed += failing + crashing
                if not ok and failing + crashing == 0:
                    failed += 1  # the executable itself failed (e.g. sanitizer at exit)
            elif t.get("result") != "SKIP":
                passed += ok
                failed += not ok
    return passed, failed


def main(paths):
    if not paths:
        sys.exit("usage: count_tests.py TESTLOG.json...")
    passed = failed = 0
    for path in paths:
        try:
            p, f = count(path)
        except OSError as e:
            print(f"count_tests: {path}: {e.strerror}: counted as one failure", file=sys.stderr)
            p, f = 0, 1
        passed += p
        failed += f
    print(f"{passed} passed, {failed} failed")
    sys.exit(0 if failed == 0 and passed > 0 else 1)


if __name__ == "__main__":
    main(sys.argv[1:])
