#!/bin/sh
# Rebuild models/fmnist-mbv3.sushi from the trained checkpoint (docs/fashion-mnist.md):
# export (PyTorch) -> measure every candidate with the C library -> checks -> plot.
#   tools/export/make_fmnist_model.sh [BUILD_DIR]      (default: build)
# Needs Debian's python3-torch, python3-numpy, dataset-fashion-mnist, gnuplot and a
# libsushi build with the cpu and cycle backends in BUILD_DIR. Training is separate:
#   /usr/bin/python3 tools/train/train_fmnist.py      (writes tools/train/fmnist_supernet.pt)
set -eu
B=${1:-build}
export SUSHI_LIBRARY="$PWD/$B/libsushi.so"
JOBS=$(nproc)
/usr/bin/python3 tools/export/export_fmnist.py --n-random 23            # 27 uniform + 23 random = 50
time "$B/tools/cli/sushi" eval models/fmnist-mbv3.sushi --dataset fashion-mnist -j "$JOBS"
/usr/bin/python3 tools/export/check_export.py -n 500                   # C vs PyTorch logits, 3 SubNets
/usr/bin/python3 tools/export/torch_eval.py --cands 0,26,4,13,22,30,35,40,45,49   # PyTorch top-1 vs C
/usr/bin/python3 tools/plot_pareto.py                                  # docs/img/pareto_fmnist.png
