#!/usr/bin/env python3
"""Count test cases across meson tests and print the closing line
"N passed, N failed". Criterion executables report their own case counts
("Synthesis: Tested: T | Passing: P | Failing: F | Crashing: C"); any other
test counts as one case. Exit 1 when anything failed or no test ran."""
import json
import re
import sys

SYN = re.compile(r"Synthesis: Tested: (\d+) \| Passing: (\d+) \| Failing: (\d+) \| Crashing: (\d+)")
passed = failed = 0
with open(sys.argv[1]) as f:
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
print(f"{passed} passed, {failed} failed")
sys.exit(0 if failed == 0 and passed > 0 else 1)
