/**
 * Neural networks, PyTorch-style: `Module`, `Parameter`, containers, layers,
 * losses, `functional` (alias `F`) and `init`.
 *
 * @example
 * ```ts
 * import { randn, tensor } from "@dendrite/tensor";
 * import * as nn from "./mod.ts";
 * const net = new nn.Sequential(
 *   new nn.Conv2d(1, 8, 3, { padding: 1 }),
 *   new nn.BatchNorm2d(8),
 *   new nn.ReLU(),
 *   new nn.MaxPool2d(2),
 *   new nn.Flatten(),
 *   new nn.Linear(8 * 4 * 4, 10),
 * );
 * const loss = new nn.CrossEntropyLoss().forward(net.forward(randn([2, 1, 8, 8])), tensor([3, 7], { dtype: "int32" }));
 * loss.backward();
 * console.log(Object.keys(net.stateDict()).slice(0, 3)); // ["0.weight", "0.bias", "1.weight"]
 * ```
 *
 * @module
 */

export {
  type HookOptions,
  type LoadStateDictOptions,
  type LoadStateDictResult,
  Module,
  Parameter,
  type StateDict,
} from "./module.ts";
export { type ForwardHook, type ForwardPreHook, type FullBackwardHook, RemovableHandle } from "./hooks.ts";
export { ModuleDict, ModuleList, Sequential, type TensorModule } from "./containers.ts";
export {
  Embedding,
  type EmbeddingOptions,
  type FactoryOptions,
  Flatten,
  type FromPretrainedOptions,
  Identity,
  Linear,
  type LinearOptions,
  Unflatten,
} from "./linear.ts";
export { Conv2d, type Conv2dLayerOptions, ConvTranspose2d, type ConvTranspose2dLayerOptions } from "./conv.ts";
export { AdaptiveAvgPool2d, AvgPool2d, MaxPool2d } from "./pooling.ts";
export { Upsample } from "./upsampling.ts";
export {
  BatchNorm1d,
  BatchNorm2d,
  BatchNormBase,
  type BatchNormLayerOptions,
  GroupNorm,
  type GroupNormOptions,
  LayerNorm,
  type LayerNormOptions,
  RMSNorm,
  type RMSNormOptions,
} from "./normalization.ts";
export {
  MultiheadAttention,
  type MultiheadAttentionForwardOptions,
  type MultiheadAttentionOptions,
} from "./attention.ts";
export {
  type DecoderForwardOptions,
  type DecoderLayerForwardOptions,
  type EncoderForwardOptions,
  type EncoderLayerForwardOptions,
  generateSquareSubsequentMask,
  Transformer,
  type TransformerActivation,
  TransformerDecoder,
  TransformerDecoderLayer,
  TransformerEncoder,
  TransformerEncoderLayer,
  type TransformerForwardOptions,
  type TransformerLayerOptions,
  type TransformerOptions,
} from "./transformer.ts";
export { RotaryEmbedding, type RotaryEmbeddingOptions, type RotaryForwardOptions } from "./rotary.ts";
export { KVCache, type KVCacheOptions } from "./kv_cache.ts";
export {
  Dropout,
  Dropout2d,
  ELU,
  GELU,
  LeakyReLU,
  LogSoftmax,
  Mish,
  ReLU,
  Sigmoid,
  SiLU,
  Softmax,
  Tanh,
} from "./activation.ts";
export {
  BCELoss,
  type BCELossOptions,
  BCEWithLogitsLoss,
  type BCEWithLogitsLossOptions,
  CrossEntropyLoss,
  type CrossEntropyLossOptions,
  HuberLoss,
  type HuberLossOptions,
  KLDivLoss,
  type KLDivLossOptions,
  L1Loss,
  Loss,
  type LossOptions,
  MSELoss,
  NLLLoss,
  type NLLLossOptions,
  SmoothL1Loss,
  type SmoothL1LossOptions,
} from "./loss.ts";
export {
  GRU,
  LSTM,
  type LSTMOptions,
  RNN,
  RNNBase,
  type RNNBaseOptions,
  type RNNInput,
  type RNNMode,
  type RNNOptions,
  type RNNRunResult,
} from "./rnn.ts";
export { GRUCell, LSTMCell, RNNCell, RNNCellBase, type RNNCellBaseOptions, type RNNCellOptions } from "./rnn_cell.ts";
export { PackedSequence, type PackPaddedOptions, type PadPackedOptions, type PadSequenceOptions } from "./rnn_utils.ts";
export * as utils from "./utils.ts";
export { perSampleGrads, perSampleGradsLoop, type PerSampleGradsOptions, type PerSampleLossFn } from "./per_sample.ts";
export * as functional from "./functional.ts";
export * as F from "./functional.ts";
export * as init from "./init.ts";
