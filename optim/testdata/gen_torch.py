#!/usr/bin/python3
"""Reference data for the optim package's tests, computed with PyTorch.

Run with /usr/bin/python3 from anywhere; it rewrites the torch_*.json files
beside it. CI does not run it: the JSON it writes is committed.

Every optimizer case minimises, for each parameter w with fixed coefficient
tensors c and d,

    loss = sum(c * w * w + d * w * w * w)

whose gradient 2cw + 3dw^2 changes as w moves, for five steps, and records
the parameter values after each step. The Go tests build the same loss with
the backprop package, call Backward, step their optimizer and compare.
"""

import json
import os

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
STEPS = 5

# Two parameters, so that per-parameter state and names are exercised.
PARAMS = [
    dict(name="fc.weight", shape=[2, 3],
         init=[0.5, -1.2, 0.8, 1.5, -0.3, 0.9],
         c=[1.0, 0.5, 2.0, 0.25, 1.5, 0.75],
         d=[0.1, -0.2, 0.05, 0.3, -0.1, 0.2]),
    dict(name="fc.bias", shape=[3],
         init=[0.2, -0.7, 1.1],
         c=[0.8, 1.3, 0.6],
         d=[-0.15, 0.25, 0.1]),
]


def loss_of(ws, cs, ds, include):
    total = None
    for w, c, d, inc in zip(ws, cs, ds, include):
        if not inc:
            continue
        term = (c * w * w + d * w * w * w).sum()
        total = term if total is None else total + term
    return total


def make(dtype):
    ws = [torch.tensor(p["init"], dtype=dtype).reshape(p["shape"]).requires_grad_() for p in PARAMS]
    cs = [torch.tensor(p["c"], dtype=dtype).reshape(p["shape"]) for p in PARAMS]
    ds = [torch.tensor(p["d"], dtype=dtype).reshape(p["shape"]) for p in PARAMS]
    return ws, cs, ds


def build(kind, ws, lr, opts):
    if kind == "sgd":
        return torch.optim.SGD(ws, lr=lr, **opts)
    if kind == "rmsprop":
        return torch.optim.RMSprop(ws, lr=lr, **opts)
    if kind == "adam":
        return torch.optim.Adam(ws, lr=lr, **opts)
    if kind == "adamw":
        return torch.optim.AdamW(ws, lr=lr, **opts)
    raise ValueError(kind)


def run_case(name, kind, lr, opts, dtype=torch.float64, skip=None):
    """skip maps a parameter index to the steps at which it gets no gradient
    (its grad is set to None, so torch leaves it and its state alone)."""
    skip = skip or {}
    ws, cs, ds = make(dtype)
    opt = build(kind, ws, lr, opts)
    steps = []
    for step in range(STEPS):
        include = [step not in skip.get(i, ()) for i in range(len(ws))]
        opt.zero_grad(set_to_none=True)
        loss_of(ws, cs, ds, include).backward()
        opt.step()
        steps.append({p["name"]: w.detach().to(torch.float64).flatten().tolist() for p, w in zip(PARAMS, ws)})
    return dict(name=name, optimizer=kind, lr=lr, options=opts,
                dtype="float32" if dtype == torch.float32 else "float64",
                skip={PARAMS[i]["name"]: list(v) for i, v in skip.items()},
                steps=steps)


def write(fname, obj):
    with open(os.path.join(HERE, fname), "w") as f:
        json.dump(obj, f, indent=1)
        f.write("\n")


def optimizers():
    sgd = [
        run_case("sgd_plain", "sgd", 0.1, {}),
        run_case("sgd_momentum", "sgd", 0.05, dict(momentum=0.9)),
        run_case("sgd_nesterov", "sgd", 0.05, dict(momentum=0.9, nesterov=True)),
        run_case("sgd_weight_decay", "sgd", 0.1, dict(weight_decay=0.1)),
        run_case("sgd_dampening", "sgd", 0.05, dict(momentum=0.8, dampening=0.3, weight_decay=0.01)),
        run_case("sgd_maximize", "sgd", 0.01, dict(momentum=0.5, maximize=True)),
    ]
    rmsprop = [
        run_case("rmsprop_plain", "rmsprop", 0.01, {}),
        run_case("rmsprop_alpha_wd", "rmsprop", 0.02, dict(alpha=0.9, eps=1e-6, weight_decay=0.05)),
        run_case("rmsprop_momentum", "rmsprop", 0.01, dict(momentum=0.9)),
        run_case("rmsprop_centered", "rmsprop", 0.01, dict(centered=True)),
        run_case("rmsprop_centered_momentum", "rmsprop", 0.005, dict(centered=True, momentum=0.7, alpha=0.95)),
    ]
    adam = [
        run_case("adam_plain", "adam", 0.1, {}),
        run_case("adam_betas_eps", "adam", 0.05, dict(betas=(0.8, 0.95), eps=1e-3)),
        run_case("adam_weight_decay", "adam", 0.1, dict(weight_decay=0.1)),
        run_case("adam_amsgrad", "adam", 0.1, dict(amsgrad=True, betas=(0.5, 0.6))),
        run_case("adam_skipped_grads", "adam", 0.1, {}, skip={1: (1, 2)}),
        run_case("adam_maximize", "adam", 0.01, dict(maximize=True)),
        run_case("adamw_default", "adamw", 0.1, {}),
        run_case("adamw_weight_decay", "adamw", 0.1, dict(weight_decay=0.3, betas=(0.85, 0.99))),
        run_case("adamw_amsgrad", "adamw", 0.05, dict(amsgrad=True, weight_decay=0.1, betas=(0.5, 0.6))),
    ]
    f32 = [
        run_case("f32_sgd_nesterov", "sgd", 0.05, dict(momentum=0.9, nesterov=True, weight_decay=0.01), dtype=torch.float32),
        run_case("f32_rmsprop_centered", "rmsprop", 0.01, dict(centered=True, momentum=0.5), dtype=torch.float32),
        run_case("f32_adam_amsgrad", "adam", 0.1, dict(amsgrad=True, weight_decay=0.01), dtype=torch.float32),
        run_case("f32_adamw", "adamw", 0.1, {}, dtype=torch.float32),
    ]
    header = dict(params=PARAMS, steps=STEPS, torch=torch.__version__)
    write("torch_sgd.json", dict(header, cases=sgd))
    write("torch_rmsprop.json", dict(header, cases=rmsprop))
    write("torch_adam.json", dict(header, cases=adam))
    write("torch_float32.json", dict(header, cases=f32))


