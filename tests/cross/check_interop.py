#!/usr/bin/env python3
"""Byte-order interop between a native (x86-64) build and a cross build run
under qemu (aarch64, s390x): SuperNet files written on one host load
bit-identically on the other. Called by scripts/cross-test; writes one
meson-style testlog entry per case (--log) so scripts/count_tests.py counts
them. Cases:

  zoo-f32-bytes         `sushi zoo ofa-mbv3-w1.0 --weights f32 -o` on the target
                        writes the same bytes as on x86-64
  zoo-seed-bytes        same for ofa-resnet50 in seed mode
  zoo-f32-runs-native   x86-64 `sushi run --json` on the target-written file
                        gives the same logits (bit for bit) as on its own file
  edited-file-native    a file the target wrote after an edit (`sushi eval
                        --limit 4 -o` of models/fmnist-mbv3.sushi: new measured
                        accuracies): on x86-64 its weights, BN statistics and
                        int8 ranges digest as the original's (and as on the
                        target), and `sushi run --json` gives the original's logits
  native-file-target    x86-64-written files (the shipped model, the native zoo
                        file) digest on the target as on x86-64, and the target
                        re-saves them byte for byte as x86-64 does
  int8-logits           `sushi run --int8 --json` on the shipped model: integer
                        path, same logits on the target as on x86-64
"""
import argparse
import ast
import configparser
import filecmp
import json
import os
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MODEL = os.path.join(ROOT, "models", "fmnist-mbv3.sushi")


class _Path(str):
    """A meson machine-file string: `/` joins paths, `+` concatenates."""
    def __truediv__(self, other):
        return _Path(os.path.join(self, other))

    def __add__(self, other):
        return _Path(str.__add__(self, other))


class _Strs(ast.NodeTransformer):
    def visit_Constant(self, node):
        if isinstance(node.value, str):
            return ast.Call(func=ast.Name(id="_Path", ctx=ast.Load()), args=[node], keywords=[])
        return node


def wrapper_of(build):
    """The exe_wrapper of the build's cross files (meson applies it when it
    runs tests; introspection does not show it). Evaluates the machine files
    in order, [constants] first, as meson does."""
    cmd = configparser.ConfigParser()
    cmd.read(os.path.join(build, "meson-private", "cmd_line.txt"))
    files = ast.literal_eval(cmd["properties"]["cross_file"])
    scope = {"_Path": _Path}
    wrapper = None
    for f in files:
        cp = configparser.ConfigParser(interpolation=None)
        cp.optionxform = str
        cp.read(f)
        for section in ("constants", "binaries"):
            if not cp.has_section(section):
                continue
            for key, text in cp[section].items():
                tree = ast.fix_missing_locations(_Strs().visit(ast.parse(text.strip(), mode="eval")))
                value = eval(compile(tree, f, "eval"), {"__builtins__": {}}, scope)  # noqa: S307
                if section == "constants":
                    scope[key] = value
                elif key == "exe_wrapper":
                    wrapper = [str(x) for x in (value if isinstance(value, list) else [value])]
    if not wrapper:
        raise SystemExit("check_interop: no exe_wrapper in " + ", ".join(files))
    return wrapper


class Case:
    def __init__(self, name):
        self.name, self.out, self.ok = name, [], True

    def check(self, cond, what):
        self.out.append(("ok   " if cond else "FAIL ") + what)
        self.ok = self.ok and bool(cond)


def sh(cmd, **kw):
    p = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if p.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)}: exit {p.returncode}\n{p.stderr[-2000:]}")
    return p.stdout


