/**
 * The `models` member of dendrite: model definitions and weights in and out
 * (safetensors).
 *
 * @example
 * ```ts ignore
 * import { loadSafetensors, saveSafetensors } from "./mod.ts";
 * await saveSafetensors(stateDict, "weights.safetensors");
 * const back = await loadSafetensors("weights.safetensors");
 * ```
 *
 * @module
 */

export {
  decodeSafetensors,
  encodeSafetensors,
  loadSafetensors,
  parseSafetensorsHeader,
  type SafetensorsEntry,
  type SafetensorsHeader,
  type SafetensorsWriteOptions,
  saveSafetensors,
} from "./safetensors.ts";
export {
  BasicBlock,
  Bottleneck,
  ResNet,
  resnet18,
  resnet34,
  resnet50,
  type ResNetBlock,
  type ResNetOptions,
} from "./resnet.ts";
export { lenet5, mlp, type MlpOptions } from "./small.ts";
export { CharRNN, type CharRNNOptions, detachState, type RnnState } from "./char_rnn.ts";
export { load, loadWeightsInto, save } from "./weights.ts";
export {
  keepProbability,
  nearestNeighbours,
  NoiseSampler,
  trainWord2Vec,
  Word2Vec,
  type Word2VecMode,
  type Word2VecOptions,
  type Word2VecProgress,
  type Word2VecResult,
} from "./word2vec.ts";
