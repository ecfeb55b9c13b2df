"""Reference iterates of PyTorch's torch.optim.LBFGS for optim/lbfgs_test.ts.

Run with Debian's Python (PyTorch 1.13): /usr/bin/python3 optim/testdata/lbfgs_reference.py
It writes optim/testdata/lbfgs_reference.json (then `deno fmt` it): for each case, the options, the data, and after every step() the
returned loss, the parameters and the counters func_evals / n_iter. Everything is float64, so the TypeScript port
can be compared to rounding.
"""
import json
import math
import os

import torch

torch.set_default_dtype(torch.float64)


def rosenbrock(p):
    return (100 * (p[1:] - p[:-1] ** 2) ** 2 + (1 - p[:-1]) ** 2).sum()


def logistic_data():
    n, d = 24, 3
    x = [[math.sin(3.0 * i + 1.7 * j) + 0.1 * j for j in range(d)] for i in range(n)]
    y = [1.0 if math.cos(2.0 * i) + 0.3 * x[i][0] > 0 else 0.0 for i in range(n)]
    return x, y


def run(name, init, loss_fn, options, steps, data=None):
    p = torch.tensor(init, requires_grad=True)
    opt = torch.optim.LBFGS([p], **options)

    def closure():
        opt.zero_grad()
        loss = loss_fn(p)
        loss.backward()
        return loss

    record = []
    for _ in range(steps):
        loss = opt.step(closure)
        state = opt.state[p]
        record.append({
            "loss": float(loss),
            "params": p.detach().tolist(),
            "func_evals": state["func_evals"],
            "n_iter": state["n_iter"],
        })
    camel = {
        "lr": "lr", "max_iter": "maxIter", "max_eval": "maxEval", "tolerance_grad": "toleranceGrad",
        "tolerance_change": "toleranceChange", "history_size": "historySize", "line_search_fn": "lineSearchFn",
    }
    return {
        "name": name,
        "init": init,
        "options": {camel[k]: v for k, v in options.items()},
        "data": data,
        "steps": record,
    }


x, y = logistic_data()
X, Y = torch.tensor(x), torch.tensor(y)


def logistic(w):
    # Mean binary cross-entropy of a logistic model (weights w[:3], bias w[3]) plus a small L2 penalty.
    z = X @ w[:3] + w[3]
    return torch.nn.functional.binary_cross_entropy_with_logits(z, Y) + 0.01 * (w[:3] ** 2).sum()


cases = [
    run("rosenbrock 2-D, strong Wolfe", [-1.5, 2.0], rosenbrock,
        {"line_search_fn": "strong_wolfe", "max_iter": 10}, 6),
    run("rosenbrock 6-D, strong Wolfe, history 3", [-1.2, 1.0, -0.5, 0.8, 1.3, -0.9], rosenbrock,
        {"line_search_fn": "strong_wolfe", "max_iter": 15, "history_size": 3}, 5),
    run("logistic regression, fixed steps, history 4", [0.0, 0.0, 0.0, 0.0], logistic,
        {"lr": 0.5, "max_iter": 7, "history_size": 4}, 4, {"x": x, "y": y}),
    run("rosenbrock 2-D, fixed steps lr 0.1", [0.5, 0.0], rosenbrock, {"lr": 0.1, "max_iter": 8}, 3),
]

out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "lbfgs_reference.json")
with open(out, "w") as f:
    json.dump({"torch": torch.__version__, "cases": cases}, f, indent=1)
print("wrote", out)
for c in cases:
    print(c["name"], c["steps"][-1])
