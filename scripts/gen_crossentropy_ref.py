#!/usr/bin/python3
"""Regenerate testdata/crossentropy_ref.json, the PyTorch reference values
for backprop.CrossEntropy (crossentropy_nd_test.go).

usage: /usr/bin/python3 scripts/gen_crossentropy_ref.py

Each case holds float64 logits, int64 targets (or float64 class
probabilities), optional class weights, ignore_index and label smoothing, a
reduction, and what torch.nn.functional.cross_entropy
returns: the loss (a list for reduction='none') and the gradient of
sum(loss * upstream) with respect to the logits. The inputs come from a
seeded generator, so a rerun writes the same file.
"""
import json
import os

import torch

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
torch.manual_seed(7)

cases = [
    # name, logits shape, weight?, ignore_index, reduction[, label smoothing[, probability targets?]]
    ("2d mean weight ignore", (6, 4), True, 2, "mean"),
    ("2d sum ignore -100", (5, 3), False, -100, "sum"),
    ("2d none weight", (4, 5), True, None, "none"),
    ("3d mean", (2, 3, 4), False, None, "mean"),
    ("3d mean weight ignore", (3, 4, 5), True, 1, "mean"),
    ("4d sum weight", (2, 3, 2, 3), True, None, "sum"),
    ("4d none ignore", (2, 4, 3, 2), False, 0, "none"),
    ("unbatched mean weight", (5,), True, None, "mean"),
    ("unbatched none", (4,), False, None, "none"),
    ("2d mean smoothing", (5, 4), False, None, "mean", 0.1),
    ("3d mean smoothing weight ignore", (3, 4, 5), True, 1, "mean", 0.2),
    ("2d none smoothing weight ignore", (6, 3), True, 0, "none", 0.3),
    ("3d sum smoothing", (2, 5, 3), False, None, "sum", 0.05),
    ("probabilities 2d mean", (4, 5), False, None, "mean", 0.0, True),
    ("probabilities 3d sum weight smoothing", (2, 3, 4), True, None, "sum", 0.1, True),
    ("probabilities 3d none weight", (2, 4, 3), True, None, "none", 0.0, True),
    ("probabilities unbatched mean", (5,), False, None, "mean", 0.0, True),
]

out = []
for case in cases:
    name, shape, weighted, ignore, reduction = case[:5]
    smoothing = case[5] if len(case) > 5 else 0.0
    probs = len(case) > 6 and case[6]
    x = (torch.randn(*shape, dtype=torch.float64) * 2).requires_grad_(True)
    c = shape[0] if len(shape) == 1 else shape[1]
    tshape = () if len(shape) == 1 else (shape[0],) + tuple(shape[2:])
    if probs:
        t = torch.randn(*shape, dtype=torch.float64).softmax(0 if len(shape) == 1 else 1)
    else:
        t = torch.randint(0, c, tshape, dtype=torch.int64)
    if ignore is not None and t.dim() > 0:
        flat = t.view(-1)
        flat[::3] = ignore
    w = torch.rand(c, dtype=torch.float64) + 0.5 if weighted else None
    kw = {"reduction": reduction, "label_smoothing": smoothing}
    if ignore is not None:
        kw["ignore_index"] = ignore
    loss = torch.nn.functional.cross_entropy(x, t, weight=w, **kw)
    up = torch.randn(loss.shape, dtype=torch.float64)
    (loss * up).sum().backward()
    out.append({
        "name": name,
        "shape": list(shape),
        "logits": x.detach().reshape(-1).tolist(),
        "targets": t.reshape(-1).tolist() if not probs else None,
        "probabilities": t.reshape(-1).tolist() if probs else None,
        "label_smoothing": smoothing,
        "weight": w.tolist() if w is not None else None,
        "ignore_index": ignore,
        "reduction": reduction,
        "upstream": up.reshape(-1).tolist(),
        "loss": loss.detach().reshape(-1).tolist(),
        "grad": x.grad.reshape(-1).tolist(),
    })

with open(os.path.join(ROOT, "testdata", "crossentropy_ref.json"), "w") as f:
    json.dump({"torch": torch.__version__, "cases": out}, f, indent=1)
    f.write("\n")
