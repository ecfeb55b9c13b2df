"""PyTorch's CPU numbers for the workloads of bench/cpu_table.ts, measured the same way.

Runs with Debian's PyTorch (python3-torch 1.13, CPU; its matmul uses the system BLAS, OpenBLAS with
libopenblas0-pthread installed) and numpy:

    /usr/bin/python3 bench/cpu_torch.py [--quick] [--rounds N] [--cpu-time]

`bench/cpu_table.ts --torch` runs it between its own rounds and prints the numbers beside dendrite's. Prints one JSON
object: each workload's best time over the rounds (best of `reps` calls after warm-up, as cpu_table.ts does):
matmul and the convolution kernels as GFLOP/s, train steps as ms. Threads: one per logical core, as dendrite's
default (PyTorch's own default is the physical cores). `--cpu-time`: one thread, timed by the process's CPU time
(set OPENBLAS_NUM_THREADS=1 too, for numpy's and PyTorch's matmul), as cpu_table.ts --cpu-time does.

The models are the ones cpu_table.ts trains (bench/workloads.ts): the MLP 784-256-10, the small CNN (conv 1->32,
pool, conv 32->64, pool, fc) and torchvision's ResNet-18 (written out here: torchvision is not a Debian package),
each with SGD (lr 0.01) on cross-entropy.
"""

import json
import os
import sys
import time

import numpy as np
import torch
from torch import nn

QUICK = "--quick" in sys.argv
ROUNDS = int(sys.argv[sys.argv.index("--rounds") + 1]) if "--rounds" in sys.argv else 1
CPU_TIME = "--cpu-time" in sys.argv
torch.set_num_threads(1 if CPU_TIME else os.cpu_count() or 1)
clock = time.process_time if CPU_TIME else time.perf_counter
torch.manual_seed(0)


def best_ms(fn, reps, warmup=1):
    for _ in range(warmup):
        fn()
    best = float("inf")
    for _ in range(reps):
        t = clock()
        fn()
        best = min(best, (clock() - t) * 1e3)
    return best


class BasicBlock(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.downsample = None
        if stride != 1 or cin != cout:
            self.downsample = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + identity)


def resnet18(num_classes):
    layers = [nn.Conv2d(3, 64, 7, 2, 3, bias=False), nn.BatchNorm2d(64), nn.ReLU(inplace=True), nn.MaxPool2d(3, 2, 1)]
    cin = 64
    for cout, stride in [(64, 1), (128, 2), (256, 2), (512, 2)]:
        layers += [BasicBlock(cin, cout, stride), BasicBlock(cout, cout, 1)]
        cin = cout
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(512, num_classes)]
    model = nn.Sequential(*layers)
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
    return model


def small_cnn():
    return nn.Sequential(
        nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(64 * 7 * 7, 10),
    )


def mlp():
    return nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 10))


def train_step(model, x, y):
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    loss_fn = nn.CrossEntropyLoss()

    def step():
        opt.zero_grad()
        loss_fn(model(x), y).backward()
        opt.step()

    return step


def measure():
    out = {}
    a, b = torch.randn(1024, 1024), torch.randn(1024, 1024)
    out["matmul"] = 2 * 1024**3 / best_ms(lambda: torch.mm(a, b), 3 if QUICK else 10, 2) / 1e6
    an, bn = a.numpy(), b.numpy()
    out["numpy_matmul"] = 2 * 1024**3 / best_ms(lambda: an @ bn, 3 if QUICK else 10, 2) / 1e6
    x, w = torch.randn(8, 64, 56, 56), torch.randn(64, 64, 3, 3)
    go = torch.randn(8, 64, 56, 56)
    flops = 2 * 8 * 64 * 56 * 56 * 64 * 9
    conv = lambda: torch.nn.functional.conv2d(x, w, padding=1)
    out["conv_forward"] = flops / best_ms(conv, 2 if QUICK else 5) / 1e6

    def backward(mask):
        return lambda: torch.ops.aten.convolution_backward(
            go, x, w, None, [1, 1], [1, 1], [1, 1], False, [0, 0], 1, mask)

    out["conv_backward_input"] = flops / best_ms(backward([True, False, False]), 2 if QUICK else 5) / 1e6
    out["conv_backward_weight"] = flops / best_ms(backward([False, True, False]), 2 if QUICK else 5) / 1e6
    out["mlp_ms"] = best_ms(train_step(mlp(), torch.randn(128, 784), torch.randint(0, 10, (128,))), 5 if QUICK else 30, 5)
    out["cnn_ms"] = best_ms(
        train_step(small_cnn(), torch.randn(32, 1, 28, 28), torch.randint(0, 10, (32,))), 3 if QUICK else 10, 2)
    out["resnet_ms"] = best_ms(
        train_step(resnet18(10), torch.randn(8, 3, 64, 64), torch.randint(0, 10, (8,))), 1 if QUICK else 5, 1)
    return out


best = {}
for _ in range(ROUNDS):
    for key, value in measure().items():
        better = min if key.endswith("_ms") else max
        best[key] = better(best.get(key, value), value)
best["threads"] = torch.get_num_threads()
best["torch"] = torch.__version__
print(json.dumps(best))
