#!/usr/bin/env python3
"""Write the hostile SuperNet files of tests/fuzz/hostile/ (and copies in the
loader seed corpus) with the independent encoder of tests/format/make_fixture.py.

  huge-seed.sushi   seed-mode file whose 65536x65536 1x1 conv claims 2^32 weights
                    (over the 2^30 limit): must be refused before anything is allocated
  small-seed.sushi  the same architecture with 16 channels and no candidates (valid)
  nan-f32.sushi     tiny-v1 fixture with a NaN and an Inf in its first tensor (valid checksum)
"""
import math
import os
import shutil
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(HERE, "..", "format"))
import make_fixture as mf  # noqa: E402


def seed_file(ch):
    units = [mf.unit("conv", "first_conv", 1, ch, kernel=3, stride=2, bn=True, act="relu"),
             mf.unit("conv", "mid", ch, ch, kernel=1, bn=True, act="relu"),
             mf.unit("gap", "global_avg_pool", 0, 0),
             mf.unit("linear", "classifier", ch, 10, bias=True)]
    top = {"format": "sushi-supernet", "version": 1, "name": "hostile-%d" % ch, "family": "custom",
           "provenance": {"synthetic": True, "text": "hostile test file"}, "seed": 7,
           "input": {"channels": 1, "mean": [mf.F32(0.5)], "std": [mf.F32(0.25)],
                     "resolutions": [8], "default_resolution": 8},
           "num_classes": 10, "bn_eps": mf.F32(1e-5),
           "elastic": {"ks": [], "e": [], "n_ks_slots": 0, "n_e_slots": 0, "depth_groups": [],
                       "width_groups": []},
           "units": [{k: (mf.num(u[k]) if k == "e_fixed" else u[k]) for k in mf.UNIT_KEYS} for u in units],
           "candidates": [],
           "weights": {"mode": "seed"}}
    return b"\xd9\xd9\xf7" + mf.enc(top)


def nan_file():
    orig = mf.tensor_values

    def tv(i, name, shape):
        v = orig(i, name, shape)
        if i == 0:
            v[0] = math.nan
            v[1] = math.inf
        return v
    mf.tensor_values = tv
    try:
        return mf.build()
    finally:
        mf.tensor_values = orig


def main():
    out = os.path.join(HERE, "hostile")
    os.makedirs(out, exist_ok=True)
    files = {"huge-seed.sushi": seed_file(65536), "small-seed.sushi": seed_file(16),
             "nan-f32.sushi": nan_file()}
    for name, data in files.items():
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)
        shutil.copy(os.path.join(out, name), os.path.join(HERE, "corpus", "loader", name))
        print("%s: %d bytes" % (name, len(data)))


if __name__ == "__main__":
    main()
