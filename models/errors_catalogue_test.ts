// The bad-input catalogue of models/: weights files that do not fit, state dicts that cannot be written, models built
// with bad sizes. Each call must throw the error listed and leave the model, the files and the random stream
// bit-identical — a failed save must not create or truncate its file.
import { badInput, catalogueSuite, fileAt } from "@dendrite/tensor/testing";
import { defaultGenerator, manualSeed, tensor } from "@dendrite/tensor";
import * as nn from "@dendrite/nn";
import { encodeSafetensors, lenet5, load, loadSafetensors, mlp, save, saveSafetensors } from "./mod.ts";

const modelState = (m: nn.Module) => [[...m.namedParameters()], [...m.namedBuffers()], defaultGenerator];

/** A model, a temporary file path (absent, or holding `initial`), and what else the case needs. */
async function withFile<M extends nn.Module>(make: () => M, initial?: Uint8Array) {
  manualSeed(1);
  const model = make();
  const path = await Deno.makeTempFile({ suffix: ".safetensors" });
  if (initial) await Deno.writeFile(path, initial);
  else await Deno.remove(path);
  return { model, path };
}

const removeFile = ({ path }: { path: string }) => Deno.remove(path).catch(() => {});
const small = () => mlp([3, 4, 2]);

catalogueSuite("catalogue[models]", [
  badInput({
    name: "saveSafetensors of a state dict holding a disposed tensor creates no file",
    setup: async () => {
      const f = await withFile(small);
      const sd = f.model.stateDict();
      sd["2.bias"] = tensor([1, 2]);
      sd["2.bias"].dispose();
      return { ...f, sd };
    },
    act: ({ sd, path }) => saveSafetensors(sd, path),
    error: Error,
    words: ['safetensors: "2.bias": the tensor was disposed'],
    state: ({ model, path }) => [modelState(model), fileAt(path)],
    cleanup: removeFile,
  }),
  badInput({
    name: "saveSafetensors over an existing file with a bad entry leaves the old file",
    setup: async () => {
      const old = await encodeSafetensors({ w: tensor([1, 2, 3]) });
      const f = await withFile(small, old);
      return { ...f, sd: { ...f.model.stateDict(), extra: [1, 2] as never } };
    },
    act: ({ sd, path }) => saveSafetensors(sd, path),
    error: Error,
    words: ['safetensors: "extra": expected a Tensor, got object'],
    state: ({ model, path }) => [modelState(model), fileAt(path)],
    cleanup: removeFile,
  }),
  badInput({
    name: "saveSafetensors with a tensor named __metadata__",
    setup: () => withFile(small),
    act: ({ path }) => saveSafetensors({ __metadata__: tensor([1]) }, path),
    error: Error,
    words: ['"__metadata__" is reserved'],
    state: ({ path }) => fileAt(path),
    cleanup: removeFile,
  }),
  badInput({
    name: "load of a file whose shapes do not fit leaves the model as it was",
    setup: async () => {
      const f = await withFile(small, await encodeSafetensors(mlp([3, 5, 2]).stateDict()));
      return f;
    },
    act: ({ model, path }) => load(model, path),
    error: Error,
    words: ["does not fit Sequential", 'size mismatch for "0.weight"', "[5, 3]", "[4, 3]"],
    state: ({ model, path }) => [modelState(model), fileAt(path)],
    cleanup: removeFile,
  }),
  badInput({
    name: "load of a file of another architecture lists the missing and unexpected keys",
    setup: async () => await withFile(small, await encodeSafetensors(lenet5().stateDict())),
    act: ({ model, path }) => load(model, path),
    error: Error,
    words: ["missing keys:", "unexpected keys:", '"2.weight"'],
    state: ({ model, path }) => [modelState(model), fileAt(path)],
    cleanup: removeFile,
  }),
  badInput({
    name: "load of a JSON file",
    setup: async () => await withFile(small, new TextEncoder().encode('{"weights": [1, 2, 3]}')),
    act: ({ model, path }) => load(model, path),
    error: Error,
    words: ["is not a valid safetensors file"],
    state: ({ model, path }) => [modelState(model), fileAt(path)],
    cleanup: removeFile,
  }),
  badInput({
    name: "load of a file that does not exist",
    setup: () => withFile(small),
    act: ({ model, path }) => load(model, path),
    error: Error,
    words: ["weights: cannot read"],
    state: ({ model, path }) => [modelState(model), fileAt(path)],
  }),
  badInput({
    name: "loadSafetensors of an empty file",
    setup: async () => await withFile(small, new Uint8Array(0)),
    act: ({ path }) => loadSafetensors(path),
    error: Error,
    words: ["safetensors:", "in "],
    state: ({ path }) => fileAt(path),
    cleanup: removeFile,
  }),
  badInput({
    name: "save of a model whose buffer was disposed creates no file",
    setup: async () => {
      const f = await withFile(() => new nn.Sequential(new nn.Linear(2, 2), new nn.BatchNorm1d(2)));
      (f.model.at(1) as nn.BatchNorm1d).runningMean!.dispose();
      return f;
    },
    act: ({ model, path }) => save(model, path),
    error: Error,
    words: ['Sequential.stateDict: "1.running_mean" was disposed'],
    state: ({ path }) => fileAt(path),
    cleanup: removeFile,
  }),
  badInput({
    name: "mlp with a negative hidden size builds nothing (the random stream is untouched)",
    setup: () => null,
    act: () => mlp([4, 8, -1, 2]),
    error: RangeError,
    words: ["mlp: sizes[2] must be a non-negative integer, got -1"],
    state: () => defaultGenerator,
  }),
  badInput({
    name: "mlp with dropout 1.5",
    setup: () => null,
    act: () => mlp([4, 8, 2], { dropout: 1.5 }),
    error: RangeError,
    words: ["mlp: dropout must be in [0, 1], got 1.5"],
    state: () => defaultGenerator,
  }),
  badInput({
    name: "lenet5 with 0 classes",
    setup: () => null,
    act: () => lenet5(0),
    error: RangeError,
    words: ["lenet5: numClasses must be a positive integer, got 0"],
    state: () => defaultGenerator,
  }),
  badInput({
    name: "lenet5 given 3-channel images",
    setup: () => ({ model: lenet5(), x: tensor(new Float32Array(3 * 28 * 28), { shape: [1, 3, 28, 28] }) }),
    act: ({ model, x }) => model.forward(x),
    error: RangeError,
    words: ["Conv2d(1, 6): expected input [N, 1, H, W]", "[1, 3, 28, 28]"],
    state: ({ model, x }) => [modelState(model), x],
  }),
]);
