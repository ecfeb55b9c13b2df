"""Reference values for the RDP accountant, computed independently of its series: A_alpha of the sampled Gaussian
mechanism by numerical integration of its definition (Mironov, Talwar and Zhang 2019),

    A_alpha = E_{z ~ N(0, sigma^2)} [((1 - q) + q exp((2z - 1) / (2 sigma^2)))^alpha],

with mpmath at 20 digits, then eps_alpha = log(A_alpha) / (alpha - 1) per step, and the Balle et al. (2020)
conversion to (eps, delta).

    /usr/bin/python3 examples/research/privacy/testdata/rdp_reference.py > examples/research/privacy/testdata/rdp_reference.json
"""
import json

import mpmath as mp

mp.mp.dps = 20


def log_a(q, sigma, alpha):
    q, sigma, alpha = mp.mpf(q), mp.mpf(sigma), mp.mpf(alpha)

    def f(z):
        return mp.npdf(z, 0, sigma) * ((1 - q) + q * mp.exp((2 * z - 1) / (2 * sigma**2)))**alpha

    # The integrand's mass sits near 0 and, for large alpha, near alpha/2 ... alpha: split the range there.
    points = [-mp.inf, -10 * sigma, 0, 0.5, alpha / 2, alpha, alpha + 10 * sigma, mp.inf]
    points = sorted(set(points))
    return mp.log(mp.quad(f, points, maxdegree=8))


DEFAULT_ALPHAS = [1 + x / 10 for x in range(1, 100)] + list(range(12, 64))

cases = []
for q, sigma, alpha in [
    (0.01, 1.1, 2), (0.01, 1.1, 3.5), (0.01, 1.1, 10), (0.01, 1.1, 32),
    (0.004, 1.0, 1.5), (0.004, 1.0, 8), (0.004, 1.0, 17),
    (0.05, 0.8, 2.5), (0.05, 0.8, 6), (0.2, 2.0, 12.3), (0.5, 3.0, 40),
]:
    cases.append({"q": q, "sigma": sigma, "alpha": alpha, "log_a": float(log_a(q, sigma, alpha))})


def epsilon(q, sigma, steps, delta):
    best = (mp.inf, None)
    for a in DEFAULT_ALPHAS:
        rdp = steps * log_a(q, sigma, a) / (a - 1)
        eps = rdp - (mp.log(delta) + mp.log(a)) / (a - 1) + mp.log(mp.mpf(a - 1) / a)
        if eps < best[0]:
            best = (eps, a)
    return float(best[0]), best[1]


# The DP-SGD example's default and quick settings, and a wider one.
runs = []
for q, sigma, steps, delta in [(256 / 8000, 1.0, 500, 1e-5), (64 / 1000, 1.0, 30, 1e-3), (0.01, 1.1, 6000, 1e-5)]:
    eps, order = epsilon(q, sigma, steps, delta)
    runs.append({"q": q, "sigma": sigma, "steps": steps, "delta": delta, "epsilon": eps, "order": order})

print(json.dumps({"log_a": cases, "epsilon": runs}, indent=1))
