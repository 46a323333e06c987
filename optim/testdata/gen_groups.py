#!/usr/bin/python3
"""Reference data for optim's parameter groups (groups_test.go), computed with PyTorch.

Run with /usr/bin/python3; it rewrites torch_groups.json beside it. The loss and
parameters are those of gen_torch.py (a 2-d "fc.weight" and a 1-d "fc.bias").
Each case puts the weight in group 0 and the bias in group 1 with their own
hyperparameters, and sets the learning rate before every step as a schedule
does: group g's lr is lrs[step] * lr_scale[g], which is how our optimizers
scale a group (optim.LRScale).
"""

import json
import os

import sys

import torch

sys.dont_write_bytecode = True
from gen_torch import PARAMS, STEPS, loss_of, make

HERE = os.path.dirname(os.path.abspath(__file__))
# Learning rates of the five steps: a warm-up and decay, large enough that the
# groups' differences show in a few steps.
LRS = [0.3 * f for f in (0.1, 0.5, 1.0, 0.7, 0.3)]


def run(name, kind, opts, groups, dtype=torch.float64):
    ws, cs, ds = make(dtype)
    pg = [dict(params=[w], **g["torch"]) for w, g in zip(ws, groups)]
    cls = dict(sgd=torch.optim.SGD, adamw=torch.optim.AdamW, adam=torch.optim.Adam, rmsprop=torch.optim.RMSprop)[kind]
    opt = cls(pg, lr=LRS[0], **opts)
    steps = []
    for step in range(STEPS):
        for grp, g in zip(opt.param_groups, groups):
            grp["lr"] = LRS[step] * g.get("lr_scale", 1.0)
        opt.zero_grad(set_to_none=True)
        loss_of(ws, cs, ds, [True, True]).backward()
        opt.step()
        steps.append({p["name"]: w.detach().to(torch.float64).flatten().tolist() for p, w in zip(PARAMS, ws)})
    return dict(name=name, optimizer=kind, options=opts, lrs=LRS,
                dtype="float32" if dtype == torch.float32 else "float64",
                groups=[dict(options=g["torch"], lr_scale=g.get("lr_scale", 1.0)) for g in groups],
                steps=steps)


def main():
    gpt = [dict(torch=dict(weight_decay=0.1)), dict(torch=dict(weight_decay=0.0))]
    cases = [
        # The twin's recipe: AdamW, betas 0.9/0.95, decay 0.1 on 2-d weights only.
        run("adamw_gpt", "adamw", dict(betas=(0.9, 0.95), eps=1e-8), gpt),
        run("adamw_gpt_f32", "adamw", dict(betas=(0.9, 0.95), eps=1e-8), gpt, dtype=torch.float32),
        run("adam_lr_betas", "adam", dict(weight_decay=0.01),
            [dict(torch=dict(betas=(0.8, 0.9), eps=1e-3)), dict(torch=dict(weight_decay=0.2), lr_scale=0.25)]),
        run("sgd_momentum", "sgd", dict(momentum=0.9),
            [dict(torch=dict(weight_decay=0.5), lr_scale=2.0), dict(torch=dict())]),
        run("rmsprop_alpha", "rmsprop", dict(centered=True),
            [dict(torch=dict(alpha=0.9, eps=1e-4)), dict(torch=dict(weight_decay=0.1), lr_scale=0.5)]),
    ]
    with open(os.path.join(HERE, "torch_groups.json"), "w") as f:
        json.dump(dict(params=PARAMS, torch=torch.__version__, cases=cases), f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
