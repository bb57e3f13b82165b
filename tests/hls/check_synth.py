#!/usr/bin/env python3
"""Synthesizable-subset check of the HLS kernel (docs/hls.md).

usage: check_synth.py KERNEL_DIR CC

1. compiles every .c in KERNEL_DIR alone (-Werror=vla, -fcallgraph-info) and
   checks with nm that the object has no allocation symbols;
2. builds the call graph from gcc's callgraph info and rejects cycles
   (recursion) and indirect calls (function pointers);
3. scans the source for function-pointer declarators and for loops lacking a
   LOOP_TRIPCOUNT pragma.
"""
import os
import re
import subprocess
import sys
import tempfile

ALLOC = {"malloc", "free", "calloc", "realloc", "aligned_alloc", "posix_memalign", "alloca"}


def fail(msg):
    print("FAIL:", msg)
    sys.exit(1)


def main():
    kdir, cc = os.path.abspath(sys.argv[1]), sys.argv[2]
    srcs = [f for f in sorted(os.listdir(kdir)) if f.endswith(".c")]
    if not srcs:
        fail("no kernel sources in " + kdir)
    with tempfile.TemporaryDirectory() as tmp:
        for f in srcs:
            obj = os.path.join(tmp, f[:-2] + ".o")
            cmd = [cc, "-std=c11", "-O1", "-Werror=vla", "-Wall", "-c", os.path.join(kdir, f), "-o", obj]
            cg = cmd + ["-fcallgraph-info"]
            r = subprocess.run(cg, cwd=tmp, capture_output=True, text=True)
            have_ci = r.returncode == 0
            if not have_ci:
                r = subprocess.run(cmd, cwd=tmp, capture_output=True, text=True)
            if r.returncode != 0:
                fail("compile %s:\n%s" % (f, r.stderr))
            nm = subprocess.run(["nm", obj], capture_output=True, text=True, check=True).stdout
            undef = {ln.split()[-1] for ln in nm.splitlines() if " U " in ln}
            bad = undef & ALLOC
            if bad:
                fail("%s references allocation symbols %s" % (f, sorted(bad)))
            print("%s: external symbols %s" % (f, sorted(undef)))
            ci = os.path.join(tmp, f[:-2] + ".ci")
            if have_ci and os.path.exists(ci):
                text = open(ci).read()
                edges = re.findall(r'edge:\s*\{\s*sourcename:\s*"([^"]+)"\s*targetname:\s*"([^"]+)"', text)
                if "__indirect_call" in text:
                    fail("%s: indirect call (function pointer)" % f)
                graph = {}
                for a, b in edges:
                    a = a.split(":")[-1]
                    b = b.split(":")[-1]
                    graph.setdefault(a, set()).add(b)
                # cycle detection (iterative DFS)
                color = {}
                for root in graph:
                    if color.get(root):
                        continue
                    stack = [(root, iter(graph.get(root, ())))]
                    color[root] = 1
                    while stack:
                        node, it = stack[-1]
                        nxt = next(it, None)
                        if nxt is None:
                            color[node] = 2
                            stack.pop()
                        elif color.get(nxt) == 1:
                            fail("%s: recursion through %s -> %s" % (f, node, nxt))
                        elif not color.get(nxt):
                            color[nxt] = 1
                            stack.append((nxt, iter(graph.get(nxt, ()))))
                print("%s: call graph of %d edges, acyclic, no indirect calls" % (f, len(edges)))
            else:
                print("%s: compiler has no -fcallgraph-info; source scan only" % f)
            src = open(os.path.join(kdir, f)).read()
            code = re.sub(r"/\*.*?\*/", "", src, flags=re.S)
            code = re.sub(r"//[^\n]*", "", code)
            if re.search(r"\(\s*\*\s*\w+\s*\)\s*\(", code):
                fail("%s: function pointer declarator" % f)
            # every for loop carries a LOOP_TRIPCOUNT or an UNROLL of a constant bound
            lines = code.splitlines()
            for i, ln in enumerate(lines):
                if re.match(r"\s*for\s*\(", ln):
                    window = "\n".join(lines[i + 1:i + 3])
                    if "LOOP_TRIPCOUNT" not in window and "UNROLL" not in window:
                        bound = re.search(r";\s*\w+\s*<\s*([A-Z_0-9]+|\d+)\s*;", ln)
                        if not bound:
                            fail("%s:%d: loop without LOOP_TRIPCOUNT: %s" % (f, i + 1, ln.strip()))
    print("kernel stays in the synthesizable subset")


if __name__ == "__main__":
    main()
