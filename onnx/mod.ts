/**
 * ONNX export, PyTorch's `torch.onnx.export`: `onnx.export(model,
 * exampleInputs, path, { inputNames, outputNames, dynamicAxes, opsetVersion })`
 * traces one forward pass (every tensor op reports itself to the tracer, so
 * functional ops inside a custom `forward` are caught as well as layers),
 * maps the ops to ONNX operators (opset 13–17), and writes the protobuf with
 * protobufjs from ONNX's own `onnx.proto`. Recurrent layers export whole as
 * ONNX's LSTM, GRU and RNN ops. The files run in ONNX Runtime (the tests
 * check every layer family against it).
 *
 * @example
 * ```ts
 * import { randn } from "@dendrite/tensor";
 * import { Conv2d, Flatten, Linear, ReLU, Sequential } from "@dendrite/nn";
 * import * as onnx from "./mod.ts";
 * const net = new Sequential(new Conv2d(1, 4, 3), new ReLU(), new Flatten(), new Linear(4 * 6 * 6, 10));
 * const path = await Deno.makeTempFile({ suffix: ".onnx" });
 * await onnx.export(net, randn([1, 1, 8, 8]), path, {
 *   inputNames: ["image"],
 *   outputNames: ["logits"],
 *   dynamicAxes: { image: { 0: "batch" }, logits: { 0: "batch" } },
 * });
 * ```
 *
 * @module
 */

export {
  type DynamicAxes,
  type ExampleArg,
  type ExampleInputs,
  exportBytes,
  exportModel,
  exportModel as export,
  type ExportOptions,
  IR_VERSION,
  MAX_OPSET,
  MIN_OPSET,
  supportedOps,
} from "./export.ts";
export { OnnxExportError } from "./trace.ts";
export {
  type AttributeMsg,
  decodeModel,
  type DimMsg,
  type GraphMsg,
  type ModelMsg,
  type NodeMsg,
  type TensorMsg,
  type ValueInfoMsg,
} from "./proto.ts";
