# Writes nn/testdata/seq_ref.json, the PyTorch reference of nn/seq_torch_test.go:
# weights, inputs, outputs and gradients (float64) of torch.nn.MultiheadAttention,
# torch.nn.RNN, torch.nn.LSTM and torch.nn.GRU (two layers, batch first and not),
# and of the character-level GPT of ../shared/bench/w7_gpt_torch.py at a tiny size.
# Regenerate with: /usr/bin/python3 nn/testdata/gen_seq.py (PyTorch 1.13, CPU).
# Each case stores tensors as {"shape": [...], "data": [...]} under names:
# "param.<torch name>", "grad.<torch name>", "in.<x>", "gin.<x>" (gradient of an
# input), "out.<y>", "w.<y>" (the weights of the loss sum(y * w)).
import json
import math
import os

import torch
import torch.nn as nn
import torch.nn.functional as F

torch.set_default_dtype(torch.float64)
torch.manual_seed(0)


def enc(t):
    t = t.detach()
    if t.dtype == torch.bool or t.dtype == torch.int64:
        return {"shape": list(t.shape), "data": [int(v) for v in t.reshape(-1).tolist()]}
    return {"shape": list(t.shape), "data": t.reshape(-1).tolist()}


def record(module, inputs, outputs_fn):
    """Runs outputs_fn(*inputs) -> dict of outputs, loss = sum of sum(y * w_y)
    with fixed random w_y, and returns params, grads, inputs, input grads,
    outputs and loss weights."""
    case = {}
    for name, p in module.named_parameters():
        case["param." + name] = enc(p)
    for name, x in inputs.items():
        case["in." + name] = enc(x)
        if x.dtype == torch.float64:
            x.requires_grad_(True)
    outs = outputs_fn(**inputs)
    loss = 0
    for name, y in outs.items():
        w = torch.randn(y.shape)
        case["out." + name] = enc(y)
        case["w." + name] = enc(w)
        loss = loss + (y * w).sum()
    loss.backward()
    for name, p in module.named_parameters():
        case["grad." + name] = enc(p.grad)
    for name, x in inputs.items():
        if x.dtype == torch.float64:
            case["gin." + name] = enc(x.grad)
    return case


def randomize(module, scale=0.5):
    # Away from the zero biases of torch's init, so every gradient is exercised.
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(torch.randn(p.shape) * scale)


cases = {}

# MultiheadAttention: self-attention with a causal mask (boolean, True =
# forbidden) and key padding; cross-attention with a float mask; both layouts.
E, H = 6, 3
for bf in (True, False):
    mha = nn.MultiheadAttention(E, H, batch_first=bf)
    randomize(mha)
    N, L, S = 2, 4, 5

    def shape(n, l):
        return (n, l, E) if bf else (l, n, E)

    x = torch.randn(shape(N, L))
    causal = torch.triu(torch.ones(L, L, dtype=torch.bool), 1)
    pad = torch.tensor([[0, 0, 0, 1], [0, 1, 0, 0]], dtype=torch.bool)
    cases["mha_self_bf%d" % bf] = record(
        mha, {"x": x, "mask": causal, "pad": pad},
        lambda x, mask, pad: {"y": mha(x, x, x, attn_mask=mask, key_padding_mask=pad, need_weights=False)[0]})
    mha.zero_grad()
    q, k, v = torch.randn(shape(N, L)), torch.randn(shape(N, S)), torch.randn(shape(N, S))
    fmask = torch.randn(N * H, L, S)
    cases["mha_cross_bf%d" % bf] = record(
        mha, {"q": q, "k": k, "v": v, "mask": fmask},
        lambda q, k, v, mask: {"y": mha(q, k, v, attn_mask=mask, need_weights=False)[0]})

