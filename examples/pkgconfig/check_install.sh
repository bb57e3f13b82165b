#!/bin/sh
# Install libsushi from a build directory into a temporary root, then build
# examples/inspect.c against it with nothing but `pkg-config --cflags --libs
# sushi`, run it, and check it ran on the installed library.
#
#   check_install.sh BUILD_DIR SOURCE_DIR [EXTRA_CFLAGS...]
#
# EXTRA_CFLAGS: e.g. -fsanitize=address,undefined when the library was built
# with sanitizers (its runtime must then come first in the program).
# SUSHI_RUN_WRAPPER: optional command prefix for running the program, e.g.
# "valgrind --error-exitcode=99 ..." (tests/valgrind); its exit status counts.
set -eu
build=$1
src=$2
shift 2
cc=${CC:-cc}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM

# Library, headers and sushi.pc only (install tags), into $tmp/<prefix>.
meson install -C "$build" --no-rebuild --quiet --destdir "$tmp" --tags runtime,devel >"$tmp/install.log" 2>&1 ||
    { cat "$tmp/install.log"; exit 1; }

pc=$(find "$tmp" -name sushi.pc | head -n 1)
[ -n "$pc" ] || { echo "no sushi.pc installed"; exit 1; }
# The .pc file names the final prefix; the sysroot maps it into $tmp.
PKG_CONFIG_PATH=$(dirname "$pc")
PKG_CONFIG_SYSROOT_DIR=$tmp
export PKG_CONFIG_PATH PKG_CONFIG_SYSROOT_DIR
cflags=$(pkg-config --cflags sushi)
libs=$(pkg-config --libs sushi)
echo "pkg-config --cflags --libs sushi: $cflags $libs"
echo "pkg-config --modversion sushi: $(pkg-config --modversion sushi)"
case "$cflags" in *"$tmp"*) ;; *) echo "cflags do not point into the install root"; exit 1 ;; esac

# shellcheck disable=SC2086  # flags are word lists
"$cc" -std=c11 -Wall -Wextra -Werror "$@" "$src/examples/inspect.c" $cflags $libs -o "$tmp/inspect"

libdir=$(dirname "$(find "$tmp" -name 'libsushi.so.*' | head -n 1)")
LD_LIBRARY_PATH=$libdir
export LD_LIBRARY_PATH
ldd "$tmp/inspect" | grep libsushi
ldd "$tmp/inspect" | grep -q "libsushi.so.* => $libdir/" ||
    { echo "inspect is not linked against the installed libsushi"; exit 1; }
status=0
# shellcheck disable=SC2086  # the wrapper is a word list
${SUSHI_RUN_WRAPPER:-} "$tmp/inspect" ofa-mbv3-w1.0 max@224 >"$tmp/out.txt" || status=$?
cat "$tmp/out.txt"
[ "$status" -eq 0 ] || { echo "exit status $status (99 under valgrind: it found errors)"; exit 1; }
grep -q '^SuperNet ofa-mbv3-w1.0 ' "$tmp/out.txt"
grep -q '^SubNet max@224: {"ks":\[7,7' "$tmp/out.txt"
echo "installed-library build: OK"
