/**
 * What the graph member takes from the members below it.
 *
 * @module
 */

export * as nn from "@dendrite/nn";
export {
  cat,
  dropout,
  eye,
  fmtShape,
  Generator,
  getBackend,
  keep,
  leakyRelu,
  noGrad,
  ones,
  type Tensor,
  tensor,
  zeros,
} from "@dendrite/tensor";
