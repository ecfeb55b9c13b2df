import { deepStrictEqual, ok, throws } from "node:assert/strict";
import { nn } from "../mod.ts";
import { resnet18 } from "@dendrite/models";
import { type Tensor, tensor } from "@dendrite/tensor";
import { summary } from "./summary.ts";

/** A row of the table: torchinfo's columns are 40, 25 and 25 characters wide, one space apart. */
const line = (name: string, shape: string, params: string) => `${name.padEnd(40)} ${shape.padEnd(25)} ${params}`;

/** The MNIST examples' CNN. */
const cnn = () =>
  new nn.Sequential(
    new nn.Conv2d(1, 32, 3, { padding: 1, bias: false }),
    new nn.BatchNorm2d(32),
    new nn.ReLU(),
    new nn.MaxPool2d(2),
    new nn.Conv2d(32, 64, 3, { padding: 1, bias: false }),
    new nn.BatchNorm2d(64),
    new nn.ReLU(),
    new nn.MaxPool2d(2),
    new nn.Flatten(),
    new nn.Linear(64 * 7 * 7, 128),
    new nn.ReLU(),
    new nn.Dropout(0.3),
    new nn.Linear(128, 10),
  );

Deno.test("summary of the MNIST CNN: shapes per layer, counts, mult-adds and memory worked by hand", () => {
  const net = cnn();
  const s = summary(net, [1, 1, 28, 28]);
  // conv 1·32·9 = 288, BN 64, conv 32·64·9 = 18,432, BN 128, fc 3136·128 + 128 = 401,536, fc 128·10 + 10 = 1,290.
  deepStrictEqual(s.totalParams, 421_738);
  deepStrictEqual(s.totalParams, net.numParameters());
  deepStrictEqual(s.trainableParams, net.numParameters(true));
  deepStrictEqual(s.rows.map((r) => [r.type, r.outputShape]), [
    ["Sequential", [1, 10]],
    ["Conv2d", [1, 32, 28, 28]],
    ["BatchNorm2d", [1, 32, 28, 28]],
    ["ReLU", [1, 32, 28, 28]],
    ["MaxPool2d", [1, 32, 14, 14]],
    ["Conv2d", [1, 64, 14, 14]],
    ["BatchNorm2d", [1, 64, 14, 14]],
    ["ReLU", [1, 64, 14, 14]],
    ["MaxPool2d", [1, 64, 7, 7]],
    ["Flatten", [1, 3136]],
    ["Linear", [1, 128]],
    ["ReLU", [1, 128]],
    ["Dropout", [1, 128]],
    ["Linear", [1, 10]],
  ]);
  // Conv: weights × output positions (288·784, 18,432·196); the rest: parameters × batch (1).
  deepStrictEqual(s.totalMultAdds, 288 * 784 + 64 + 18_432 * 196 + 128 + 401_536 + 1_290);
  deepStrictEqual(s.inputBytes, 784 * 4);
  deepStrictEqual(s.paramBytes, 421_738 * 4);
  // Twice the outputs of the layers with parameters (conv, BN, conv, BN, fc, fc), 4 bytes each.
  deepStrictEqual(s.forwardBackwardBytes, 2 * 4 * (2 * 32 * 784 + 2 * 64 * 196 + 128 + 10));
  const text = s.toString().split("\n");
  deepStrictEqual(text[1], "Layer (type:depth-idx)                   Output Shape              Param #");
  deepStrictEqual(text[3], "Sequential                               [1, 10]                   --");
  deepStrictEqual(text[4], line("├─Conv2d: 1-1", "[1, 32, 28, 28]", "288"));
  deepStrictEqual(text[7], line("├─MaxPool2d: 1-4", "[1, 32, 14, 14]", "--"));
  deepStrictEqual(text[13], line("├─Linear: 1-10", "[1, 128]", "401,536"));
  ok(text.includes("Total params: 421,738") && text.includes("Non-trainable params: 0"));
  ok(text.includes("Params size (MB): 1.69") && text.includes("Input size (MB): 0.00"));
});

Deno.test("summary of ResNet-18: torchvision's 11,689,512 parameters, frozen ones in parentheses, the tree's depth-idx", () => {
  const net = resnet18({ numClasses: 1000 });
  const s = summary(net, [1, 3, 32, 32]);
  deepStrictEqual(s.totalParams, 11_689_512);
  deepStrictEqual(s.totalParams, net.numParameters());
  // Freeze the backbone and give it a 5-class head: the seed's fine-tuning set-up.
  net.requiresGrad_(false);
  net.fc = new nn.Linear(512, 5);
  const frozen = summary(net, [2, 3, 32, 32], { depth: 2 });
  deepStrictEqual(frozen.trainableParams, 512 * 5 + 5);
  deepStrictEqual(frozen.trainableParams, net.numParameters(true));
  deepStrictEqual(frozen.totalParams, net.numParameters());
  const text = frozen.toString().split("\n");
  ok(text.includes(line("├─Conv2d: 1-1", "[2, 64, 16, 16]", "(9,408)")), text.join("\n"));
  ok(text.includes(line("├─Sequential: 1-5", "[2, 64, 8, 8]", "--")));
  ok(text.includes(line("│    └─BasicBlock: 2-1", "[2, 64, 8, 8]", "(73,984)")));
  ok(text.includes(line("│    └─BasicBlock: 2-3", "[2, 128, 4, 4]", "(230,144)")));
  ok(text.includes(line("├─Linear: 1-10", "[2, 5]", "2,565")));
  // Depth 2 hides the blocks' own layers; depth 3 shows them.
  ok(!text.some((l) => l.includes("3-1")));
  ok(frozen.rows.some((r) => r.depth === 3));
});

Deno.test("summary restores every module's mode, removes its hooks, and counts a module run twice once", () => {
  class Twice extends nn.Module {
    shared = new nn.Linear(4, 4);
    unused = new nn.Linear(4, 100);
    override forward(x: Tensor): Tensor {
      return this.shared.forward(this.shared.forward(x));
    }
  }
  const net = new Twice();
  net.unused.eval();
  const s = summary(net, [3, 4]);
  deepStrictEqual(s.rows.map((r) => [r.type, r.isRecursive]), [["Twice", false], ["Linear", false], ["Linear", true]]);
  // The unused layer never ran: no row, but its parameters count as its parent's own (torchinfo's "leftover").
  deepStrictEqual(s.totalParams, 20 + 400 + 100);
  deepStrictEqual(s.totalParams, net.numParameters());
  deepStrictEqual(s.toString().split("\n")[3], line("Twice", "[3, 4]", "500"));
  ok(s.toString().includes("(recursive)"));
  deepStrictEqual([net.training, net.shared.training, net.unused.training], [true, true, false]);
  ok(!Object.hasOwn(net.shared, "forward") && !Object.hasOwn(net, "forward"));
  // An explicit input works too; bad sizes are refused.
  deepStrictEqual(summary(net, undefined, { input: tensor([[1, 2, 3, 4]]) }).rows[0].outputShape, [1, 4]);
  throws(() => summary(net), /give an input size/);
  throws(() => summary(net, [1.5, 4]), /must be non-negative integers/);
});
