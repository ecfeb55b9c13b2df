// The bad-input catalogue on WebGPU: the device-side checks (raised at the next read-back or synchronize()), moves
// and state that would need a read-back, mixed devices, allocations beyond the device's buffer limit. Each call must
// throw the error listed and leave every tensor it could have touched — parameters, gradients, buffers, optimizer
// state — bit-identical (on the device).
import { badInput, catalogueSuite } from "@dendrite/tensor/testing";
import {
  batchNorm,
  binaryCrossEntropy,
  crossEntropy,
  detectAnomaly,
  embedding,
  manualSeed,
  nllLoss,
  noGrad,
  ones,
  randn,
  type Tensor,
  tensor,
  zeros,
} from "@dendrite/tensor";
import * as nn from "@dendrite/nn";
import * as optim from "@dendrite/optim";
import { synchronize, useWebGPU } from "./mod.ts";
import { webgpuOrSkip } from "./test_util.ts";

if (await webgpuOrSkip("catalogue[webgpu]")) {
  await useWebGPU();
  const gpu = (t: Tensor) => t.to("webgpu");
  const labels = (v: number[]) => tensor(v, { dtype: "int32", device: "webgpu" });
  /** A case whose act runs `call` and then waits for the device, where a device-side check surfaces. */
  const onDevice = <F>(
    name: string,
    setup: () => F,
    call: (f: F) => unknown,
    error: abstract new (...args: never[]) => Error,
    words: (string | RegExp)[],
    state: (f: F) => unknown,
  ) =>
    badInput({
      name,
      setup,
      act: async (f) => {
        call(f);
        await synchronize();
      },
      error,
      words,
      state,
    });

  catalogueSuite("catalogue[webgpu]", [
    onDevice(
      "crossEntropy with class 4 of 3",
      () => ({ x: gpu(randn([2, 3])).requiresGrad_(), t: labels([0, 4]) }),
      ({ x, t }) => crossEntropy(x, t),
      RangeError,
      ["crossEntropy: target 4 is out of bounds for 3 classes"],
      ({ x, t }) => [x, t],
    ),
    onDevice(
      "nllLoss over [N, C, d] with class 9",
      () => ({ x: gpu(randn([1, 3, 2])), t: tensor([[0, 9]], { dtype: "int32", device: "webgpu" }) }),
      ({ x, t }) => nllLoss(x, t),
      RangeError,
      ["nllLoss: target 9 is out of bounds for 3 classes"],
      ({ x, t }) => [x, t],
    ),
    onDevice(
      "embedding of row 3 of 3",
      () => ({ w: gpu(randn([3, 2])).requiresGrad_(), i: labels([0, 3]) }),
      ({ w, i }) => embedding(i, w),
      RangeError,
      ["embedding: index 3 is out of bounds for 3 embeddings"],
      ({ w, i }) => [w, i],
    ),
    onDevice(
      "binaryCrossEntropy of 1.25",
      () => ({ x: gpu(tensor([0.5, 1.25])), t: gpu(tensor([1, 0])) }),
      ({ x, t }) => binaryCrossEntropy(x, t),
      RangeError,
      ["binaryCrossEntropy: all elements of input should be between 0 and 1", "1.25"],
      ({ x, t }) => [x, t],
    ),
    onDevice(
      "anomaly mode: 0 · log 0 in the forward pass",
      () => gpu(tensor([0, 2])).requiresGrad_(),
      (x) => detectAnomaly(() => x.log().mul(x)),
      Error,
      ["anomaly: Log (forward) produced -Infinity"],
      (x) => x,
    ),
    badInput({
      name: "BatchNorm1d on WebGPU with one value per channel",
      setup: () => ({ bn: new nn.BatchNorm1d(3).to("webgpu"), x: gpu(randn([1, 3])) }),
      act: ({ bn, x }) => bn.forward(x),
      error: RangeError,
      words: ["more than 1 value per channel"],
      state: ({ bn }) => [...bn.namedBuffers(), ...bn.namedParameters()],
    }),
    badInput({
      name: "Adam.step with WebGPU state after the model came back to the CPU",
      setup: async () => {
        manualSeed(2);
        const model = new nn.Linear(3, 2).to("webgpu");
        const opt = new optim.Adam(model.parameters(), { lr: 0.1 });
        const x = gpu(randn([4, 3]));
        model.forward(x).sum().backward();
        opt.step();
        await model.toDevice("cpu");
        model.forward(randn([4, 3])).sum().backward();
        return { model, opt };
      },
      act: ({ opt }) => opt.step(),
      error: Error,
      words: ['state "exp_avg" is on "webgpu" but the parameter is now on "cpu"', 'await optimizer.toDevice("cpu")'],
      state: ({ model, opt }) => [[...model.parameters()], opt.state],
    }),
    badInput({
      name: "loadStateDict of WebGPU tensors into a CPU module",
      setup: () => {
        manualSeed(3);
        const model = new nn.Linear(2, 2);
        const sd = new nn.Linear(2, 2).to("webgpu").stateDict();
        return { model, sd };
      },
      act: ({ model, sd }) => model.loadStateDict(sd),
      error: Error,
      words: ['"weight" is on "webgpu" but the module is on "cpu"', "read-back", "toDevice"],
      state: ({ model }) => [...model.namedParameters()],
    }),
    badInput({
      name: "Module.to(webgpu) of a float64 model moves nothing",
      setup: () => new nn.Sequential(new nn.Linear(2, 3), new nn.Linear(3, 1)).to("float64"),
      act: (m) => m.to("webgpu"),
      error: TypeError,
      words: ["float64"],
      state: (m) => [...m.namedParameters()],
    }),
    badInput({
      name: "a CPU gradient assigned to a WebGPU parameter",
      setup: () => ({ w: gpu(ones([2])).requiresGrad_(), g: ones([2]) }),
      act: ({ w, g }) => (w.grad = g),
      error: Error,
      words: [
        'assigned grad has data located on a different device: the gradient is on "cpu" but the tensor is on "webgpu"',
      ],
      state: ({ w, g }) => [w, g],
    }),
    badInput({
      name: "SGD.step over a parameter moved to WebGPU without its gradient",
      setup: () => {
        const a = ones([2]).requiresGrad_(), b = ones([3]).requiresGrad_();
        const opt = new optim.SGD([a, b], { lr: 0.5 });
        a.grad = tensor([1, 2]);
        b.grad = tensor([1, 2, 3]);
        noGrad(() => b._swapData(gpu(ones([3]))));
        return { a, b, opt };
      },
      act: ({ opt }) => opt.step(),
      error: Error,
      words: ["SGD.step: parameter 1 (shape [3])", "located on a different device"],
      state: ({ a, b, opt }) => [a, b, opt.state],
    }),
    badInput({
      name: "adding a CPU tensor to a WebGPU tensor",
      setup: () => ({ a: gpu(ones([2])), b: ones([2]) }),
      act: ({ a, b }) => a.add(b),
      error: Error,
      words: ['add: expected all tensors on the same device, but found "webgpu" and "cpu"'],
      state: ({ a, b }) => [a, b],
    }),
    badInput({
      name: "copy_ of a CPU tensor into a WebGPU tensor",
      setup: () => ({ a: gpu(ones([2])), b: zeros([2]) }),
      act: ({ a, b }) => a.copy_(b),
      error: Error,
      words: ["copy_", "same device"],
      state: ({ a, b }) => [a, b],
    }),
    badInput({
      name: "zeros beyond the device's buffer limit",
      setup: () => null,
      act: () => zeros([2 ** 20, 2 ** 14], { device: "webgpu" }),
      error: RangeError,
      words: ["zeros: cannot allocate a tensor of shape [1048576, 16384]", 'device "webgpu"', "maxBufferSize"],
      state: () => null,
    }),
    badInput({
      name: "dataSync of a WebGPU tensor",
      setup: () => gpu(ones([2])),
      act: (t) => t.dataSync(),
      error: Error,
      words: ['dataSync: device "webgpu" cannot read synchronously; use await t.data()'],
      state: (t) => t,
    }),
    badInput({
      name: "clipGradNorm with errorIfNonfinite on WebGPU gradients scales nothing",
      setup: () => {
        const w = gpu(ones([3])).requiresGrad_();
        w.grad = gpu(tensor([1, NaN, 2]));
        return w;
      },
      act: (w) => optim.clipGradNorm([w], 1, 2, { errorIfNonfinite: true }),
      error: Error,
      words: [
        'clipGradNorm: errorIfNonfinite reads the total norm back, which device "webgpu" cannot do synchronously',
      ],
      state: (w) => w,
    }),
    badInput({
      name: "batchNorm on WebGPU with running stats on the CPU",
      setup: () => ({ x: gpu(randn([4, 3])), m: zeros([3]), v: ones([3]) }),
      act: ({ x, m, v }) => batchNorm(x, m, v, { training: true }),
      error: Error,
      words: ["batchNorm: expected all tensors on the same device"],
      state: ({ x, m, v }) => [x, m, v],
    }),
  ]);
}
