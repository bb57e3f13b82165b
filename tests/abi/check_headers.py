#!/usr/bin/env python3
"""ABI test: every public header compiles alone, twice included, as C11 and
as C++20 with warnings as errors; includes only <stddef.h>, <stdint.h>,
<stdbool.h>; and the *_INIT macros work from C++. A C++ program that takes
the address of every exported function links against libsushi.so (extern "C").

usage: check_headers.py --cc CMD --cxx CMD --src DIR --build DIR --lib LIB
                        [--ldflags FLAGS] [--nm NM]
CMD/FLAGS are single strings split on blanks.
"""
import argparse
import os
import shlex
import subprocess
import sys
import tempfile

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sushi_headers  # noqa: E402

C_FLAGS = ["-std=c11", "-Wall", "-Wextra", "-Wpedantic", "-Werror", "-Wstrict-prototypes",
           "-Wmissing-prototypes", "-Wshadow", "-Wconversion"]
CXX_FLAGS = ["-std=c++20", "-Wall", "-Wextra", "-Wpedantic", "-Werror", "-Wshadow", "-Wold-style-cast"]

INIT_TU = """#include <sushi/sushi.h>
int sushi_init_macros(void);
int sushi_init_macros(void)
{
    sushi_allocator a = SUSHI_ALLOCATOR_INIT;
    sushi_load_options lo = SUSHI_LOAD_OPTIONS_INIT;
    sushi_save_options so = SUSHI_SAVE_OPTIONS_INIT;
    sushi_supernet_info si = SUSHI_SUPERNET_INFO_INIT;
    sushi_unit_info ui = SUSHI_UNIT_INFO_INIT;
    sushi_config c = SUSHI_CONFIG_INIT;
    sushi_subnet_stats st = SUSHI_SUBNET_STATS_INIT;
    sushi_layer_info li = SUSHI_LAYER_INFO_INIT;
    sushi_candidate_info ci = SUSHI_CANDIDATE_INFO_INIT;
    sushi_cost co = SUSHI_COST_INIT;
    sushi_run_args ra = SUSHI_RUN_ARGS_INIT;
    return (a.size + lo.size + so.size + si.size + ui.size + c.size + st.size + li.size + ci.size + co.size +
            ra.size) != 0;
}
"""


def run(cmd, what, errors):
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        errors.append("%s:\n  %s\n%s" % (what, " ".join(cmd), (r.stdout + r.stderr).rstrip()))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cc", required=True)
    ap.add_argument("--cxx", default="")
    ap.add_argument("--src", required=True)
    ap.add_argument("--build", required=True)
    ap.add_argument("--lib", required=True)
    ap.add_argument("--ldflags", default="")
    ap.add_argument("--nm", default="nm")
    a = ap.parse_args()
    cc, cxx = shlex.split(a.cc), shlex.split(a.cxx)
    if not cxx:
        print("no C++ compiler: skipped")
        return 77
    inc = ["-I" + os.path.dirname(a.build), "-I" + os.path.dirname(a.src)]
    headers = sushi_headers.public_headers(a.src, a.build)
    errors = []

    for h, p in headers.items():
        sys_inc, _ = sushi_headers.includes(p)
        for s in sys_inc:
            if s not in sushi_headers.ALLOWED_SYSTEM_INCLUDES:
                errors.append("%s includes <%s>: public headers may include only %s"
                              % (h, s, ", ".join(sorted(sushi_headers.ALLOWED_SYSTEM_INCLUDES))))

    with tempfile.TemporaryDirectory() as tmp:
        for h in headers:
            body = '#include <sushi/%s>\n#include <sushi/%s>\nextern int sushi_header_tu;\n' % (h, h)
            for lang, comp, flags, ext in (("C", cc, C_FLAGS, "c"), ("C++", cxx, CXX_FLAGS, "cpp")):
                tu = os.path.join(tmp, "%s.%s" % (h.replace(".", "_"), ext))
                with open(tu, "w") as f:
                    f.write(body)
                run(comp + flags + inc + ["-fsyntax-only", tu], "%s alone as %s" % (h, lang), errors)
        # g++ 12 -Wextra warns "missing initializer" for designated initializers
        # that name only .size (C does not); reported, not an error of the headers.
        cxx_init = CXX_FLAGS + ["-Wno-missing-field-initializers"]
        for lang, comp, flags, ext in (("C", cc, C_FLAGS, "c"), ("C++", cxx, cxx_init, "cpp")):
            tu = os.path.join(tmp, "init." + ext)
            with open(tu, "w") as f:
                f.write(INIT_TU)
            run(comp + flags + inc + ["-fsyntax-only", tu], "*_INIT macros as %s" % lang, errors)

        # C++ linkage of every exported declaration
        out = subprocess.run([a.nm, "-D", "--defined-only", a.lib], check=True, capture_output=True,
                             text=True).stdout
        exported = {l.split()[-1].split("@")[0] for l in out.splitlines() if len(l.split()) >= 2}
        names, incs = [], []
        for h, p in headers.items():
            fns = [n for n in sushi_headers.api_functions(p) if n in exported]
            if fns:
                incs.append(h)
                names += fns
        tu = os.path.join(tmp, "link.cpp")
        with open(tu, "w") as f:
            f.write("".join("#include <sushi/%s>\n" % h for h in incs))
            f.write("#include <cstdio>\nint main() {\n")
            for n in names:
                f.write('    std::printf("%%p\\n", reinterpret_cast<void *>(&%s));\n' % n)
            f.write("    return 0;\n}\n")
        libdir = os.path.dirname(os.path.abspath(a.lib))
        run(cxx + ["-std=c++20"] + inc + [tu, "-o", os.path.join(tmp, "link"), a.lib,
                                          "-Wl,-rpath," + libdir] + shlex.split(a.ldflags),
            "C++ program using every exported function links (extern \"C\")", errors)

    print("%d public headers checked as C11 and C++20; %d functions linked from C++" % (len(headers), len(names)))
    if errors:
        print("\n".join("FAIL: " + e for e in errors))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
