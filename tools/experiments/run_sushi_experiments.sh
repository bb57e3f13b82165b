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
#   QUICK=1     a smaller sweep (for CI / a first look)
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
# OUT_DIR/summary.csv, OUT_DIR/summary.md and OUT_DIR/*.svg (plots), made by
# tools/experiments/summarise.py.
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
    QS="10 100 1000"; PBS="1024 4096 16384"; DWELLS="1 100 1000"; QUERIES=${QUERIES_QUICK:-1500}
else
    QS="10 30 100 300 1000"
    PBS="256 512 1024 2048 4096 8192 16384 32768 49152"
    DWELLS="1 10 100 1000"
fi

mkdir -p "$OUT/runs"
{
    echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "cli: $SUSHI_CLI"
    echo "git: $(git rev-parse --short HEAD 2>/dev/null || echo none) $(git status --porcelain 2>/dev/null | wc -l) files changed"
    echo "queries: $QUERIES seed: $SEED nets: $NETS accels: $ACCELS policies: $POLICIES"
} > "$OUT/conditions.txt"

run() { # name, extra serve args...
    local name=$1; shift
    local f="$OUT/runs/$name.json"
    "$SUSHI_CLI" serve "$@" --policy "$POLICIES" --json > "$f.tmp"
    mv "$f.tmp" "$f"
    echo "  $name"
}

model() { # builtin name or file path
    if [ -f "$1" ]; then echo "$1"; else echo "builtin:$1"; fi
}

for net in $NETS; do
    tag=$(basename "$net" .sushi)
    for accel in $ACCELS; do
        for kind in accuracy latency; do
            mix=0; [ "$kind" = latency ] && mix=1
            base=(--backend cycle --accel "$accel")
            gen="seed=$SEED,queries=$QUERIES,mix=$mix"
            echo "$tag / $accel / $kind-bound"
            for q in $QS; do
                run "$tag.$accel.$kind.q$q" "$(model "$net")" "${base[@]}" --window "$q" --gen "$gen,dwell=100"
            done
            for pb in $PBS; do
                run "$tag.$accel.$kind.pb$pb" "$(model "$net")" "${base[@]}" --window 100 --pb-kib "$pb" \
                    --gen "$gen,dwell=100"
            done
            for d in $DWELLS; do
                run "$tag.$accel.$kind.dwell$d" "$(model "$net")" "${base[@]}" --window 100 --gen "$gen,dwell=$d"
            done
        done
    done
done

python3 tools/experiments/summarise.py "$OUT"
echo "summary: $OUT/summary.md"
