#!/usr/bin/env bash
# GPU check of the gan plugin, for a session that has a CUDA machine (about 3-5 minutes):
#   1. the plugin's tests on CUDA (EVOENGINE_TEST_DEVICE=cuda; mixed precision included),
#   2. the batched against one-by-one benchmark of 32 tiny MLP GANs on CUDA,
#   3. on a machine with 2+ GPUs: 32 GANs on one device against all of them (time, FD agreement),
#   4. population-based training: member steps per second on CUDA (and against Ray Tune's PBT
#      where ray[tune] is installed), a 4-interval `evoengine run gan --set scheme=pbt`,
#   5. a one-generation `evoengine run gan` (the device is printed at start).
# Run from anywhere: bash benchmarks/gpu_check.sh
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=build/gpu-venv  # build/ is git-ignored
# Wheels for an offline machine (deap, pydantic, tomli-w, ...): a folder pip installs from
# without an index. Fill it where pip works: see benchmarks/README.md.
WHEELS=${GAN_WHEELS:-build/gan-wheels}

# Reuse a Python that already has torch (a CUDA build, usually): a fresh venv sees its
# packages through a .pth file, so torch is neither copied nor fetched. Else install torch.
BASE=${PYTHON:-python3}
if [ ! -x "$VENV/bin/python" ]; then
  if "$BASE" -c 'import torch' 2>/dev/null; then
    "$BASE" -m venv --without-pip "$VENV"   # pip and setuptools come from the base too
    site=$("$VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
    "$BASE" -c 'import site; print("\n".join(site.getsitepackages()))' > "$site/base-python.pth"
  else
    "$BASE" -m venv "$VENV"
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check torch
  fi
fi
PY="$VENV/bin/python"
PIP=("$PY" -m pip install --quiet --disable-pip-version-check)
if [ -d "$WHEELS" ]; then  # offline: no index, and build with the setuptools already there
  PIP+=(--no-index --find-links "$WHEELS" --no-build-isolation)
fi
"${PIP[@]}" -e . -e plugins/gan  # pytest and pytest-benchmark: installed beforehand
"$PY" - <<'PYEOF'
import torch
print(f"torch {torch.__version__}, CUDA available: {torch.cuda.is_available()}")
if torch.cuda.is_available():
    print(f"device: {torch.cuda.get_device_name(0)}")
else:
    raise SystemExit("no CUDA device: nothing to check here")
PYEOF

export EVOENGINE_TEST_DEVICE=cuda EVOENGINE_BENCH_DEVICE=cuda
echo "== gan tests on CUDA"
"$PY" -m pytest -q -p no:cacheprovider plugins/gan/tests
echo "== batched against one by one, 32 tiny MLP GANs on CUDA"
"$PY" -m pytest -q -p no:cacheprovider benchmarks/test_bench_gan.py -k batched_against \
  --benchmark-enable --benchmark-columns=min,mean,rounds -s
echo "== several CUDA devices (only where there are 2 or more)"
"$PY" - <<'PYEOF'
import time

import numpy as np
import torch

if torch.cuda.device_count() < 2:
    print(f"{torch.cuda.device_count()} CUDA device: multi-device check skipped")
    raise SystemExit(0)
from evoengine.config import validate
from evoengine_gan.problem import GanProblem
from evoengine_gan.settings import GanSettings

space = {"architecture": "mlp", "batch_norm": False}
genomes = np.random.default_rng(0).random((32, 18))
scores = {}
for device in ("cuda:0", "cuda"):  # one device, then every device (one group per device)
    problem = GanProblem(validate(GanSettings, {"device": device, "space": space,
                                                "budget": 3200, "max_group": 8}))
    problem.evaluate(genomes[:2])  # warm up: classifier, CUDA context, kernels
    start = time.perf_counter()
    scores[device] = problem.evaluate(genomes).fitness[:, 0]
    print(f"{device:>6}: {problem.notes[0].split(';')[0]}; 32 GANs in "
          f"{time.perf_counter() - start:.2f} s")
a, b = scores["cuda:0"], scores["cuda"]
ok = np.isfinite(a) & np.isfinite(b)
print(f"same seed, one device against {torch.cuda.device_count()}: largest relative "
      f"difference in FD {np.max(np.abs(a[ok] - b[ok]) / a[ok]):.2e} "
      "(bfloat16 batched kernels: equal statistically, not bitwise)")
PYEOF
echo "== population-based training on CUDA: member steps per second (Ray Tune's side runs"
echo "   only where ray[tune] is installed; its trials train on the CPU)"
"$PY" -m pytest -q -p no:cacheprovider benchmarks/test_bench_pbt.py -k speed \
  --benchmark-enable --benchmark-columns=min,rounds -s
echo "== evoengine run gan --set scheme=pbt, 4 intervals on CUDA"
timeout 150 "$VENV/bin/evoengine" run gan --seed 1 --set scheme=pbt --set generations=3 \
  --set device=cuda --out /tmp/gan-gpu-check -q
echo "== evoengine run gan, one generation on CUDA"
timeout 150 "$VENV/bin/evoengine" run gan --seed 1 --set generations=1 --set population_size=8 \
  --set device=cuda --out /tmp/gan-gpu-check -q
