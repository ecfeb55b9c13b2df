"""Learning rates PyTorch (1.13) gives for ReduceLROnPlateau and LambdaLR, for optim/plateau_test.ts.

Run with Debian's Python (which has torch), then format:
  /usr/bin/python3 plateau_reference.py > plateau_reference.json && deno fmt plateau_reference.json
"""
import json
import math

import torch

METRICS = [1.0, 0.9, 0.95, 0.93, 0.9, 0.899995, 0.85, 0.86, 0.87, 0.88, 0.84, 0.849, 0.85, 0.86, 0.7,
           0.71, 0.72, 0.73, 0.74, 0.75, 0.76, 0.77, 0.78, 0.79, 0.8]
ACCURACY = [0.1, 0.3, 0.29, 0.31, 0.3, 0.3, 0.305, 0.5, 0.49, 0.48, 0.47, 0.6, 0.6, 0.6, 0.6, 0.6]

CASES = [
    ({}, METRICS),
    ({"patience": 2, "factor": 0.5}, METRICS),
    ({"patience": 1, "factor": 0.5, "cooldown": 2, "min_lr": [0.02, 0.001]}, METRICS),
    ({"patience": 0, "threshold": 0.05, "threshold_mode": "abs"}, METRICS),
    ({"mode": "max", "patience": 1, "factor": 0.3, "threshold": 0.1}, ACCURACY),
    ({"mode": "max", "patience": 2, "threshold_mode": "abs", "threshold": 0.01, "eps": 0.01}, ACCURACY),
]


def camel(k):
    head, *rest = k.split("_")
    return head + "".join(w.capitalize() for w in rest)


def optimizer():
    a = torch.nn.Parameter(torch.zeros(2))
    b = torch.nn.Parameter(torch.zeros(1))
    return torch.optim.SGD([{"params": [a]}, {"params": [b], "lr": 0.02}], lr=0.1)


plateau = []
for options, metrics in CASES:
    opt = optimizer()
    sched = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, **options)
    lrs = []
    for m in metrics:
        sched.step(m)
        lrs.append([g["lr"] for g in opt.param_groups])
    state = {k: v for k, v in sched.state_dict().items() if k not in ("verbose",)}
    plateau.append({
        "options": {camel(k): v for k, v in options.items()},
        "metrics": metrics,
        "lrs": lrs,
        "state": {k: (None if isinstance(v, float) and math.isinf(v) else v) for k, v in state.items()},
    })

opt = optimizer()
sched = torch.optim.lr_scheduler.LambdaLR(opt, [lambda e: 0.95 ** e, lambda e: min(1.0, (e + 1) / 4)])
lambda_lrs = [[g["lr"] for g in opt.param_groups]]
for _ in range(8):
    opt.step()
    sched.step()
    lambda_lrs.append([g["lr"] for g in opt.param_groups])
lambda_state = sched.state_dict()

print(json.dumps({
    "torch": torch.__version__,
    "plateau": plateau,
    "lambda": {"lrs": lambda_lrs, "stateKeys": sorted(lambda_state.keys()), "lrLambdas": lambda_state["lr_lambdas"]},
}))
