/**
 * What the policy-gradient agents share: small MLPs, sampling actions from
 * a batch of logits, and discounted returns.
 *
 * @module
 */

import { type Generator, models, type nn, noGrad, type Tensor, tensor, tidy } from "../../../mod.ts";

/**
 * An MLP `sizes[0] → … → sizes.at(-1)` with ReLU between layers: the small policy and value nets. (ReLU rather than
 * the tanh of many PPO set-ups: on the CPU backend tanh is a scalar loop, several times slower than ReLU.)
 */
export function policyMlp(sizes: readonly number[]): nn.Sequential {
  return models.mlp(sizes);
}

/** A module of one tensor in and one out. */
export type TensorFn = { forward(x: Tensor): Tensor };

/**
 * Samples one action per row of `net(observations)`'s logits (`rows × observationSize` in, categorical over the
 * columns), with the probabilities read back once. Returns the actions and each one's log-probability.
 */
export function sampleActions(
  net: TensorFn,
  observations: Float32Array,
  rows: number,
  rng: Generator,
): { actions: Int32Array; logProbs: Float32Array } {
  const probs = tidy(() =>
    noGrad(() => net.forward(tensor(observations).reshape([rows, -1])).softmax(1)).dataSync() as Float32Array
  );
  const k = probs.length / rows;
  const actions = new Int32Array(rows);
  const logProbs = new Float32Array(rows);
  for (let r = 0; r < rows; r++) {
    const u = rng.random();
    let acc = 0, a = k - 1;
    for (let j = 0; j < k; j++) {
      acc += probs[r * k + j];
      if (u < acc) {
        a = j;
        break;
      }
    }
    actions[r] = a;
    logProbs[r] = Math.log(Math.max(probs[r * k + a], 1e-30));
  }
  return { actions, logProbs };
}

/** `G_t = r_t + γ G_{t+1}` over one episode's rewards (`G` after the last step is 0). */
export function discountedReturns(rewards: ArrayLike<number>, gamma: number): Float32Array {
  const out = new Float32Array(rewards.length);
  let g = 0;
  for (let t = rewards.length - 1; t >= 0; t--) {
    g = rewards[t] + gamma * g;
    out[t] = g;
  }
  return out;
}
