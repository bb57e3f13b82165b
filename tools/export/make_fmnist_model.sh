#!/bin/sh
# Rebuild models/fmnist-mbv3.sushi from the trained checkpoint (docs/fashion-mnist.md):
# export (PyTorch) -> measure every candidate with the C library -> store int8 calibration
# ranges -> checks -> plot.
#   tools/export/make_fmnist_model.sh [BUILD_DIR]      (default: build)
# Needs Debian's python3-torch, python3-numpy, dataset-fashion-mnist, gnuplot and a
# libsushi build with the cpu and cycle backends in BUILD_DIR. Training is separate
# (tools/train/README.md): train_fmnist.py (stage 1), then finetune_resolution.py (stage 2,
# writes tools/train/fmnist_supernet.pt).
set -eu
B=${1:-build}
export SUSHI_LIBRARY="$PWD/$B/libsushi.so"
JOBS=$(nproc)
/usr/bin/python3 tools/export/export_fmnist.py --n-random 28   # 4 resolutions x 9 uniform + 28 random = 64
time "$B/tools/cli/sushi" eval models/fmnist-mbv3.sushi --dataset fashion-mnist -j "$JOBS"
# int8 ranges of every candidate from 2,000 training images (docs/int8.md §7), so the hls backend
# and `sushi run --int8` use real-data ranges without calibration data
time "$B/tools/cli/sushi" calibrate models/fmnist-mbv3.sushi --dataset fashion-mnist --calib 2000 -j "$JOBS"
/usr/bin/python3 tools/export/check_export.py -n 500 --cands 0,8,17,35,50   # C vs PyTorch logits
/usr/bin/python3 tools/export/torch_eval.py --json "$B/torch_eval.json"  # PyTorch top-1 vs C, every candidate
/usr/bin/python3 tools/plot_pareto.py                                  # docs/img/pareto_fmnist.png
