#!/usr/bin/env python3
"""Catch the commonest drift between the docs and the `sushi` CLI.

1. Every `--flag` in a `## \\`sushi CMD\\`` section of docs/cli.md exists in
   `sushi CMD --help` (or in `sushi --help`, for the global options).
2. Every `sushi CMD ...` quoted in README.md, docs/*.md and models/README.md
   (code blocks and inline code) names a command of `sushi --help`, and every
   `--flag` it uses exists in that command's --help.
3. The quoted commands that are cheap and need no placeholder (read-only
   commands on built-ins or files of the repository) run and exit 0.

A new command passes as soon as its --help lists the flags its section
documents. Usage: doc_drift.py SUSHI_BINARY SRCDIR.
"""
import glob
import os
import re
import shlex
import subprocess
import sys

SUSHI, SRC = sys.argv[1], sys.argv[2]
failures = []


def fail(msg):
    failures.append(msg)
    print("FAIL:", msg)


def run(args, timeout=600):
    return subprocess.run([SUSHI, *args], capture_output=True, text=True, timeout=timeout, cwd=SRC)


main_help = run(["--help"]).stdout
commands = re.findall(r"^  ([a-z][a-z0-9-]*)\s", main_help, re.M)
if not commands:
    print("FAIL: no commands in sushi --help")
    sys.exit(1)
helps = {}


def help_of(cmd):
    if cmd not in helps:
        r = run([cmd, "--help"])
        helps[cmd] = r.stdout if r.returncode == 0 else ""
        if r.returncode != 0:
            fail(f"sushi {cmd} --help exits {r.returncode}")
    return helps[cmd]


FLAG = re.compile(r"(?<![\w-])(--[a-z][a-z0-9-]*)")


def flag_known(cmd, flag):
    if flag in ("--help", "--version"):
        return True
    return re.search(re.escape(flag) + r"(?![a-z0-9-])", help_of(cmd) + main_help) is not None


# ---------- 1. docs/cli.md, section by section ----------
cli_md = open(os.path.join(SRC, "docs", "cli.md"), encoding="utf-8").read()
sections = re.split(r"^## ", cli_md, flags=re.M)
n_flags = 0
for sec in sections:
    m = re.match(r"`sushi ([a-z][a-z0-9-]*)`", sec)
    if not m:
        continue
    cmd = m.group(1)
    if cmd not in commands:
        fail(f"docs/cli.md documents `sushi {cmd}`, which `sushi --help` does not list")
        continue
    # a paragraph may quote other commands (`sushi run --int8` in the section
    # of calibrate): a flag is documented right when the section's command or
    # a command quoted in the same paragraph has it
    for para in re.split(r"\n\s*\n", sec):
        others = [c for c in re.findall(r"\bsushi ([a-z][a-z0-9-]*)", para) if c in commands]
        for flag in FLAG.findall(para):
            n_flags += 1
            if not any(flag_known(c, flag) for c in [cmd] + others):
                fail(f"docs/cli.md, `sushi {cmd}`: {flag} is not in `sushi {cmd} --help`")

# ---------- 2. commands quoted anywhere in the docs ----------
docs = [os.path.join(SRC, "README.md"), os.path.join(SRC, "models", "README.md")]
docs += sorted(glob.glob(os.path.join(SRC, "docs", "*.md")))
quoted = []  # (file, line number, command text)
for path in docs:
    if not os.path.exists(path):
        continue
    in_block = False
    for i, line in enumerate(open(path, encoding="utf-8"), 1):
        if line.lstrip().startswith("```"):
            in_block = not in_block
            continue
        spans = [line] if in_block else re.findall(r"`([^`]+)`", line)
        for s in spans:
            for m in re.finditer(r"(?:^|[\s$/(])sushi ((?:[a-z][a-z0-9-]*)(?:[^|#&;]*))", s):
                quoted.append((os.path.relpath(path, SRC), i, "sushi " + m.group(1).strip().rstrip("\\").strip()))

