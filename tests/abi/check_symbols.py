#!/usr/bin/env python3
"""ABI test: the dynamic symbols libsushi.so exports are exactly the functions
declared with SUSHI_API in include/sushi/*.h, each in a version node, and the
soname carries the major version; each symbol sits in the version node of the
release its header's `@since` names.

Headers reachable from sushi.h are the core API: all of their functions must
be exported. Other public headers (e.g. cpu.h) belong to optional backends:
their functions are exported all together or not at all (backend not built).

usage: check_symbols.py LIB INCLUDE_SRC_DIR INCLUDE_BUILD_DIR MAJOR [NM] [READELF]
"""
import os
import subprocess
import sys

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sushi_headers  # noqa: E402


def main():
    lib, src_dir, build_dir, major = sys.argv[1:5]
    nm = sys.argv[5] if len(sys.argv) > 5 else "nm"
    readelf = sys.argv[6] if len(sys.argv) > 6 else "readelf"
    errors = []

    headers = sushi_headers.public_headers(src_dir, build_dir)
    core = sushi_headers.umbrella_closure(headers)
    declared = {}  # name -> header
    for h, p in headers.items():
        for name in sushi_headers.api_functions(p):
            if name in declared:
                errors.append("%s declared twice (%s, %s)" % (name, declared[name], h))
            declared[name] = h
            if not name.startswith("sushi_"):
                errors.append("%s (%s): exported names start with sushi_" % (name, h))

    out = subprocess.run([nm, "-D", "--defined-only", lib], check=True, capture_output=True, text=True).stdout
    exported, versions = {}, {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) < 2:
            continue
        typ, sym = parts[-2], parts[-1]
        if typ == "A":  # version definition (SUSHI_0.1)
            continue
        name, _, ver = sym.partition("@")
        exported[name] = typ
        versions[name] = ver.lstrip("@")

    for name, typ in sorted(exported.items()):
        if typ not in "TtWwi":
            errors.append("exported non-function symbol %s (type %s)" % (name, typ))
        if name not in declared:
            errors.append("exported but not declared SUSHI_API in a public header: %s" % name)
        if not versions[name].startswith("SUSHI_"):
            errors.append("exported without a SUSHI_x.y version node: %s" % name)

    # The version node of every exported symbol is the release its header says introduced it
    # (docs/abi.md rule 3: `@since X.Y` <-> SUSHI_X.Y).
    for h, p in headers.items():
        since = sushi_headers.since_versions(p)
        for name in sushi_headers.api_functions(p):
            if since.get(name) is None:
                errors.append("%s (%s): doc comment without @since X.Y" % (name, h))
            elif name in exported and versions[name] != "SUSHI_" + since[name]:
                errors.append("%s is @since %s but exported in node %s" % (name, since[name], versions[name]))

    by_header = {}
    for name, h in declared.items():
        by_header.setdefault(h, []).append(name)
    for h, names in sorted(by_header.items()):
        missing = sorted(n for n in names if n not in exported)
        if h in core:
            for n in missing:
                errors.append("declared SUSHI_API in %s but not exported: %s" % (h, n))
        elif missing and len(missing) != len(names):
            errors.append("optional header %s is exported in part; missing: %s" % (h, ", ".join(missing)))

    dyn = subprocess.run([readelf, "-d", lib], check=True, capture_output=True, text=True).stdout
    want = "libsushi.so.%s" % major
    sonames = [l.split("[", 1)[1].rstrip("]") for l in dyn.splitlines() if "(SONAME)" in l]
    if sonames != [want]:
        errors.append("soname %s, expected %s" % (sonames, want))

    core_n = sum(1 for n, h in declared.items() if h in core)
    print("%d symbols exported, %d SUSHI_API declarations (%d core), soname %s"
          % (len(exported), len(declared), core_n, sonames))
    if errors:
        print("\n".join("FAIL: " + e for e in errors))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
