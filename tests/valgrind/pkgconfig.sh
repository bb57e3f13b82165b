#!/bin/sh
# The examples/pkgconfig check under valgrind: install libsushi from a build
# directory into a temporary root, build examples/inspect.c against it with
# `pkg-config --cflags --libs sushi` only, and run it (same arguments and
# checks as examples/pkgconfig/check_install.sh) under the given valgrind
# command.
#
#   pkgconfig.sh BUILD_DIR SOURCE_DIR VALGRIND [VALGRIND_ARGS...]
set -eu
build=$1
src=$2
shift 2
cc=${CC:-cc}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM

meson install -C "$build" --no-rebuild --quiet --destdir "$tmp" --tags runtime,devel >"$tmp/install.log" 2>&1 ||
    { cat "$tmp/install.log"; exit 1; }
pc=$(find "$tmp" -name sushi.pc | head -n 1)
[ -n "$pc" ] || { echo "no sushi.pc installed"; exit 1; }
PKG_CONFIG_PATH=$(dirname "$pc")
PKG_CONFIG_SYSROOT_DIR=$tmp
export PKG_CONFIG_PATH PKG_CONFIG_SYSROOT_DIR
# shellcheck disable=SC2046  # flags are word lists
"$cc" -std=c11 -Wall -Wextra -Werror -g "$src/examples/inspect.c" $(pkg-config --cflags --libs sushi) -o "$tmp/inspect"
LD_LIBRARY_PATH=$(dirname "$(find "$tmp" -name 'libsushi.so.*' | head -n 1)")
export LD_LIBRARY_PATH
ldd "$tmp/inspect" | grep -q "libsushi.so.* => $LD_LIBRARY_PATH/" ||
    { echo "inspect is not linked against the installed libsushi"; exit 1; }
status=0
"$@" "$tmp/inspect" ofa-mbv3-w1.0 max@224 >"$tmp/out.txt" 2>"$tmp/err.txt" || status=$?
cat "$tmp/out.txt" "$tmp/err.txt"
[ "$status" -eq 0 ] || { echo "exit status $status (99: valgrind found errors)"; exit 1; }
grep -q '^SuperNet ofa-mbv3-w1.0 ' "$tmp/out.txt"
grep -q '^SubNet max@224: {"ks":\[7,7' "$tmp/out.txt"
echo "installed-library build under valgrind: clean"