n_cmds = 0
for path, lineno, text in quoted:
    words = text.split()
    cmd = words[1]
    if cmd == "help":
        continue
    if cmd not in commands:
        fail(f"{path}:{lineno}: `{text}` names no command of `sushi --help`")
        continue
    n_cmds += 1
    for flag in FLAG.findall(text):
        if not flag_known(cmd, flag):
            fail(f"{path}:{lineno}: `{text}`: {flag} is not in `sushi {cmd} --help`")

# ---------- 3. cheap quoted commands run ----------
CHEAP = {"info", "subnets", "subnet", "subgraph", "cost", "zoo"}
ran = set()
for path, lineno, text in quoted:
    try:
        argv = shlex.split(text)[1:]
    except ValueError:
        continue
    if not argv or argv[0] not in CHEAP or tuple(argv) in ran:
        continue
    if argv[0] == "zoo" and "--list" not in argv:
        continue  # writes a file
    # placeholders (FILE, CFG, [--opt], A|B, ...) and shell syntax: not runnable as is
    if any(re.search(r"[A-Z]{2,}|[\[\]<>{}$]|\.\.\.|\|", a) for a in argv[1:]):
        continue
    files = [a for a in argv[1:] if not a.startswith("-") and ("." in a or a.startswith("builtin:"))]
    if not files and argv[0] != "zoo":
        continue  # a mention (`sushi info --units`), not a command line
    if any(a.startswith("builtin:ofa-resnet50") for a in files):
        continue  # 50 M weights: not cheap under the sanitizers
    if any(not a.startswith("builtin:") and not os.path.exists(os.path.join(SRC, a)) for a in files):
        continue  # a file the reader makes first (r50.sushi of `sushi zoo ... -o r50.sushi`)
    ran.add(tuple(argv))
    r = run(argv)
    if r.returncode != 0:
        fail(f"{path}:{lineno}: `{text}` exits {r.returncode}: {r.stderr.strip()}")

# ---------- 4. repository paths quoted in the docs exist ----------
REPO_PATH = re.compile(r"`((?:lib|include|backends|tools|tests|docs|models|scripts|bindings|examples|bench)"
                       r"/[A-Za-z0-9_./-]+)`")
n_paths = 0
for path in docs:
    if not os.path.exists(path):
        continue
    for i, line in enumerate(open(path, encoding="utf-8"), 1):
        for m in REPO_PATH.finditer(line):
            rel = m.group(1).rstrip(".")
            n_paths += 1
            full = os.path.join(SRC, rel)
            if os.path.exists(full) or any(os.path.exists(full + ext) for ext in (".c", ".py", ".sh")):
                continue
            # a program the build makes: executable('NAME', ...) in that directory's meson.build
            mb = os.path.join(os.path.dirname(full), "meson.build")
            if os.path.exists(mb) and re.search(r"executable\(\s*'" + re.escape(os.path.basename(rel)) + "'",
                                                open(mb, encoding="utf-8").read()):
                continue
            fail(f"{os.path.relpath(path, SRC)}:{i}: `{rel}` does not exist")

# ---------- 5. models/README.md states the shipped model's candidate count ----------
model = os.path.join(SRC, "models", "fmnist-mbv3.sushi")
readme = os.path.join(SRC, "models", "README.md")
if os.path.exists(model) and os.path.exists(readme):
    import json
    info = json.loads(run(["info", model, "--json"]).stdout)
    for i, line in enumerate(open(readme, encoding="utf-8"), 1):
        for m in re.finditer(r"(\d+) candidate SubNets", line):
            if int(m.group(1)) != info["candidates"]:
                fail(f"models/README.md:{i}: says {m.group(1)} candidate SubNets, the file has {info['candidates']}")

print(f"{n_paths} repository paths quoted in the docs exist")
print(f"{n_flags} flags of docs/cli.md, {n_cmds} quoted commands checked against --help; "
      f"{len(ran)} cheap quoted commands run")
if failures:
    print(f"{len(failures)} failure(s)")
    sys.exit(1)
