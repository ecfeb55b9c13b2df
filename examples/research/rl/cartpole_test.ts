import { deepStrictEqual, ok, throws } from "node:assert/strict";
import { CartPole, cartPoleDynamics } from "./cartpole.ts";

function close(actual: readonly number[], expected: readonly number[], tol: number, what: string): void {
  for (let i = 0; i < expected.length; i++) {
    const err = Math.abs(actual[i] - expected[i]);
    if (!(err <= tol * Math.max(1, Math.abs(expected[i])))) {
      throw new Error(`${what}[${i}]: got ${actual[i]}, expected ${expected[i]} (error ${err})`);
    }
  }
}

Deno.test("CartPole: two steps worked by hand from rest (Gym's equations, Euler)", () => {
  // From rest, push right (F = 10): sinθ = 0, cosθ = 1, so
  //   temp = F / (m_c + m_p) = 10 / 1.1 = 100/11,
  //   θ̈ = −temp / (l (4/3 − m_p/(m_c + m_p))) = −(100/11) / (0.5 · 41/33) = −600/41,
  //   ẍ = temp − m_p l θ̈ / (m_c + m_p) = 100/11 + 0.05 · (600/41) / 1.1 = 4400/451.
  // Euler with τ = 0.02 moves positions with the old velocities (0), velocities by τ·acceleration.
  const s1 = cartPoleDynamics([0, 0, 0, 0], 1);
  close(s1, [0, 0.02 * 4400 / 451, 0, 0.02 * -600 / 41], 1e-15, "step 1");
  // Push left from there: θ is still 0 and the θ̇² term is multiplied by sinθ = 0, so the accelerations are the
  // same with the sign flipped and both velocities return to exactly 0, while the positions move by τ·velocity.
  const s2 = cartPoleDynamics(s1, 0);
  close(s2, [0.02 * 0.02 * 4400 / 451, 0, 0.02 * 0.02 * -600 / 41, 0], 1e-15, "step 2");
  // Through the environment: float32 observations of the float64 state, reward 1, not done.
  const env = new CartPole();
  env.reset(0);
  env.setState([0, 0, 0, 0]);
  const r = env.step(1);
  deepStrictEqual(Array.from(r.observation), Array.from(Float32Array.from(s1)));
  deepStrictEqual([r.reward, r.terminated, r.truncated], [1, false, false]);
});

Deno.test("CartPole: trajectories match an independent NumPy implementation of Gym's CartPole-v1", async () => {
  const ref = JSON.parse(
    await Deno.readTextFile(new URL("./testdata/cartpole_reference.json", import.meta.url)),
  ) as Record<string, { start: number[]; actions: number[]; states: number[][]; terminated: boolean[] }>;
  for (const [name, t] of Object.entries(ref)) {
    // Every transition on its own: set the reference state, take the reference action, compare.
    const env = new CartPole();
    env.reset(0);
    t.actions.forEach((a, i) => {
      env.setState(i === 0 ? t.start : t.states[i - 1]);
      const r = env.step(a);
      close(env.state, t.states[i], 1e-13, `${name} transition ${i + 1}`);
      deepStrictEqual(r.terminated, t.terminated[i], `${name} transition ${i + 1} terminated`);
      deepStrictEqual(r.reward, 1);
    });
    // Open loop from the start: rounding differences between the two sine implementations grow (the balanced
    // pole is unstable), so the first 100 steps are compared, within 1e-9.
    env.setState(t.start);
    for (let i = 0; i < Math.min(100, t.actions.length); i++) {
      env.step(t.actions[i]);
      close(env.state, t.states[i], 1e-9, `${name} step ${i + 1}`);
    }
  }
  // The falling trajectories end by the angle limit; the balanced one runs the full 500 steps.
  deepStrictEqual(ref.pattern.terminated.at(-1), true);
  ok(Math.abs(ref.pattern.states.at(-1)![2]) > 12 * Math.PI / 180);
  deepStrictEqual(ref.balanced.states.length, 500);
  // The same controller, closed loop here: the episode is truncated at step 500, not terminated.
  const env = new CartPole();
  let obs = env.reset(0);
  env.setState(ref.balanced.start);
  obs = Float32Array.from(ref.balanced.start);
  for (let i = 1; i <= 500; i++) {
    const [x, xDot, theta, thetaDot] = obs;
    const r = env.step(theta + 0.5 * thetaDot + 0.01 * x + 0.1 * xDot > 0 ? 1 : 0);
    deepStrictEqual([r.terminated, r.truncated], [false, i === 500], `step ${i}`);
    obs = r.observation;
  }
});

Deno.test("CartPole: the limits — 12°, 2.4 m, 500 steps — and the episode protocol", () => {
  const env = new CartPole();
  const limit = 12 * 2 * Math.PI / 360;
  // θ̇ carries θ past the limit in one step: θ' = θ + τθ̇.
  env.reset(0);
  env.setState([0, 0, limit - 1e-4, 0.01]); // θ' = limit + 1e-4
  deepStrictEqual(env.step(0).terminated, true);
  env.setState([0, 0, limit - 1e-3, 0.01]); // θ' = limit − 8e-4: still up
  deepStrictEqual(env.step(0).terminated, false);
  env.setState([2.39, 1, 0, 0]); // x' = 2.41
  deepStrictEqual(env.step(1).terminated, true);
  env.setState([-2.39, -1, 0, 0]);
  deepStrictEqual(env.step(0).terminated, true);
  // A finished episode refuses further steps until reset.
  throws(() => env.step(0), /episode has ended; call reset/);
  // Truncation after maxEpisodeSteps, without termination.
  const short = new CartPole({ maxEpisodeSteps: 3 });
  short.reset(1);
  short.setState([0, 0, 0, 0]);
  const flags = [1, 0, 1].map((a) => short.step(a)).map((r) => [r.terminated, r.truncated]);
  deepStrictEqual(flags, [[false, false], [false, false], [false, true]]);
  // Bad input is refused before anything changes.
  env.reset(0);
  const before = env.state;
  throws(() => env.step(2), /action must be an integer in \[0, 2\), got 2/);
  throws(() => env.step(0.5), /got 0.5/);
  deepStrictEqual(env.state, before);
  throws(() => env.reset(-1), /seed must be a non-negative integer/);
  throws(() => new CartPole({ maxEpisodeSteps: 0 }), /maxEpisodeSteps must be a positive integer/);
  throws(() => env.setState([0, 0, NaN, 0]), /4 finite numbers/);
});

Deno.test("CartPole: reset(seed) is reproducible, starts in [-0.05, 0.05), and reset() continues the stream", () => {
  const a = new CartPole(), b = new CartPole();
  const first = a.reset(7);
  deepStrictEqual(Array.from(b.reset(7)), Array.from(first));
  for (const v of a.state) ok(v >= -0.05 && v < 0.05, `${v}`);
  const second = a.reset();
  ok(Array.from(second).some((v, i) => v !== first[i]), "a fresh start without a seed");
  deepStrictEqual(Array.from(b.reset()), Array.from(second));
  // Different seeds, different starts; the same actions, the same trajectory.
  ok(Array.from(new CartPole().reset(8)).some((v, i) => v !== first[i]));
  a.reset(3);
  b.reset(3);
  for (let i = 0; i < 20; i++) deepStrictEqual(a.step(i % 2), b.step(i % 2));
});
