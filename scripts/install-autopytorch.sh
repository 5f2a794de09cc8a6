#!/usr/bin/env bash
# Build the Python 3.8 venv that runs Auto-PyTorch 0.2.1 beside tunebench (docs/frameworks.md#autopytorch).
# Usage: scripts/install-autopytorch.sh [VENV [CONSTRAINTS]]; AUTOPYTORCH_PYTHON names the 3.8 interpreter.
# Skips the work when VENV/.constraints.sha256 holds the constraints file's hash.
set -euo pipefail

VENV=${1:-.venv-autopytorch}
PINS=${2:-envs/autopytorch-py38.txt}
STAMP=$VENV/.constraints.sha256

hash=$(sha256sum "$PINS" | cut -d' ' -f1)
if [ -x "$VENV/bin/python" ] && [ "$(cat "$STAMP" 2>/dev/null)" = "$hash" ]; then
    echo "$VENV matches $PINS: nothing to do"
    exit 0
fi

is38() { "$1" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 8))' 2>/dev/null; }
python=${AUTOPYTORCH_PYTHON:-}
if [ -z "$python" ]; then
    # python3.8 on PATH (module load, conda), else pyenv's newest 3.8 (its shim fails unless selected)
    for candidate in $(command -v python3.8) \
        $(command -v pyenv >/dev/null && ls -r "$(pyenv root)"/versions/3.8.*/bin/python3.8 2>/dev/null); do
        if is38 "$candidate"; then
            python=$candidate
            break
        fi
    done
fi
if [ -z "$python" ] || ! is38 "$python"; then
    cat >&2 <<MSG
install-autopytorch: no Python 3.8 found${python:+ ($python is not 3.8)}. Auto-PyTorch 0.2.1 needs it. Get one, then
rerun with its path, e.g. make install-autopytorch AUTOPYTORCH_PYTHON=/path/to/python3.8:
  on a cluster:  module load python/3.8   (then python3.8 is on PATH)
  conda:         conda create -p ~/py38 python=3.8   (AUTOPYTORCH_PYTHON=~/py38/bin/python)
  pyenv:         pyenv install 3.8   (found automatically)
or skip the venv: conda env create -f envs/autopytorch.yaml, then AUTOPYTORCH_VENV=<that env's prefix>.
MSG
    exit 1
fi

echo "install-autopytorch: building $VENV with $python from $PINS (about 1 GB to download)"
rm -rf "$VENV"
"$python" -m venv "$VENV"
"$VENV/bin/pip" install --quiet --disable-pip-version-check -c "$PINS" wheel  # builds pynisher
"$VENV/bin/pip" install --quiet --disable-pip-version-check -c "$PINS" autoPyTorch
echo "$hash" >"$STAMP"
echo "install-autopytorch: $VENV is ready"
