#!/usr/bin/env bash
# The data-parallel tests on processes: builds dist/mpi's test binary once
# and starts it with mpirun on 1, 2 and 4 processes (oversubscribed on a
# small machine) and on 2 processes talking TCP over the loopback
# interface, as two machines would; then the fault tests (a killed rank,
# a stuck collective). Needs Open MPI: apt-get install openmpi-bin
# libopenmpi-dev.
set -euo pipefail
cd "$(dirname "$0")/.."

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
go test -c -o "$tmp/mpi.test" ./dist/mpi

if [ "$(id -u)" -eq 0 ]; then
  export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
fi
# Containers often forbid the cross-process memory copies of Open MPI's
# shared-memory transport; plain copies work everywhere.
export OMPI_MCA_btl_vader_single_copy_mechanism=none

ranks() {
  echo "== mpirun -np $*"
  local np=$1; shift
  local out
  out=$(cd "$tmp" && timeout 300 mpirun --oversubscribe -np "$np" "$@" "$tmp/mpi.test" -test.run '^TestRanks' -test.v 2>&1) || {
    echo "$out"; echo "FAIL: mpirun -np $np $*"; exit 1; }
  local passed
  passed=$(grep -c -- '--- PASS: TestRanksDataParallelCNN' <<<"$out" || true)
  if [ "$passed" -ne "$np" ]; then
    echo "$out"; echo "FAIL: $passed of $np ranks passed"; exit 1
  fi
  grep -E -- '^--- (PASS|SKIP)' <<<"$out" | sed 's/ (.*//' | sort | uniq -c
}

ranks 1
ranks 2
ranks 4
# Spinning asked for explicitly: Init must leave the setting alone.
ranks 2 -x OMPI_MCA_mpi_yield_when_idle=0
ranks 2 --mca btl self,tcp --mca btl_tcp_if_include lo
echo "== faults"
(cd "$tmp" && "$tmp/mpi.test" -test.run '^TestFaultsUnderMpirun$' -test.v)
echo "mpi tests: ok"
