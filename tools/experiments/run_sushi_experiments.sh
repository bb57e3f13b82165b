#!/usr/bin/env bash
# The SUSHI experiments (docs/reproducing.md): serve generated query streams
# with SushiSched on the cycle model of SushiAccel and compare caching
# policies against the same hardware without SubGraph Stationary ("none").
#
#   tools/experiments/run_sushi_experiments.sh [OUT_DIR]      (default results/sushi)
#
# Environment:
#   SUSHI_CLI   the `sushi` binary (or tests/sched/sched_cli); default: the first
#               build*/tools/cli/sushi that knows `serve`, else build*/tests/sched/sched_cli
#   QUERIES     queries per stream (default 4000)
#   SEED        trace seed (default 1)
#   NETS        SuperNets (default "ofa-resnet50 ofa-mbv3-w1.0"; a models/*.sushi path works too)
#   ACCELS      cycle presets (default "zcu104 u50")
#   POLICIES    (default none,static,sushi,lru,lfu,oracle)
#   PBS         PB sizes in KiB for the PB sweep (default: see below)
#   DWELL_PB_KIB  PB of the second locality sweep of a small SuperNet (see below)
#   OBJECTIVE   cache objective of static / sushi / oracle (serve --objective:
#               time, energy or bytes; default: serve's default, time)
#   PARAMS      cycle-model overrides for every run (serve --param), e.g.
#               call_overhead_us=5; a SENSITIVITY run, not the calibrated
#               preset: recorded in conditions.txt and summary.md
#   IMG_DIR     also copy the PNG figures (fig_NET_SWEEP.png) there, e.g. docs/img
#   QUICK=1     a smaller sweep (for CI / a first look)
#   QS, DWELLS  override the Q and dwell sweep points (e.g. QS="100 1000": Q = 10
#               runs the oracle every 10 queries and is by far the slowest point)
#   KINDS       stream kinds (default "accuracy latency")
#
# PB sweep: 256 KiB .. 48 MiB for a SuperNet whose largest candidate holds
# 4 MiB of weights or more (the built-in OFA families); for a smaller one
# (e.g. models/fmnist-mbv3.sushi, < 1 MiB) powers of two from 16 KiB to the
# first one at or above twice its largest candidate, so that the sweep spans
# "nothing fits" to "everything fits" in both cases. Such a small SuperNet
# fits whole in either preset's PB, which makes the locality sweep at the
# preset's PB moot; its locality sweep is then run a second time (sweep name
# "dwellpb") at DWELL_PB_KIB (default: the largest power of two at most half
# its largest candidate).
#
# Streams: two kinds, so that each SUSHI claim is measured where it applies:
#   accuracy-bound (mix=0): every query has only an accuracy floor; the
#       scheduler serves the fastest SubNet meeting it -> latency and energy;
#   latency-bound  (mix=1): every query has only an SLO; the scheduler serves
#       the most accurate SubNet meeting it -> served accuracy.
# Floors and SLOs are placed in the candidates' accuracy range and predicted
# latency range (nothing resident) of each (SuperNet, preset).
# Sweeps (one knob at a time around the base point Q=100, dwell=100,
# the preset's PB): Q, PB size, trace locality (mean dwell).
# Output: OUT_DIR/runs/*.json (one `sushi serve --json` object each),
# OUT_DIR/net_NET.json (`sushi subnets --json`), OUT_DIR/conditions.txt,
# OUT_DIR/summary.csv, OUT_DIR/summary.md, OUT_DIR/plot_*.svg and (with
# gnuplot) OUT_DIR/fig_NET_SWEEP.png, made by tools/experiments/summarise.py.
set -euo pipefail
cd "$(dirname "$0")/../.."

OUT=${1:-results/sushi}
QUERIES=${QUERIES:-4000}
SEED=${SEED:-1}
NETS=${NETS:-"ofa-resnet50 ofa-mbv3-w1.0"}
ACCELS=${ACCELS:-"zcu104 u50"}
POLICIES=${POLICIES:-none,static,sushi,lru,lfu,oracle}

if [ -z "${SUSHI_CLI:-}" ]; then
    for c in build*/tools/cli/sushi; do
        if [ -x "$c" ] && "$c" serve --help >/dev/null 2>&1; then SUSHI_CLI=$c; break; fi
    done
fi
if [ -z "${SUSHI_CLI:-}" ]; then
    for c in build*/tests/sched/sched_cli; do
        if [ -x "$c" ]; then SUSHI_CLI=$c; break; fi
    done
fi
if [ -z "${SUSHI_CLI:-}" ]; then
    echo "run_sushi_experiments: no sushi CLI with 'serve' found; build first or set SUSHI_CLI" >&2
    exit 1
fi
if ! "$SUSHI_CLI" serve builtin:ofa-mbv3-w1.0 --backend cycle --queries 2 --policy none >/dev/null 2>&1; then
    echo "run_sushi_experiments: $SUSHI_CLI has no cycle backend" >&2
    exit 1
fi

if [ "${QUICK:-0}" = 1 ]; then
    QS=${QS:-"10 100 1000"}; PBS_BIG="1024 4096 16384"; DWELLS=${DWELLS:-"1 100 1000"}
    QUERIES=${QUERIES_QUICK:-1500}
else
    QS=${QS:-"10 30 100 300 1000"}
    PBS_BIG="256 512 1024 2048 4096 8192 16384 32768 49152"
    DWELLS=${DWELLS:-"1 10 100 1000"}
