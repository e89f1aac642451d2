# Sourced by the GPU scripts (gpu-check.sh, gpu-confirm.sh) on a lent GPU machine, in the repository root: the
# environment they run factordiff in. Python packages the machine lacks travel as wheels in .whl/ (installed to
# /tmp/site first, if present); the source tree is imported from src/.
export PYTHONUNBUFFERED=1 MPLBACKEND=Agg FACTORDIFF_CACHE_DIR=/tmp/factordiff-cache
if ls .whl/*.whl >/dev/null 2>&1; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl \
    || { echo "wheel install failed"; exit 3; }
  export PYTHONPATH=$PWD/src:/tmp/site
else
  export PYTHONPATH=$PWD/src
fi
