#!/usr/bin/env bash
# Installs Debian's Open MPI for the data-parallel tests (dist/mpi launches
# its test binary with mpirun), unless it is there already. CI sets CI=true,
# and then those tests fail without it rather than skip.
set -euo pipefail

if command -v mpirun >/dev/null && [ -e /usr/lib/x86_64-linux-gnu/libmpi.so.40 -o -e /usr/lib/aarch64-linux-gnu/libmpi.so.40 ]; then
  exit 0
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  sudo="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update
$sudo apt-get install -y --no-install-recommends openmpi-bin libopenmpi-dev
mpirun --version | head -1
