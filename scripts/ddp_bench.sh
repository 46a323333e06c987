#!/usr/bin/env bash
# The data-parallel comparison in one go (see scripts/ddp_bench.py): backprop under
# mpirun against PyTorch DDP, 1 and 2 processes, MLP and CNN, alternating, then the
# accuracy after one epoch on 1 and 2 processes. Run it on a quiet machine.
set -euo pipefail
cd "$(dirname "$0")/.."
exec /usr/bin/python3 scripts/ddp_bench.py --rounds "${ROUNDS:-3}" --accuracy "$@"
