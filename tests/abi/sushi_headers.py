"""Shared helpers of the ABI scripts: parse the public headers of libsushi.

Not a C parser: it relies on the house style of include/sushi/*.h (one
declaration per statement, every exported function marked SUSHI_API)."""
import os
import re

ALLOWED_SYSTEM_INCLUDES = {"stddef.h", "stdint.h", "stdbool.h"}


def strip_comments(text):
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    return re.sub(r"//[^\n]*", " ", text)


def strip_preprocessor(text):
    out, cont = [], False
    for line in text.splitlines():
        is_pp = cont or line.lstrip().startswith("#")
        cont = is_pp and line.rstrip().endswith("\\")
        out.append("" if is_pp else line)
    return "\n".join(out)


def api_functions(path):
    """Names of the functions declared with SUSHI_API in a header."""
    with open(path, encoding="utf-8") as f:
        text = strip_preprocessor(strip_comments(f.read()))
    names = []
    for stmt in text.split(";"):
        if "SUSHI_API" not in stmt:
            continue
        decl = stmt[stmt.index("SUSHI_API"):]
        m = re.search(r"\b([A-Za-z_]\w*)\s*\(", decl)
        if not m:
            raise SystemExit("%s: cannot parse declaration: %s" % (path, " ".join(decl.split())))
        names.append(m.group(1))
    return names


def includes(path):
    """(#include <...> names, #include "..." names) of a header."""
    with open(path, encoding="utf-8") as f:
        text = strip_comments(f.read())
    sys_inc = re.findall(r'^\s*#\s*include\s*<([^>]+)>', text, flags=re.M)
    loc_inc = re.findall(r'^\s*#\s*include\s*"([^"]+)"', text, flags=re.M)
    return sys_inc, loc_inc


def public_headers(src_dir, build_dir=None):
    """{header name: path}: include/sushi/*.h, and *.h.in as generated in build_dir."""
    out = {}
    for name in sorted(os.listdir(src_dir)):
        p = os.path.join(src_dir, name)
        if name.endswith(".h"):
            out[name] = p
        elif name.endswith(".h.in"):
            gen = name[:-3]
            if build_dir and os.path.exists(os.path.join(build_dir, gen)):
                out[gen] = os.path.join(build_dir, gen)
            else:
                out[gen] = p  # SUSHI_API declarations do not depend on the substitutions
    return out


def umbrella_closure(headers, umbrella="sushi.h"):
    """Headers reachable from the umbrella header (the always-built core API)."""
    seen, todo = set(), [umbrella]
    while todo:
        h = todo.pop()
        if h in seen or h not in headers:
            continue
        seen.add(h)
        for inc in includes(headers[h])[1]:
            todo.append(inc.split("/")[-1])
    return seen


def since_versions(path):
    """{function name: "X.Y"} from the `@since X.Y` of the doc comment right before each
    SUSHI_API declaration (None when that comment has no @since)."""
    with open(path, encoding="utf-8") as f:
        text = f.read()
    out = {}
    for m in re.finditer(r"SUSHI_API\b[^;(]*?\b([A-Za-z_]\w*)\s*\(", text):
        before = text[:m.start()]
        end = before.rfind("*/")
        start = before.rfind("/**", 0, end) if end >= 0 else -1
        doc = before[start:end] if start >= 0 and not before[end + 2:].strip() else ""
        vs = re.findall(r"@since\s+(\d+\.\d+)", doc)
        out[m.group(1)] = vs[-1] if vs else None
    return out
