#!/usr/bin/python3
"""Issue 15 item 8: what tools/export/export_fmnist.py records about a
--random-init export. The exporter needs PyTorch; without it this test is
skipped (exit 77). Checks the provenance map and text of an untrained export
(synthetic, not trained, no training dataset, no claim of training) against a
trained one, the default name, and that --random-init refuses to run without
-o (it must never replace the shipped model)."""
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tools", "export"))
try:
    import torch  # noqa: F401
except ImportError:
    print("needs python3-torch: skipped")
    sys.exit(77)
import export_fmnist as ef  # noqa: E402

fails = 0


def check(cond, what):
    global fails
    if not cond:
        print("FAIL:", what)
        fails += 1


prov, text = ef.provenance(True, {"seed": 0, "wall_time_s": 0.0, "epochs": 0}, [16, 28], "1.13")
check(prov["synthetic"] is True, "random-init export: synthetic must be true, got %r" % prov["synthetic"])
check(prov["trained"] is False, "random-init export: trained must be false")
check("dataset" not in prov, "random-init export names a training dataset: %r" % prov.get("dataset"))
check("SYNTHETIC" in text and "UNTRAINED" in text, "random-init text does not say synthetic/untrained: " + text)
check("trained on Fashion-MNIST" not in text and "trained weights" not in text,
      "random-init text claims training: " + text)
prov_t, text_t = ef.provenance(False, {"seed": 1, "wall_time_s": 10.0, "epochs": 3}, [16, 28], "1.13")
check(prov_t["synthetic"] is False and prov_t["trained"] is True, "trained export mislabelled")
check(ef.RANDOM_INIT_NAME != ef.SHIPPED_NAME, "the random-init default name equals the shipped model's")
p = subprocess.run([sys.executable, os.path.join(ROOT, "tools", "export", "export_fmnist.py"), "--random-init"],
                   capture_output=True, text=True)
check(p.returncode == 2 and "-o" in p.stderr, "--random-init without -o must be a usage error: %d %s"
      % (p.returncode, p.stderr.strip()[-200:]))
print("%d failure(s)" % fails)
sys.exit(1 if fails else 0)