fi
KINDS=${KINDS:-"accuracy latency"}

model() { # builtin name or file path
    if [ -f "$1" ]; then echo "$1"; else echo "builtin:$1"; fi
}

max_kib() { # net -> weight KiB of its largest candidate (empty if unknown)
    "$SUSHI_CLI" subnets "$(model "$1")" --json 2>/dev/null | python3 -c '
import json, sys
print(max(c["weight_bytes"] for c in json.load(sys.stdin)["candidates"]) // 1024)' 2>/dev/null || true
}

small_net() { # net -> success if its largest candidate is under 4 MiB
    local maxkib
    maxkib=$(max_kib "$1")
    [ -n "$maxkib" ] && [ "$maxkib" -lt 4096 ]
}

dwell_pb() { # net -> PB (KiB) of its second locality sweep, empty for none
    if ! small_net "$1"; then return; fi
    if [ -n "${DWELL_PB_KIB:-}" ]; then echo "$DWELL_PB_KIB"; return; fi
    local half=$(($(max_kib "$1") / 2)) kib=16
    while [ $((kib * 2)) -le "$half" ]; do kib=$((kib * 2)); done
    echo "$kib"
}

pb_list() { # net -> PB sizes (KiB) of its PB sweep
    if [ -n "${PBS:-}" ]; then echo "$PBS"; return; fi
    if ! small_net "$1"; then echo "$PBS_BIG"; return; fi
    local maxkib
    maxkib=$(max_kib "$1")
    local kib=16 list=()
    while :; do
        list+=("$kib")
        [ "$kib" -ge $((2 * maxkib)) ] && break
        kib=$((kib * 2))
    done
    if [ "${QUICK:-0}" = 1 ]; then # three points: the smallest, the middle, the largest
        echo "${list[0]} ${list[$((${#list[@]} / 2))]} ${list[-1]}"
    else
        echo "${list[*]}"
    fi
}

mkdir -p "$OUT/runs"
{
    echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "cli: $SUSHI_CLI"
    echo "git: $(git rev-parse --short HEAD 2>/dev/null || echo none) $(git status --porcelain 2>/dev/null | wc -l) files changed"
    echo "queries: $QUERIES seed: $SEED nets: $NETS accels: $ACCELS policies: $POLICIES"
    echo "objective: ${OBJECTIVE:-default} kinds: $KINDS"
    echo "Q: $QS dwell: $DWELLS"
    if [ -n "${PARAMS:-}" ]; then echo "PARAMS (cycle-model overrides, NOT the calibrated presets): $PARAMS"; fi
    for net in $NETS; do
        echo "PB sweep (KiB) $(basename "$net" .sushi): $(pb_list "$net")"
        dp=$(dwell_pb "$net")
        if [ -n "$dp" ]; then echo "second locality sweep (dwellpb) $(basename "$net" .sushi): PB $dp KiB"; fi
        if [ -f "$net" ]; then echo "file $net: sha256 $(sha256sum "$net" | cut -c1-16), mtime $(date -u -r "$net" +%Y-%m-%dT%H:%M:%SZ)"; fi
    done
} > "$OUT/conditions.txt"

run() { # name, extra serve args...
    local name=$1; shift
    local f="$OUT/runs/$name.json"
    "$SUSHI_CLI" serve "$@" --policy "$POLICIES" --json > "$f.tmp"
    mv "$f.tmp" "$f"
    echo "  $name"
}

for net in $NETS; do
    tag=$(basename "$net" .sushi)
    # the candidate table (accuracy source, weight bytes) for summarise.py
    "$SUSHI_CLI" subnets "$(model "$net")" --json > "$OUT/net_$tag.json" 2>/dev/null || rm -f "$OUT/net_$tag.json"
    NET_PBS=$(pb_list "$net")
    NET_DWELL_PB=$(dwell_pb "$net")
    for accel in $ACCELS; do
        for kind in $KINDS; do
            mix=0; [ "$kind" = latency ] && mix=1
            base=(--backend cycle --accel "$accel")
            if [ -n "${PARAMS:-}" ]; then base+=(--param "$PARAMS"); fi
            if [ -n "${OBJECTIVE:-}" ]; then base+=(--objective "$OBJECTIVE"); fi
            gen="seed=$SEED,queries=$QUERIES,mix=$mix"
            echo "$tag / $accel / $kind-bound"
            for q in $QS; do
                run "$tag.$accel.$kind.q$q" "$(model "$net")" "${base[@]}" --window "$q" --gen "$gen,dwell=100"
            done
            for pb in $NET_PBS; do
                run "$tag.$accel.$kind.pb$pb" "$(model "$net")" "${base[@]}" --window 100 --pb-kib "$pb" \
                    --gen "$gen,dwell=100"
            done
            for d in $DWELLS; do
                run "$tag.$accel.$kind.dwell$d" "$(model "$net")" "${base[@]}" --window 100 --gen "$gen,dwell=$d"
            done
            if [ -n "$NET_DWELL_PB" ]; then
                for d in $DWELLS; do
                    run "$tag.$accel.$kind.dwellpb$d" "$(model "$net")" "${base[@]}" --window 100 \
                        --pb-kib "$NET_DWELL_PB" --gen "$gen,dwell=$d"
                done
            fi
        done
    done
done

python3 tools/experiments/summarise.py "$OUT" ${IMG_DIR:+--img-dir "$IMG_DIR"}
echo "summary: $OUT/summary.md"