def logits(cmd):
    return json.loads(sh(cmd))["output"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--arch", required=True)
    ap.add_argument("--native", required=True)
    ap.add_argument("--cross", required=True)
    ap.add_argument("--log", required=True)
    a = ap.parse_args()
    wrap = wrapper_of(a.cross)
    env_note = {"OPENBLAS_NUM_THREADS": "1"}
    os.environ.update(env_note)
    nat = os.path.join(a.native, "tools", "cli", "sushi")
    nprobe = os.path.join(a.native, "tests", "cross", "endian_probe")
    tgt = wrap + [os.path.join(a.cross, "tools", "cli", "sushi")]
    tprobe = wrap + [os.path.join(a.cross, "tests", "cross", "endian_probe")]
    cases = []
    with tempfile.TemporaryDirectory() as d:
        p = lambda n: os.path.join(d, n)  # noqa: E731

        def case(name, fn):
            c = Case(name)
            t0 = time.time()
            try:
                fn(c)
            except Exception as e:  # a failing command fails the case
                c.check(False, str(e))
            c.duration = time.time() - t0
            cases.append(c)

        def zoo_f32(c):
            sh(tgt + ["zoo", "ofa-mbv3-w1.0", "--weights", "f32", "-o", p("t-mbv3.sushi")])
            sh([nat, "zoo", "ofa-mbv3-w1.0", "--weights", "f32", "-o", p("x-mbv3.sushi")])
            c.check(filecmp.cmp(p("t-mbv3.sushi"), p("x-mbv3.sushi"), shallow=False),
                    f"{a.arch} and x86-64 `sushi zoo --weights f32` files are identical "
                    f"({os.path.getsize(p('x-mbv3.sushi'))} bytes)")

        def zoo_seed(c):
            sh(tgt + ["zoo", "ofa-resnet50", "-o", p("t-r50.sushi")])
            sh([nat, "zoo", "ofa-resnet50", "-o", p("x-r50.sushi")])
            c.check(filecmp.cmp(p("t-r50.sushi"), p("x-r50.sushi"), shallow=False),
                    f"{a.arch} and x86-64 seed-mode files are identical")

        def zoo_runs(c):
            run = ["run", "--config", "max@128", "--json"]
            lt = logits([nat, run[0], p("t-mbv3.sushi")] + run[1:])
            lx = logits([nat, run[0], p("x-mbv3.sushi")] + run[1:])
            c.check(len(lt) == 1000 and lt == lx,
                    f"x86-64 logits on the {a.arch}-written file == on its own file ({len(lt)} values, bit for bit)")

        def edited(c):
            sh(tgt + ["eval", MODEL, "--dataset", "fashion-mnist", "--limit", "4", "-o", p("t-cal.sushi")])
            orig = sh([nprobe, MODEL]).splitlines()
            on_x86 = sh([nprobe, p("t-cal.sushi")]).splitlines()
            on_tgt = sh(tprobe + [p("t-cal.sushi")]).splitlines()
            c.check(on_x86[0] == orig[0], f"weights digest on x86-64: {on_x86[0]} (original: {orig[0]})")
            c.check(on_x86[1] == orig[1], f"BN statistics digest on x86-64: {on_x86[1]}")
            c.check(on_x86[2] == on_tgt[2] == orig[2] and " values 0 " not in on_x86[2],
                    f"int8 ranges the {a.arch} rewrote digest as the original's on both hosts: {on_x86[2]}")
            run = ["--config", "max", "--json"]
            c.check(logits([nat, "run", p("t-cal.sushi")] + run) == logits([nat, "run", MODEL] + run),
                    f"x86-64 logits on the {a.arch}-edited file == on the original")

        def native_on_target(c):
            for name, f in (("shipped model", MODEL), ("x86-64 zoo file", p("x-mbv3.sushi"))):
                x = sh([nprobe, f, p("x-resave.sushi")])
                t = sh(tprobe + [f, p("t-resave.sushi")])
                c.check(x == t, f"{name}: {a.arch} digests == x86-64 digests ({x.split(chr(10))[0]})")
                c.check(filecmp.cmp(p("x-resave.sushi"), p("t-resave.sushi"), shallow=False),
                        f"{name}: {a.arch} re-save == x86-64 re-save, byte for byte")

        def int8(c):
            run = ["run", MODEL, "--config", "max", "--int8", "--json"]
            lx = logits([nat] + run)
            lt = logits(tgt + run)
            c.check(lx == lt, f"int8 logits on {a.arch} == on x86-64 ({len(lx)} values)")

        case("zoo-f32-bytes", zoo_f32)
        case("zoo-seed-bytes", zoo_seed)
        case("zoo-f32-runs-native", zoo_runs)
        case("edited-file-native", edited)
        case("native-file-target", native_on_target)
        case("int8-logits", int8)
    with open(a.log, "w") as f:
        for c in cases:
            f.write(json.dumps({"name": f"{a.arch}-interop-{c.name}", "result": "OK" if c.ok else "FAIL",
                                "duration": round(c.duration, 2), "stdout": "\n".join(c.out)}) + "\n")
    for c in cases:
        print(f"{'OK  ' if c.ok else 'FAIL'} {a.arch}-interop-{c.name} ({c.duration:.1f} s)")
        for line in c.out:
            print("       " + line)
    return 0 if all(c.ok for c in cases) else 1


if __name__ == "__main__":
    sys.exit(main())
