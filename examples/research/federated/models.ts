/**
 * The model the federated and private examples train, by name, so that a
 * Worker can build the same architecture from a plain-data message.
 *
 * @module
 */

import { models, nn } from "../../../mod.ts";

/** Architectures a client can build. */
export type ModelName = "mlp" | "lenet5";

/**
 * A fresh model: the 784-200-200-10 MLP of McMahan et al. ("2NN", 199,210 parameters) or LeNet-5 (61,706 parameters,
 * several times slower per step on the CPU). Neither has batch norm, so averaging weights averages the whole model.
 */
export function buildModel(name: ModelName): nn.Sequential {
  if (name === "lenet5") return models.lenet5();
  if (name === "mlp") return new nn.Sequential(new nn.Flatten(), models.mlp([784, 200, 200, 10]));
  throw new RangeError(`buildModel: unknown model "${name}" (expected "mlp" or "lenet5")`);
}
