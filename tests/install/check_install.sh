#!/bin/sh
# What a user gets from `meson install` (docs/install.md), checked as a user
# would use it: configure this source tree with --prefix=$tmp/p (a fresh
# build dir, no tests), install, then with an empty environment:
#   1. $P/bin/sushi runs (RUNPATH $ORIGIN/../<libdir>, no LD_LIBRARY_PATH) and
#      reads the shipped model from $P/share/sushi/;
#   2. headers + sushi.pc: examples/inspect.c built with
#      `pkg-config --cflags --libs sushi` against the shared library;
#   3. the same example linked statically against libsushi.a with
#      `pkg-config --static --libs sushi` (Requires.private/Libs.private):
#      the program has no libsushi.so dependency and runs;
#   4. the man page is installed and matches `sushi --help` (gen_man.py --check);
#   5. the system python imports the installed package with only the
#      prefix's site directory on PYTHONPATH and loads $P's libsushi.
#
#   check_install.sh SOURCE_DIR [WORK_DIR]
set -eu
src=$(cd "$1" && pwd)
tmp=${2:-}
if [ -z "$tmp" ]; then
    tmp=$(mktemp -d)
    trap 'rm -rf "$tmp"' EXIT INT TERM
fi
mkdir -p "$tmp"
P=$tmp/p
B=$tmp/b
fail() { echo "FAIL: $*"; exit 1; }
ok() { echo "ok: $*"; }

# A user build: no sanitizers, no tests (what scripts/demo builds too).
env -u CFLAGS -u LDFLAGS meson setup "$B" "$src" --prefix="$P" --buildtype=release -Dtests=false \
    -Ddocs=disabled >"$tmp/setup.log" 2>&1 || { cat "$tmp/setup.log"; fail "meson setup"; }
meson install -C "$B" --quiet >"$tmp/install.log" 2>&1 || { tail -n 40 "$tmp/install.log"; fail "meson install"; }

libdir=$(dirname "$(find "$P" -name 'libsushi.so.0' | head -n 1)")
[ -d "$libdir" ] || fail "no libsushi.so.0 under $P"
[ -f "$libdir/libsushi.a" ] || fail "no static libsushi.a in $libdir"
ok "shared and static libraries in ${libdir#"$P"/}"
for h in sushi.h supernet.h version.h export.h; do
    [ -f "$P/include/sushi/$h" ] || fail "header sushi/$h not installed"
done
ok "headers in include/sushi"

# 1. the tool, from an empty environment
model=$P/share/sushi/fmnist-mbv3.sushi
[ -f "$model" ] || fail "shipped model not in share/sushi"
readelf -d "$P/bin/sushi" | grep -E 'RUNPATH|RPATH' || fail "bin/sushi has no RUNPATH"
env -i "$P/bin/sushi" info "$model" >"$tmp/info.txt" 2>&1 || { cat "$tmp/info.txt"; fail "sushi info with an empty environment"; }
head -n 3 "$tmp/info.txt"
env -i "$P/bin/sushi" run "$model" --config max --json >"$tmp/run.json" 2>&1 || { cat "$tmp/run.json"; fail "sushi run"; }
ok "bin/sushi info/run on share/sushi/fmnist-mbv3.sushi with no environment"

# 2. shared link through pkg-config
PKG_CONFIG_PATH=$libdir/pkgconfig
export PKG_CONFIG_PATH
cc=${CC:-cc}
# shellcheck disable=SC2046  # pkg-config output is a word list
"$cc" -std=c11 -Wall -Wextra -Werror "$src/examples/inspect.c" $(pkg-config --cflags --libs sushi) \
    -Wl,-rpath,"$libdir" -o "$tmp/inspect-shared"
"$tmp/inspect-shared" ofa-mbv3-w1.0 max@224 >"$tmp/out-shared.txt"
grep -q '^SuperNet ofa-mbv3-w1.0 ' "$tmp/out-shared.txt" || fail "inspect (shared) output"
ldd "$tmp/inspect-shared" | grep -q "libsushi.so.0 => $libdir/" || fail "inspect not linked to the installed libsushi.so"
ok "examples/inspect.c linked with pkg-config --libs sushi (shared)"

# 3. static link of libsushi through the private section of sushi.pc
echo "pkg-config --static --libs sushi: $(pkg-config --static --libs sushi)"
# shellcheck disable=SC2046
"$cc" -std=c11 -Wall -Wextra -Werror "$src/examples/inspect.c" $(pkg-config --cflags sushi) \
    -Wl,-Bstatic -lsushi -Wl,-Bdynamic $(pkg-config --static --libs sushi | sed 's/-lsushi//') -o "$tmp/inspect-static"
if ldd "$tmp/inspect-static" | grep -q libsushi; then fail "static inspect still needs libsushi.so"; fi
env -i "$tmp/inspect-static" ofa-mbv3-w1.0 max@224 >"$tmp/out-static.txt"
cmp "$tmp/out-shared.txt" "$tmp/out-static.txt" || fail "static and shared inspect differ"
ok "examples/inspect.c linked statically against libsushi.a (same output, no libsushi.so needed)"

# 4. man page
man1=$P/share/man/man1/sushi.1
[ -f "$man1" ] || fail "man page not installed"
/usr/bin/python3 "$src/docs/man/gen_man.py" --check "$P/bin/sushi" "$man1" || fail "man page out of date"
ok "share/man/man1/sushi.1 matches sushi --help"

# 5. the Python package, system python, only the prefix on PYTHONPATH
pydir=$P/lib/python3/dist-packages
[ -f "$pydir/sushi/__init__.py" ] && [ -f "$pydir/sushi/_config.py" ] || fail "python package not installed in $pydir"
env -i PYTHONPATH="$pydir" /usr/bin/python3 -c '
import sys, sushi
from sushi import _ffi
print("python: sushi", sushi.version(), "from", _ffi.lib._name)
sys.exit(0 if _ffi.lib._name.startswith(sys.argv[1]) else 1)
' "$P/" || fail "import sushi did not load the installed library"
env -i PYTHONPATH="$pydir" /usr/bin/python3 -c '
import sys, sushi
with sushi.SuperNet.builtin("ofa-resnet50") as sn:
    s = sn.subnet("min@160")
    print("python: ofa-resnet50 min@160 macs", s.stats["macs"])
' || fail "python binding on the installed library"
env -i PYTHONPATH="$pydir" /usr/bin/python3 -c '
import sushi.builder, sushi.writer
print("python: sushi.builder", sushi.builder.hidden_width(40, 3), "from", sushi.builder.__file__)
' || fail "sushi.builder / sushi.writer not installed with the package"
ok "python3 imports the installed package and its library with PYTHONPATH only"
echo "install check: OK"
