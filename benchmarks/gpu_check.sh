#!/usr/bin/env bash
# GPU check of the gan plugin, for a session that has a CUDA machine (about 3-5 minutes):
#   1. the plugin's tests on CUDA (EVOENGINE_TEST_DEVICE=cuda; mixed precision included),
#   2. the batched against one-by-one benchmark of 32 tiny MLP GANs on CUDA,
#   3. a one-generation `evoengine run gan` (the device is printed at start).
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
"$PY" -m pytest -q -p no:cacheprovider tests/test_gan_*.py
echo "== batched against one by one, 32 tiny MLP GANs on CUDA"
"$PY" -m pytest -q -p no:cacheprovider benchmarks/test_bench_gan.py -k batched_against \
  --benchmark-enable --benchmark-columns=min,mean,rounds -s
echo "== evoengine run gan, one generation on CUDA"
timeout 150 "$VENV/bin/evoengine" run gan --seed 1 --set generations=1 --set population_size=8 \
  --set device=cuda --out /tmp/gan-gpu-check -q
