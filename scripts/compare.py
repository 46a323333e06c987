#!/usr/bin/python3
"""Run backprop's speed workloads side by side with their PyTorch twins.

usage: /usr/bin/python3 scripts/compare.py [--rounds 3] [--only gemm,autograd,mlp,cnn]
       [--bench-dir ../shared/bench] [--threads 2] [--text FILE --gpt-steps 300]

--only gpt (not in the default set: it is slow) trains the character-level GPT
on --text FILE for --gpt-steps steps against w7_gpt_torch.py with 1 and
--threads threads: tokens/s, the validation loss after those steps and the
peak RSS.

Each round runs every workload once for backprop (`backprop bench ...`, built
first into a temporary folder) and once for each PyTorch configuration, the
order alternating between rounds so that neither side always runs on a warmer
or quieter machine. The table gives medians over the rounds and the ratio
backprop / PyTorch's best configuration (higher is better for throughput;
for the autograd chain, PyTorch's time over ours). These machines are noisy:
use several rounds and read the spread.

PyTorch runs with Debian's python3-torch (/usr/bin/python3); see
shared/bench/README.md. Needs nothing beyond the standard library.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

ap = argparse.ArgumentParser()
ap.add_argument("--rounds", type=int, default=3)
ap.add_argument("--only", default="gemm,autograd,mlp,cnn")
ap.add_argument("--bench-dir", default=os.path.join(ROOT, "..", "shared", "bench"))
ap.add_argument("--threads", type=int, default=2)
ap.add_argument("--mlp-iters", type=int, default=200)
ap.add_argument("--cnn-iters", type=int, default=100)
ap.add_argument("--text", default="")
ap.add_argument("--gpt-steps", type=int, default=300)
args = ap.parse_args()
only = set(args.only.split(","))
if "gpt" in only and not args.text:
    sys.exit("compare: --only gpt needs --text FILE")
bench_dir = os.path.abspath(args.bench_dir)
T = args.threads


def sh(cmd, env=None):
    e = dict(os.environ)
    if env:
        e.update(env)
    r = subprocess.run(cmd, capture_output=True, text=True, env=e, cwd=ROOT)
    if r.returncode != 0:
        sys.exit(f"compare: {' '.join(cmd)} failed:\n{r.stderr[-2000:]}")
    return r.stdout


def bench_lines(out):
    """BENCH name value unit ... lines of the twins -> {name: value}."""
    res = {}
    for line in out.splitlines():
        p = line.split()
        if len(p) >= 3 and p[0] == "BENCH":
            res[p[1]] = float(p[2])
    return res


def ours(*a):
    return [json.loads(l) for l in sh([BIN, "bench", *a]).splitlines() if l.startswith("{")]


def twin(script, *a, env=None):
    return bench_lines(sh(["/usr/bin/python3", os.path.join(bench_dir, script), *a], env=env))


tmp = tempfile.mkdtemp()
BIN = os.path.join(tmp, "backprop")
sh(["go", "build", "-o", BIN, "./cmd/backprop"])

shapes = []
with open(os.path.join(bench_dir, "w1_shapes.tsv")) as f:
    for line in f:
        line = line.split("#", 1)[0].split()
        if line:
            name, ta, tb, m, n, k = line
            shapes.append((name, ta == "T", tb == "T", int(m), int(n), int(k)))

# rows[workload] = {"ours": [...], "torch <config>": [...]}
rows = {}


def add(workload, who, v):
    rows.setdefault(workload, {}).setdefault(who, []).append(v)


for rnd in range(args.rounds):
    first_ours = rnd % 2 == 0
    print(f"# round {rnd + 1}/{args.rounds} ({'backprop' if first_ours else 'pytorch'} first)", file=sys.stderr)

    def run_ours():
        if "gemm" in only:
            for name, ta, tb, m, n, k in shapes:
                fl = ["--m", str(m), "--n", str(n), "--k", str(k), "--threads", str(T)]
                fl += ["--ta"] if ta else []
                fl += ["--tb"] if tb else []
                add(f"sgemm {name} GFLOP/s", "backprop", ours("gemm", *fl)[0]["gflops"])
        if "autograd" in only:
            r = ours("autograd")[0]
            add("scalar chain fwd+bwd ns/op", "backprop", r["ns_per_op_fwd"] + r["ns_per_op_bwd"])
            add("scalar chain fwd ns/op", "backprop", r["ns_per_op_fwd"])
            add("scalar chain bwd ns/op", "backprop", r["ns_per_op_bwd"])
        if "mlp" in only:
            r = ours("train", "--model", "mlp", "--batch", "128", "--iters", str(args.mlp_iters), "--threads", str(T))[0]
            add("mnist mlp images/s", "backprop", r["images_per_s"])
        if "cnn" in only:
            r = ours("train", "--model", "cnn", "--batch", "64", "--iters", str(args.cnn_iters), "--threads", str(T))[0]
            add("mnist cnn images/s", "backprop", r["images_per_s"])
        if "gpt" in only:
            for t in sorted({1, T}):
                r = ours("train", "--model", "gpt", "--text", args.text, "--steps", str(args.gpt_steps), "--threads", str(t))[0]
                who = f"backprop {t} thr"
                add("gpt tokens/s", who, r["tokens_per_s"])
                add("gpt val loss", who, r["val_loss"])
                add("gpt peak RSS MiB", who, r["peak_rss_mib"])

    def run_torch():
        if "gemm" in only:
            for peer in ("torch", "numpy"):
                r = twin("w1_sgemm.py", "--peer", peer, "--threads", str(T), "--reps", "5")
                for name, *_ in shapes:
                    for key, v in r.items():
                        if key.endswith("." + name):
                            add(f"sgemm {name} GFLOP/s", f"{peer} (OpenBLAS {T} thr)", v)
        if "autograd" in only:
            r = twin("w4_autograd.py", "--peers", "torch", "--chain-reps", "3", "--mlp-steps", "2")
            f, b = r["w4a.torch.chain_fwd"], r["w4a.torch.chain_bwd"]
            add("scalar chain fwd+bwd ns/op", "torch eager", f + b)
            add("scalar chain fwd ns/op", "torch eager", f)
            add("scalar chain bwd ns/op", "torch eager", b)
        if "mlp" in only:
            for spec, env in ((f"1,{T}", None), (str(T), {"OMP_WAIT_POLICY": "PASSIVE"})):
                r = twin("w2_mlp_torch.py", "--threads", spec, "--epochs", "1", env=env)
                t = next(v for k, v in r.items() if k.endswith("epoch1_time"))
                add("mnist mlp images/s", f"torch --threads {spec}" + (" PASSIVE" if env else ""), 60000 / t)
        if "cnn" in only:
            for spec, env in ((str(T), {"OMP_WAIT_POLICY": "PASSIVE"}), (f"1,{T}", None)):
                r = twin("w3_cnn_torch.py", "--threads", spec, "--iters", str(max(args.cnn_iters, 100)), env=env)
                t = next(v for k, v in r.items() if k.endswith("per_100_steps"))
                add("mnist cnn images/s", f"torch --threads {spec}" + (" PASSIVE" if env else ""), 100 * 64 / t)
        if "gpt" in only:
            for t in sorted({1, T}):
                r = twin("w7_gpt_torch.py", "--text", args.text, "--steps", str(args.gpt_steps), "--threads", str(t))
                get = lambda suffix: next(v for k, v in r.items() if k.endswith(suffix))
                who = f"torch --threads {t}"
                add("gpt tokens/s", who, get(".tokens_per_s"))
                add("gpt val loss", who, get(".val_loss"))
                add("gpt peak RSS MiB", who, get(".peak_rss_self"))

    for f in ((run_ours, run_torch) if first_ours else (run_torch, run_ours)):
        f()

lower_is_better = lambda w: "ns/op" in w or "loss" in w or "RSS" in w
print(f"\n{'workload':34s} {'backprop':>10s} {'PyTorch best':>12s}  {'ratio':>6s}  best PyTorch configuration (median of {args.rounds})")
for w, by in rows.items():
    ourk = [k for k in by if k.startswith("backprop")]
    pick = min if lower_is_better(w) else max
    mine = pick([statistics.median(by[k]) for k in ourk]) if ourk else float("nan")
    others = {k: statistics.median(v) for k, v in by.items() if not k.startswith("backprop")}
    if not others:
        continue
    best_k = pick(others, key=others.get)
    best = others[best_k]
    ratio = best / mine if lower_is_better(w) else mine / best
    print(f"{w:34s} {mine:10.4g} {best:12.4g}  {ratio:5.2f}x  {best_k}")
print("\nratio > 1 means backprop is faster (for ns/op: PyTorch's time / ours)")
