/**
 * What the graph member takes from the members below it.
 *
 * @module
 */

export * as nn from "@dendrite/nn";
export {
  cat,
  eye,
  fmtShape,
  Generator,
  getBackend,
  keep,
  noGrad,
  ones,
  type Tensor,
  tensor,
  zeros,
} from "@dendrite/tensor";
