"""Reference values of F.interpolate from PyTorch (1.13, CPU, float64) for tensor/ops/interpolate_test.ts.

Run with Debian's Python (which has torch): /usr/bin/python3 interpolate_reference.py > interpolate_reference.json
Inputs and upstream gradients are small exact values both sides can build: x[i] = ((37 i) mod 17)/4 - 2 and
gy[i] = ((13 i) mod 7)/2 - 1.5, row-major.
"""
import json

import torch
import torch.nn.functional as F

CASES = [
    # shape, options (our names)
    ([1, 1, 3, 4], {"scaleFactor": 2}),
    ([2, 1, 3, 5], {"scaleFactor": [1.7, 0.6]}),
    ([1, 2, 4, 3], {"scaleFactor": 3.3, "recomputeScaleFactor": True}),
    ([1, 1, 5, 5], {"size": [8, 3]}),
    ([1, 1, 4, 6], {"size": [9, 6]}),
    ([1, 1, 3, 4], {"scaleFactor": 2, "mode": "bilinear"}),
    ([2, 1, 3, 5], {"scaleFactor": [1.7, 0.6], "mode": "bilinear"}),
    ([1, 2, 4, 3], {"scaleFactor": 3.3, "mode": "bilinear", "recomputeScaleFactor": True}),
    ([1, 1, 5, 5], {"size": [8, 3], "mode": "bilinear"}),
    ([1, 1, 5, 5], {"size": [8, 3], "mode": "bilinear", "alignCorners": True}),
    ([1, 2, 3, 4], {"scaleFactor": 2.5, "mode": "bilinear", "alignCorners": True}),
    ([1, 1, 4, 4], {"size": [1, 7], "mode": "bilinear", "alignCorners": True}),
    ([1, 1, 6, 7], {"size": [2, 3], "mode": "bilinear"}),
]


def values(n, f):
    return torch.tensor([f(i) for i in range(n)], dtype=torch.float64)


out = []
for shape, o in CASES:
    n = 1
    for s in shape:
        n *= s
    x = values(n, lambda i: ((37 * i) % 17) / 4 - 2).reshape(shape).requires_grad_()
    kw = {"mode": o.get("mode", "nearest")}
    if "size" in o:
        kw["size"] = tuple(o["size"])
    if "scaleFactor" in o:
        sf = o["scaleFactor"]
        kw["scale_factor"] = tuple(sf) if isinstance(sf, list) else sf
    if "alignCorners" in o:
        kw["align_corners"] = o["alignCorners"]
    if "recomputeScaleFactor" in o:
        kw["recompute_scale_factor"] = o["recomputeScaleFactor"]
    y = F.interpolate(x, **kw)
    gy = values(y.numel(), lambda i: ((13 * i) % 7) / 2 - 1.5).reshape(y.shape)
    (y * gy).sum().backward()
    out.append({
        "shape": shape,
        "options": o,
        "outShape": list(y.shape),
        "y": y.detach().flatten().tolist(),
        "dx": x.grad.flatten().tolist(),
    })
print(json.dumps({"torch": torch.__version__, "cases": out}))