def lr_sequence(make_sched, base_lr, epochs):
    w = torch.zeros(1, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.SGD([w], lr=base_lr)
    sched = make_sched(opt)
    lrs = [opt.param_groups[0]["lr"]]
    for _ in range(epochs - 1):
        opt.step()
        sched.step()
        lrs.append(opt.param_groups[0]["lr"])
    return lrs


def schedules():
    S = torch.optim.lr_scheduler
    cases = [
        dict(name="step", schedule=dict(kind="step", step_size=3, gamma=0.5), base_lr=0.1,
             lrs=lr_sequence(lambda o: S.StepLR(o, step_size=3, gamma=0.5), 0.1, 12)),
        dict(name="step_gamma_0.9", schedule=dict(kind="step", step_size=1, gamma=0.9), base_lr=0.3,
             lrs=lr_sequence(lambda o: S.StepLR(o, step_size=1, gamma=0.9), 0.3, 10)),
        # Past T_max torch's cosine keeps going (it is periodic), so 14 epochs
        # for T_max=5 check that too.
        dict(name="cosine", schedule=dict(kind="cosine", t_max=5, eta_min=0.01), base_lr=0.1,
             lrs=lr_sequence(lambda o: S.CosineAnnealingLR(o, T_max=5, eta_min=0.01), 0.1, 14)),
        dict(name="cosine_zero_min", schedule=dict(kind="cosine", t_max=8, eta_min=0.0), base_lr=1.0,
             lrs=lr_sequence(lambda o: S.CosineAnnealingLR(o, T_max=8), 1.0, 9)),
        # Linear warm-up for 3 epochs from 0.1 * base, then the cosine
        # schedule started afresh: torch's LinearLR followed by
        # CosineAnnealingLR through SequentialLR.
        dict(name="warmup_cosine",
             schedule=dict(kind="warmup", steps=3, start_factor=0.1,
                           then=dict(kind="cosine", t_max=6, eta_min=0.001)),
             base_lr=0.2,
             lrs=lr_sequence(lambda o: S.SequentialLR(o, [
                 S.LinearLR(o, start_factor=0.1, total_iters=3),
                 S.CosineAnnealingLR(o, T_max=6, eta_min=0.001)], milestones=[3]), 0.2, 12)),
        dict(name="warmup_step",
             schedule=dict(kind="warmup", steps=4, start_factor=0.25,
                           then=dict(kind="step", step_size=2, gamma=0.1)),
             base_lr=0.5,
             lrs=lr_sequence(lambda o: S.SequentialLR(o, [
                 S.LinearLR(o, start_factor=0.25, total_iters=4),
                 S.StepLR(o, step_size=2, gamma=0.1)], milestones=[4]), 0.5, 10)),
        dict(name="warmup_alone", schedule=dict(kind="warmup", steps=5, start_factor=1.0 / 3),
             base_lr=0.1,
             lrs=lr_sequence(lambda o: S.LinearLR(o, start_factor=1.0 / 3, total_iters=5), 0.1, 9)),
    ]
    write("torch_sched.json", dict(torch=torch.__version__, cases=cases))


def clipping():
    cases = []
    for name, max_norm in [("clip", 1.0), ("no_clip", 100.0), ("clip_small", 0.05)]:
        ws, cs, ds = make(torch.float64)
        loss_of(ws, cs, ds, [True, True]).backward()
        grads = {p["name"]: w.grad.flatten().tolist() for p, w in zip(PARAMS, ws)}
        total = torch.nn.utils.clip_grad_norm_(ws, max_norm)
        cases.append(dict(name=name, max_norm=max_norm, grads=grads, total_norm=total.item(),
                          clipped={p["name"]: w.grad.flatten().tolist() for p, w in zip(PARAMS, ws)}))
    write("torch_clip.json", dict(params=PARAMS, torch=torch.__version__, cases=cases))


if __name__ == "__main__":
    optimizers()
    schedules()
    clipping()
