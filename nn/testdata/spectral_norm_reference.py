"""Reference values for nn/spectral_norm_test.ts, computed by PyTorch's torch.nn.utils.spectral_norm.

Run from the repository root with Debian's PyTorch (1.13):

    /usr/bin/python3 nn/testdata/spectral_norm_reference.py

For a Linear, a Conv2d and a ConvTranspose2d (float64, seeded) it writes to spectral_norm_reference.json the state
dict after spectral_norm is applied (weight_orig, weight_u, weight_v under PyTorch's keys), an input, and after two
training-mode forward calls and then one eval-mode call: the output, the normalised weight, u and v after each call,
and the gradient of sum(output of the first call · c) with respect to weight_orig for a fixed c.
"""

import json
import os

import torch
from torch import nn

HERE = os.path.dirname(os.path.abspath(__file__))


def t(x):
    x = x.detach().contiguous()
    return {"shape": list(x.shape), "data": [float(v) for v in x.reshape(-1).tolist()]}


def case(name, module, x):
    module = nn.utils.spectral_norm(module.double())
    state = {k: t(v) for k, v in module.state_dict().items()}
    calls = []
    module.train()
    for mode in ["train", "train", "eval"]:
        module.train(mode == "train")
        out = module(x)
        calls.append({"mode": mode, "output": t(out), "weight": t(module.weight), "u": t(module.weight_u), "v": t(module.weight_v)})
    # The gradient of one training call's output, from a fresh copy of the starting state.
    fresh = nn.utils.spectral_norm(type(module)(**ARGS[name]).double())
    fresh.load_state_dict({k: torch.tensor(v["data"], dtype=torch.float64).reshape(v["shape"]) for k, v in state.items()})
    fresh.train()
    out = fresh(x)
    c = torch.linspace(-1, 1, out.numel(), dtype=torch.float64).reshape(out.shape)
    (out * c).sum().backward()
    return {"name": name, "args": ARGS[name], "state": state, "keys": list(state.keys()), "input": t(x), "calls": calls,
            "grad_weight_orig": t(fresh.weight_orig.grad)}


ARGS = {
    "Linear": {"in_features": 5, "out_features": 4},
    "Conv2d": {"in_channels": 2, "out_channels": 3, "kernel_size": 3},
    "ConvTranspose2d": {"in_channels": 3, "out_channels": 2, "kernel_size": 2},
}

torch.manual_seed(0)
cases = [
    case("Linear", nn.Linear(**ARGS["Linear"]), torch.randn(3, 5, dtype=torch.float64)),
    case("Conv2d", nn.Conv2d(**ARGS["Conv2d"]), torch.randn(2, 2, 5, 5, dtype=torch.float64)),
    case("ConvTranspose2d", nn.ConvTranspose2d(**ARGS["ConvTranspose2d"]), torch.randn(1, 3, 3, 3, dtype=torch.float64)),
]
with open(os.path.join(HERE, "spectral_norm_reference.json"), "w") as f:
    json.dump({"torch": torch.__version__, "cases": cases}, f)
    f.write("\n")
