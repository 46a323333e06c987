#!/usr/bin/python3
"""Data-parallel speed and accuracy: backprop under mpirun against PyTorch DDP (gloo).

usage: /usr/bin/python3 scripts/ddp_bench.py [--rounds 3] [--models mlp,cnn] [--procs 1,2]
       [--mlp-iters 400] [--cnn-iters 200] [--settle 5] [--accuracy] [--bench-dir ../shared/bench]

Each round runs, for each model and process count N, `mpirun -np N backprop bench
train` (1 thread per process, global batch 128 for the MLP and 64 for the CNN, the
models' recipes) and shared/bench/w6_ddp_torch.py --procs N --threads-per-proc 1 (the
same models, recipes, global batch and slicing, DDP on gloo over 127.0.0.1), the order
alternating between rounds. The table gives the median global images/s over the rounds,
the speed-up of N processes over one, and backprop / PyTorch at the same N.

--accuracy also trains one full epoch of each model on 1 and on 2 processes with
`backprop train` and prints the test accuracies side by side (slow: minutes per CNN
epoch on a small machine).

The machine should be quiet: any other load depresses the data-parallel figures more
than the single-process ones, since every step waits for the slowest rank.
"""
import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ap = argparse.ArgumentParser()
ap.add_argument("--rounds", type=int, default=3)
ap.add_argument("--models", default="mlp,cnn")
ap.add_argument("--procs", default="1,2")
ap.add_argument("--mlp-iters", type=int, default=400)
ap.add_argument("--cnn-iters", type=int, default=200)
ap.add_argument("--warmup", type=int, default=20)
# A pause before each run: a run started right after another one (the PyTorch twin's
# processes exiting, the kernel reclaiming their memory) was measured 5-10% slower.
ap.add_argument("--settle", type=float, default=5, help="seconds to pause before each run")
ap.add_argument("--accuracy", action="store_true")
# The PyTorch twins sit in ../shared/bench beside the checkout (two levels up from a
# worktree in wt/NAME).
default_bench = next((d for d in (os.path.join(ROOT, "..", "shared", "bench"), os.path.join(ROOT, "..", "..", "shared", "bench"))
                      if os.path.exists(os.path.join(d, "w6_ddp_torch.py"))), os.path.join(ROOT, "..", "shared", "bench"))
ap.add_argument("--bench-dir", default=default_bench)
args = ap.parse_args()
models = args.models.split(",")
procs = [int(p) for p in args.procs.split(",")]
bench_dir = os.path.abspath(args.bench_dir)

env = dict(os.environ)
if os.geteuid() == 0:
    env.update(OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
tmp = tempfile.mkdtemp()
exe = os.path.join(tmp, "backprop")
subprocess.run(["go", "build", "-o", exe, "./cmd/backprop"], cwd=ROOT, check=True)


def mpirun(np, *cmd):
    extra = ["--oversubscribe"] if np > os.cpu_count() else []
    return ["mpirun", "-np", str(np), *extra, exe, *cmd]


def ours(model, np):
    iters = args.mlp_iters if model == "mlp" else args.cnn_iters
    batch = 128 if model == "mlp" else 64
    out = subprocess.run(mpirun(np, "bench", "train", "--model", model, "--batch", str(batch),
                                "--iters", str(iters), "--warmup", str(args.warmup), "--threads", "1"),
                         env=env, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])["images_per_s"]


def torch(model, np):
    iters = args.mlp_iters if model == "mlp" else args.cnn_iters
    out = subprocess.run(["/usr/bin/python3", os.path.join(bench_dir, "w6_ddp_torch.py"), "--model", model,
                          "--procs", str(np), "--threads-per-proc", "1", "--iters", str(iters),
                          "--warmup", str(args.warmup)],
                         env=env, check=True, capture_output=True, text=True).stdout
    m = re.search(r"^BENCH \S+\.images_per_s (\S+)", out, re.M)
    return float(m.group(1))


res = {}
for r in range(args.rounds):
    jobs = [(side, model, np) for model in models for np in procs for side in ("backprop", "torch")]
    if r % 2:
        jobs.reverse()
    for side, model, np in jobs:
        time.sleep(args.settle)
        v = (ours if side == "backprop" else torch)(model, np)
        res.setdefault((side, model, np), []).append(v)
        print(f"round {r + 1}: {side:8s} {model} np{np}: {v:.0f} images/s", file=sys.stderr, flush=True)

if args.rounds > 0:
    print(f"\nmedian global images/s over {args.rounds} rounds, 1 thread per process\n")
    print("| model | processes | backprop | PyTorch DDP (gloo) | backprop speed-up over 1 process | PyTorch speed-up | backprop / PyTorch |")
    print("|---|---|---|---|---|---|---|")
    for model in models:
        for np in procs:
            o = statistics.median(res[("backprop", model, np)])
            t = statistics.median(res[("torch", model, np)])
            o1 = statistics.median(res[("backprop", model, procs[0])])
            t1 = statistics.median(res[("torch", model, procs[0])])
            print(f"| {model} | {np} | {o:.0f} | {t:.0f} | {o / o1:.2f}x | {t / t1:.2f}x | {o / t:.2f}x |")
    print("\nall rounds:", json.dumps({f"{s}.{m}.np{n}": [round(x) for x in v] for (s, m, n), v in res.items()}))

if args.accuracy:
    print("\n| model | processes | test accuracy after 1 epoch |")
    print("|---|---|---|")
    for model in models:
        for np in procs:
            out = subprocess.run(mpirun(np, "train", "--model", model, "--epochs", "1", "--threads", "1",
                                        "--progress=false", "--out", os.path.join(tmp, f"{model}{np}.safetensors")),
                                 env=env, check=True, capture_output=True, text=True).stdout
            acc = re.search(r"test accuracy (\S+)%", out).group(1)
            print(f"| {model} | {np} | {acc}% |", flush=True)
