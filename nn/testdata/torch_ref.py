# Prints the reference numbers in nn/torch_test.go, computed with PyTorch
# (1.13, CPU, float64). Run with /usr/bin/python3 nn/testdata/torch_ref.py.
# The inputs are simple formulas so that the Go test can rebuild them.
import math
import torch
import torch.nn.functional as F

torch.set_default_dtype(torch.float64)


def seq(shape, a, b):
    # x[k] = sin(a*k + b) * 2 for k in row-major order
    n = math.prod(shape)
    return torch.tensor([2 * math.sin(a * k + b) for k in range(n)]).reshape(shape)


def show(name, t):
    vals = ", ".join("%.17g" % v for v in t.detach().reshape(-1).tolist())
    print("%s = []float64{%s}" % (name, vals))


# BatchNorm1d on [N, C] and [N, C, L], BatchNorm2d on [N, C, H, W]: two
# training steps, then an evaluation.
for name, bn, shape in [
    ("bn1d", torch.nn.BatchNorm1d(3), (5, 3)),
    ("bn1dL", torch.nn.BatchNorm1d(3), (4, 3, 2)),
    ("bn2d", torch.nn.BatchNorm2d(3), (2, 3, 2, 3)),
]:
    with torch.no_grad():
        bn.weight.copy_(torch.tensor([1.5, -0.5, 2.0]))
        bn.bias.copy_(torch.tensor([0.1, 0.2, -0.3]))
    bn.train()
    bn(seq(shape, 0.7, 0.1))
    y2 = bn(seq(shape, 1.3, 0.4) + 0.5)
    bn.eval()
    y3 = bn(seq(shape, 0.9, 0.2))
    show(name + "Train2", y2)
    show(name + "Mean", bn.running_mean)
    show(name + "Var", bn.running_var)
    show(name + "Eval", y3)
    print("%sBatches = %d" % (name, bn.num_batches_tracked.item()))

# LayerNorm over the last two axes of [2, 3, 4].
ln = torch.nn.LayerNorm([3, 4])
with torch.no_grad():
    ln.weight.copy_(seq((3, 4), 0.5, 0.3))
    ln.bias.copy_(seq((3, 4), 0.2, 1.0))
show("lnOut", ln(seq((2, 3, 4), 1.1, 0.0)))

# Cross-entropy, plain and with label smoothing, on logits [4, 5].
logits = seq((4, 5), 0.8, 0.5) * 3
labels = torch.tensor([0, 3, 4, 1])
print("ce = %.17g" % F.cross_entropy(logits, labels).item())
print("ceSmooth = %.17g" % F.cross_entropy(logits, labels, label_smoothing=0.1).item())
show("ceSmoothNone", F.cross_entropy(logits, labels, label_smoothing=0.25, reduction="none"))
print("ceSmoothSum = %.17g" % F.cross_entropy(logits, labels, label_smoothing=0.25, reduction="sum").item())

# BCE with logits, including large logits.
x = torch.tensor([-100.0, -30.0, -2.5, -0.1, 0.0, 0.3, 4.0, 40.0, 120.0])
t = torch.tensor([0.0, 1.0, 0.2, 1.0, 0.5, 0.0, 1.0, 0.0, 1.0])
print("bce = %.17g" % F.binary_cross_entropy_with_logits(x, t).item())

# Default initialization: the bound 1/sqrt(fan_in), and the spread of
# torch's own draws (max |w| and std) for a few layers.
torch.manual_seed(0)
for name, m in [
    ("linear784x512", torch.nn.Linear(784, 512)),
    ("conv32x64k3", torch.nn.Conv2d(32, 64, 3)),
    ("conv8x4k3g2", torch.nn.Conv2d(8, 4, 3, groups=2)),
]:
    w = m.weight.detach().float()
    b = m.bias.detach().float()
    fan_in = w[0].numel()
    print("%s: fan_in %d bound %.10g wmax %.6g wstd %.6g bmax %.6g" % (
        name, fan_in, 1 / math.sqrt(fan_in), w.abs().max(), w.std(), b.abs().max()))

# State dict keys of the train command's CNN written as nn.Sequential.
cnn = torch.nn.Sequential(
    torch.nn.Conv2d(1, 32, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
    torch.nn.Conv2d(32, 64, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
    torch.nn.Flatten(), torch.nn.Linear(64 * 7 * 7, 128), torch.nn.ReLU(), torch.nn.Linear(128, 10))
print("cnn keys", list(cnn.state_dict().keys()), sum(p.numel() for p in cnn.parameters()))
bnnet = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.BatchNorm1d(3))
print("bn keys", list(bnnet.state_dict().keys()))
