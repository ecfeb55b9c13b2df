"""Reference trajectories for CartPole, written from Gymnasium's CartPole-v1
source (gymnasium/envs/classic_control/cartpole.py, "euler" integrator) in
NumPy float64, independently of the TypeScript environment.

    /usr/bin/python3 examples/research/rl/testdata/cartpole_reference.py > examples/research/rl/testdata/cartpole_reference.json
"""
import json
import math

import numpy as np

gravity, masscart, masspole, length, force_mag, tau = 9.8, 1.0, 0.1, 0.5, 10.0, 0.02
total_mass = masspole + masscart
polemass_length = masspole * length
theta_threshold_radians = 12 * 2 * math.pi / 360
x_threshold = 2.4


def step(state, action):
    x, x_dot, theta, theta_dot = state
    force = force_mag if action == 1 else -force_mag
    costheta, sintheta = np.cos(theta), np.sin(theta)
    temp = (force + polemass_length * np.square(theta_dot) * sintheta) / total_mass
    thetaacc = (gravity * sintheta - costheta * temp) / (
        length * (4.0 / 3.0 - masspole * np.square(costheta) / total_mass))
    xacc = temp - polemass_length * thetaacc * costheta / total_mass
    x = x + tau * x_dot
    x_dot = x_dot + tau * xacc
    theta = theta + tau * theta_dot
    theta_dot = theta_dot + tau * thetaacc
    state = np.array([x, x_dot, theta, theta_dot], dtype=np.float64)
    terminated = bool(x < -x_threshold or x > x_threshold or theta < -theta_threshold_radians
                      or theta > theta_threshold_radians)
    return state, terminated


def trajectory(start, actions):
    state = np.array(start, dtype=np.float64)
    states, terms = [], []
    for a in actions:
        state, terminated = step(state, a)
        states.append([float(v) for v in state])
        terms.append(terminated)
        if terminated:
            break
    return {"start": start, "actions": actions[:len(states)], "states": states, "terminated": terms}


def balanced(start, steps):
    """A hand-made controller (push towards where the pole falls) for `steps` steps: a long trajectory whose
    actions the test replays."""
    state = np.array(start, dtype=np.float64)
    actions = []
    for _ in range(steps):
        x, x_dot, theta, theta_dot = state
        a = 1 if theta + 0.5 * theta_dot + 0.01 * x + 0.1 * x_dot > 0 else 0
        actions.append(a)
        state, terminated = step(state, a)
        if terminated:
            break
    return trajectory(start, actions)


# A fixed action pattern from a tilted, moving start (runs until the pole falls), an all-right push from rest (the
# pole falls backwards), and 500 balanced steps.
pattern = [(i * 7 + i // 3) % 2 for i in range(300)]
out = {
    "pattern": trajectory([0.01, -0.02, 0.03, 0.04], pattern),
    "push_right": trajectory([0.0, 0.0, 0.0, 0.0], [1] * 300),
    "balanced": balanced([0.02, 0.01, -0.03, 0.02], 500),
}
print(json.dumps(out))