# Recurrent layers: two layers, given initial states, both layouts.
In, Hd, Ly, N, L = 3, 4, 2, 2, 5
for kind, layouts in (("rnn_tanh", (False,)), ("rnn_relu", (True,)), ("lstm", (True, False)), ("gru", (True, False))):
    for bf in layouts:
        if kind == "lstm":
            m = nn.LSTM(In, Hd, Ly, batch_first=bf)
        elif kind == "gru":
            m = nn.GRU(In, Hd, Ly, batch_first=bf)
        else:
            m = nn.RNN(In, Hd, Ly, nonlinearity=kind[4:], batch_first=bf)
        randomize(m)
        x = torch.randn((N, L, In) if bf else (L, N, In))
        h0 = torch.randn(Ly, N, Hd)
        if kind == "lstm":
            c0 = torch.randn(Ly, N, Hd)

            def run(x, h0, c0):
                y, (h, c) = m(x, (h0, c0))
                return {"y": y, "h": h, "c": c}
            cases["%s_bf%d" % (kind, bf)] = record(m, {"x": x, "h0": h0, "c0": c0}, run)
        else:
            def run(x, h0):
                y, h = m(x, h0)
                return {"y": y, "h": h}
            cases["%s_bf%d" % (kind, bf)] = record(m, {"x": x, "h0": h0}, run)

# The GPT of w7_gpt_torch.py (the same Block and GPT, written as there) at a
# tiny size; the loss is the twin's cross-entropy.
V, T, d, H, L = 7, 5, 4, 2, 2


class Block(nn.Module):
    def __init__(s):
        super().__init__()
        s.ln1, s.qkv, s.proj = nn.LayerNorm(d), nn.Linear(d, 3 * d), nn.Linear(d, d)
        s.ln2, s.fc, s.out = nn.LayerNorm(d), nn.Linear(d, 4 * d), nn.Linear(4 * d, d)
        s.register_buffer("mask", torch.tril(torch.ones(T, T, dtype=torch.bool)), persistent=False)

    def forward(s, x):
        b, t, c = x.shape
        q, k, v = s.qkv(s.ln1(x)).split(c, 2)
        q, k, v = [z.view(b, t, H, c // H).transpose(1, 2) for z in (q, k, v)]
        att = (q @ k.transpose(-2, -1)) / math.sqrt(c // H)
        att = att.masked_fill(~s.mask[:t, :t], float("-inf")).softmax(-1)
        x = x + s.proj((att @ v).transpose(1, 2).reshape(b, t, c))
        return x + s.out(F.gelu(s.fc(s.ln2(x))))


class GPT(nn.Module):
    def __init__(s):
        super().__init__()
        s.tok, s.pos = nn.Embedding(V, d), nn.Embedding(T, d)
        s.blocks = nn.Sequential(*[Block() for _ in range(L)])
        s.lnf, s.head = nn.LayerNorm(d), nn.Linear(d, V)
        for name, p in s.named_parameters():
            if p.dim() == 2:
                nn.init.normal_(p, 0.0, 0.02)
            elif name.endswith("bias"):
                nn.init.zeros_(p)

    def forward(s, idx):
        return s.head(s.lnf(s.blocks(s.tok(idx) + s.pos(torch.arange(idx.size(1))))))


gpt = GPT()
randomize(gpt)
idx = torch.randint(V, (2, T))
tgt = torch.randint(V, (2, T))
case = {"in.idx": enc(idx), "in.tgt": enc(tgt)}
for name, p in gpt.named_parameters():
    case["param." + name] = enc(p)
logits = gpt(idx)
loss = F.cross_entropy(logits.view(-1, V), tgt.view(-1))
loss.backward()
case["out.logits"] = enc(logits)
case["out.loss"] = enc(loss)
for name, p in gpt.named_parameters():
    case["grad." + name] = enc(p.grad)
cases["gpt"] = case

path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "seq_ref.json")
with open(path, "w") as f:
    json.dump({"torch": torch.__version__, "cases": cases}, f, separators=(",", ":"))
print("wrote", path, os.path.getsize(path), "bytes")
