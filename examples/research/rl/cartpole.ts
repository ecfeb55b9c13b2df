/**
 * CartPole as Gymnasium's `CartPole-v1`: Barto, Sutton and Anderson's
 * cart-pole (1983) with the equations of motion of Florian's correction
 * ("Correct equations for the dynamics of the cart-pole system", 2007, as in
 * Sutton's `pole.c`), integrated by explicit Euler steps of 0.02 s.
 *
 * Two actions push the cart with ±10 N. The reward is 1 for every step,
 * including the last; the episode terminates when the cart leaves
 * `|x| ≤ 2.4` or the pole leaves `|θ| ≤ 12°`, and is truncated after 500
 * steps. The state starts uniform in `[-0.05, 0.05)⁴`. The observation is
 * `[x, ẋ, θ, θ̇]` as float32 (the state itself is kept in float64, as Gym's
 * NumPy state is).
 *
 * @module
 */

import { Generator } from "../../../mod.ts";
import { checkAction, checkSeed, type Env, type StepResult } from "./env.ts";

/** Gym's constants for CartPole-v1. */
export const CARTPOLE = {
  gravity: 9.8,
  massCart: 1.0,
  massPole: 0.1,
  /** Half the pole's length (m). */
  length: 0.5,
  forceMag: 10.0,
  /** Seconds per step. */
  tau: 0.02,
  /** 12 degrees, as Gym writes it: `12 * 2 * π / 360`. */
  thetaThreshold: 12 * 2 * Math.PI / 360,
  xThreshold: 2.4,
  /** CartPole-v1's time limit. */
  maxEpisodeSteps: 500,
} as const;

/** Options of {@link CartPole}. */
export interface CartPoleOptions {
  /** Steps before truncation (default 500, CartPole-v1's; CartPole-v0 used 200). */
  maxEpisodeSteps?: number;
  /** Seed of the random stream used when `reset` is called without one (default 0). */
  seed?: number;
}

/**
 * One Euler step of the cart-pole from `state` `[x, ẋ, θ, θ̇]` under `action` (0: push left, 1: push right).
 * Returns the next state; exported so the tests can check it against hand-worked steps.
 */
export function cartPoleDynamics(state: readonly number[], action: number): [number, number, number, number] {
  const { gravity, massCart, massPole, length, forceMag, tau } = CARTPOLE;
  const totalMass = massPole + massCart;
  const poleMassLength = massPole * length;
  const [x, xDot, theta, thetaDot] = state;
  const force = action === 1 ? forceMag : -forceMag;
  const cos = Math.cos(theta);
  const sin = Math.sin(theta);
  const temp = (force + poleMassLength * thetaDot * thetaDot * sin) / totalMass;
  const thetaAcc = (gravity * sin - cos * temp) / (length * (4 / 3 - massPole * cos * cos / totalMass));
  const xAcc = temp - poleMassLength * thetaAcc * cos / totalMass;
  // Gym's "euler" integrator: positions move with the old velocities.
  return [x + tau * xDot, xDot + tau * xAcc, theta + tau * thetaDot, thetaDot + tau * thetaAcc];
}

/** The cart-pole environment (see the module doc). Observations are `Float32Array(4)`. */
export class CartPole implements Env<Float32Array> {
  /** Push left (0) or right (1). */
  readonly numActions = 2;
  /** Length of an observation. */
  readonly observationSize = 4;
  /** Steps before truncation. */
  readonly maxEpisodeSteps: number;
  #rng: Generator;
  #state: [number, number, number, number] = [0, 0, 0, 0];
  #steps = 0;
  #done = true;

  /** A cart-pole; call {@link reset} before the first step. */
  constructor(options: CartPoleOptions = {}) {
    const max = options.maxEpisodeSteps ?? CARTPOLE.maxEpisodeSteps;
    if (!Number.isInteger(max) || max < 1) {
      throw new RangeError(`CartPole: maxEpisodeSteps must be a positive integer, got ${max}`);
    }
    checkSeed("CartPole", options.seed);
    this.maxEpisodeSteps = max;
    this.#rng = new Generator(options.seed ?? 0);
  }

  /** The state `[x, ẋ, θ, θ̇]` in float64. */
  get state(): readonly number[] {
    return [...this.#state];
  }

  /** Steps taken in this episode. */
  get elapsedSteps(): number {
    return this.#steps;
  }

  /** Starts an episode from a state uniform in `[-0.05, 0.05)⁴`; a `seed` restarts the random stream first. */
  reset(seed?: number): Float32Array {
    checkSeed("CartPole", seed);
    if (seed !== undefined) this.#rng.manualSeed(seed);
    const u = () => -0.05 + 0.1 * this.#rng.random();
    this.#state = [u(), u(), u(), u()];
    this.#steps = 0;
    this.#done = false;
    return Float32Array.from(this.#state);
  }

  /** Sets the state directly (tests and demonstrations); the episode restarts its step count. */
  setState(state: readonly number[]): void {
    if (state.length !== 4 || !state.every(Number.isFinite)) {
      throw new RangeError(`CartPole.setState: expected 4 finite numbers [x, xDot, theta, thetaDot], got [${state}]`);
    }
    this.#state = [state[0], state[1], state[2], state[3]];
    this.#steps = 0;
    this.#done = false;
  }

  /** One step: push left (0) or right (1) for 0.02 s. */
  step(action: number): StepResult<Float32Array> {
    checkAction("CartPole", action, this.numActions);
    if (this.#done) throw new Error("CartPole.step: the episode has ended; call reset() first");
    this.#state = cartPoleDynamics(this.#state, action);
    this.#steps++;
    const [x, , theta] = this.#state;
    const terminated = x < -CARTPOLE.xThreshold || x > CARTPOLE.xThreshold ||
      theta < -CARTPOLE.thetaThreshold || theta > CARTPOLE.thetaThreshold;
    // Gym's TimeLimit wrapper: truncated once the limit is reached, even on the step that also terminates.
    const truncated = this.#steps >= this.maxEpisodeSteps;
    this.#done = terminated || truncated;
    return { observation: Float32Array.from(this.#state), reward: 1, terminated, truncated };
  }
}
