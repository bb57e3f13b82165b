#!/usr/bin/python3
"""Run every command of docs/bring-your-own.md (meson suite `byo`).

The guide's ```python blocks that start with `# file: NAME` are written to NAME in a
temporary directory; its ```sh blocks are concatenated, in order, into one bash script
run there with `set -euo pipefail` (so any failing command fails the test), with `sushi`
(the built CLI) and `python3` (/usr/bin/python3; see needs_library for the sanitizer
preload) first on PATH and SUSHI_SRC set to the source tree. Nothing is mirrored by hand: a command that is in the guide is run, and only
those. Exit 77 (meson's skip) when /usr/bin/python3 cannot import torch.

    SUSHI_CLI=build/tools/cli/sushi SUSHI_LIBRARY=build/libsushi.so \\
        /usr/bin/python3 tests/byo/run_guide.py [--keep DIR]
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.dirname(os.path.dirname(HERE))
GUIDE = os.path.join(SRC, "docs", "bring-your-own.md")
PY = "/usr/bin/python3"


def blocks(text):
    """[(lang, body)] of the fenced blocks, in order."""
    return [(m.group(1), m.group(2)) for m in re.finditer(r"^```(\w*)\n(.*?)^```", text, re.M | re.S)]


def needs_library(files):
    """Names of the guide's scripts that load libsushi: they import `sushi`, directly or
    through another file of the guide. Only those get the sanitizer runtime preload a
    sanitized build needs (LD_PRELOAD): PyTorch training under ASan's allocator is some
    40 times slower, and a script that never loads libsushi gains nothing from it."""
    imports = {n: set(re.findall(r"^\s*(?:from|import)\s+([\w.]+)", b, re.M)) for n, b in files.items()}
    local = {n[:-3]: n for n in files if n.endswith(".py")}
    need, changed = {n for n, mods in imports.items() if any(m.split(".")[0] == "sushi" for m in mods)}, True
    while changed:
        changed = False
        for n, mods in imports.items():
            if n not in need and any(local.get(m.split(".")[0]) in need for m in mods):
                need.add(n)
                changed = True
    return sorted(need)


def main():
    env = dict(os.environ)
    probe = subprocess.run([PY, "-c", "import torch, numpy"], env=env, capture_output=True, text=True)
    if probe.returncode != 0:
        print("skipped: %s cannot import torch/numpy (python3-torch): %s"
              % (PY, probe.stderr.strip().splitlines()[-1:] or ""))
        return 77
    cli = env.get("SUSHI_CLI") or os.path.join(SRC, "build", "tools", "cli", "sushi")
    if not os.access(cli, os.X_OK):
        print("SUSHI_CLI %s is not an executable" % cli)
        return 1
    if not os.path.isdir("/usr/share/datasets/fashion-mnist"):
        print("skipped: /usr/share/datasets/fashion-mnist missing (dataset-fashion-mnist)")
        return 77
    with open(GUIDE, encoding="utf-8") as f:
        bl = blocks(f.read())
    files, script = {}, []
    for lang, body in bl:
        first = body.split("\n", 1)[0]
        m = re.match(r"^# file: (\S+)$", first)
        if lang == "python" and m:
            files[m.group(1)] = body
        elif lang == "sh":
            script.append(body)
        elif lang == "python":
            print("a python block without '# file: NAME' in the guide: give it a name so it is run")
            return 1
    if not files or not script:
        print("no files or no commands found in %s" % GUIDE)
        return 1
    keep = sys.argv[sys.argv.index("--keep") + 1] if "--keep" in sys.argv else None
    work = keep or tempfile.mkdtemp(prefix="sushi-byo-")
    os.makedirs(work, exist_ok=True)
    try:
        bindir = os.path.join(work, ".bin")
        os.makedirs(bindir, exist_ok=True)
        link = os.path.join(bindir, "sushi")
        if os.path.lexists(link):
            os.unlink(link)
        os.symlink(os.path.abspath(cli), link)
        with open(os.path.join(bindir, "python3"), "w") as f:
            f.write("#!/bin/bash\n# scripts that never load libsushi run without the sanitizer preload\n"
                    "case \" %s \" in *\" $(basename \"${1:-}\") \"*) ;; *) unset LD_PRELOAD ;; esac\n"
                    "exec %s \"$@\"\n" % (" ".join(needs_library(files)), PY))
        os.chmod(os.path.join(bindir, "python3"), 0o755)
        for name, body in files.items():
            with open(os.path.join(work, name), "w", encoding="utf-8") as f:
                f.write(body)
        env["PATH"] = bindir + os.pathsep + env.get("PATH", "")
        env["SUSHI_SRC"] = SRC
        env["OMP_NUM_THREADS"] = "1"
        env.setdefault("OPENBLAS_NUM_THREADS", "1")
        env["PYTHONDONTWRITEBYTECODE"] = "1"
        body = "set -euo pipefail\nPS4='+ [${SECONDS}s] '\nset -x\n" + "\n".join(script)
        print("running %d commands of %s in %s" % (
            sum(1 for s in script for L in s.splitlines() if L.strip() and not L.startswith("#")), GUIDE, work),
            flush=True)
        rc = subprocess.run(["bash", "-c", body], cwd=work, env=env).returncode
        if rc != 0:
            print("FAILED: a command of the guide exited %d (see the trace above)" % rc)
            return 1
        print("every command of docs/bring-your-own.md ran")
        return 0
    finally:
        if not keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
