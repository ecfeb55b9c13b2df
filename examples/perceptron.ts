/**
 * From the first neurons to backprop, in one run:
 *
 * 1. McCulloch–Pitts units compute AND, OR, NOT, NOR — and, wired in two
 *    layers by hand, XOR.
 * 2. Rosenblatt's perceptron learns AND, OR and a linearly separable 2-D data
 *    set by its rule, one example at a time.
 * 3. It cannot learn XOR: no line separates the classes, so every epoch up to
 *    the cap still makes mistakes.
 * 4. A two-layer network trained by backpropagation learns XOR.
 *
 * Also writes a PNG of the 2-D data with the perceptron's decision boundary.
 *
 * Usage: `deno run -A examples/perceptron.ts [--png=path/to/boundary.png | --no-png] [--seed=N]`
 *
 * @module
 */

import { Image } from "imagescript";
import { Generator, manualSeed, nn, noGrad, optim, perceptron, type Tensor, tensor } from "../mod.ts";

const { andUnit, norUnit, notUnit, orUnit, Perceptron, XorNetwork } = perceptron;

function flag(name: string): string | undefined {
  const arg = Deno.args.find((a) => a === `--${name}` || a.startsWith(`--${name}=`));
  if (arg === undefined) return undefined;
  return arg.includes("=") ? arg.slice(arg.indexOf("=") + 1) : "";
}

const seed = Number(flag("seed") ?? 0);
const X2 = [[0, 0], [0, 1], [1, 0], [1, 1]];
const table = (f: (a: number, b: number) => number) => X2.map(([a, b]) => `${a}${b}→${f(a, b)}`).join("  ");

// ---- 1. McCulloch–Pitts (1943): logic from thresholds and inhibition -------------------------------
console.log("1. McCulloch–Pitts units (fixed thresholds, nothing learned)");
const and = andUnit(), or = orUnit(), not = notUnit(), nor = norUnit();
console.log(`   AND (Θ=2)           ${table((a, b) => and.compute(a, b))}`);
console.log(`   OR  (Θ=1)           ${table((a, b) => or.compute(a, b))}`);
console.log(`   NOR (inhibitory)    ${table((a, b) => nor.compute(a, b))}`);
console.log(`   NOT (inhibitory)    0→${not.compute(0)}  1→${not.compute(1)}`);
const xorNet = new XorNetwork();
console.log(`   XOR = NOR(NOR, AND) ${table((a, b) => xorNet.compute(a, b))}   (two layers, wired by hand)`);

// ---- 2. Rosenblatt's perceptron (1958): learning the weights ---------------------------------------
console.log("\n2. Rosenblatt's perceptron learns linearly separable functions");
const gen = new Generator(seed);
for (const [name, Y] of [["AND", [0, 0, 0, 1]], ["OR", [0, 1, 1, 1]]] as const) {
  const p = new Perceptron(2, { generator: gen });
  const r = p.fit(X2, Y, { maxEpochs: 100 });
  console.log(
    `   ${name}: converged=${r.converged} after ${r.epochs} epochs, mistakes per epoch [${r.mistakesPerEpoch}]`,
  );
  console.log(`        w = [${p.weights}], b = ${p.bias}; predictions ${table((a, b) => p.predict([a, b]))}`);
}

// A separable 2-D cloud: points in [-2, 2]² labelled by a hidden line, with a margin kept empty.
const trueW = [1.5, -1], trueB = 0.25;
const points: number[][] = [];
const labels: number[] = [];
while (points.length < 100) {
  const x = [gen.random() * 4 - 2, gen.random() * 4 - 2];
  const s = (trueW[0] * x[0] + trueW[1] * x[1] + trueB) / Math.hypot(trueW[0], trueW[1]);
  if (Math.abs(s) < 0.15) continue;
  points.push(x);
  labels.push(s > 0 ? 1 : 0);
}
const p2 = new Perceptron(2, { generator: gen });
const r2 = p2.fit(tensor(points), tensor(labels, { dtype: "int32" }), { maxEpochs: 1000 });
const batch = p2.predictBatch(tensor(points)).dataSync(); // the whole set through tensor ops at once
const correct = labels.filter((y, i) => batch[i] === y).length;
console.log(
  `   2-D set (${points.length} points, hidden line 1.5·x − y + 0.25 = 0): converged=${r2.converged} after ` +
    `${r2.epochs} epochs`,
);
console.log(`        mistakes per epoch [${r2.mistakesPerEpoch}]`);
console.log(
  `        learned w = [${p2.weights.map((v) => v.toFixed(3))}], b = ${p2.bias}; ` +
    `predictBatch accuracy ${correct}/${points.length}`,
);

// ---- 3. ... but not XOR (Minsky & Papert, 1969) ----------------------------------------------------
console.log("\n3. The perceptron cannot learn XOR");
const XOR = [0, 1, 1, 0];
const p3 = new Perceptron(2, { generator: gen });
const r3 = p3.fit(X2, XOR, { maxEpochs: 100 });
console.log(
  `   XOR: converged=${r3.converged} after the cap of ${r3.epochs} epochs; mistakes in the last 10 epochs ` +
    `[${r3.mistakesPerEpoch.slice(-10)}]`,
);
console.log(
  `        w = [${p3.weights}], b = ${p3.bias}; predictions ${table((a, b) => p3.predict([a, b]))} ` +
    `(accuracy ${p3.accuracy(X2, XOR) * 100}%)`,
);

// ---- 4. Backprop: a hidden layer makes XOR learnable ------------------------------------------------
console.log("\n4. A 2-4-1 network (tanh hidden layer, sigmoid output) trained by backprop solves XOR");
// h = tanh(W1 x + b1), p = sigmoid(W2 h + b2): the seed's layer h = g(W h + b), twice; BCE loss, SGD.
const X = tensor(X2);
const Y = tensor(XOR).reshape([4, 1]);
manualSeed(seed);
const net = new nn.Sequential(new nn.Linear(2, 4), new nn.Tanh(), new nn.Linear(4, 1), new nn.Sigmoid());
const optimizer = new optim.SGD(net.parameters(), { lr: 0.5, momentum: 0.9 });
const criterion = new nn.BCELoss();
const forward = (x: Tensor) => net.forward(x);
const steps = 500;
for (let step = 1; step <= steps; step++) {
  optimizer.zeroGrad();
  const loss = criterion.forward(forward(X), Y);
  loss.backward();
  optimizer.step();
  if (step === 1 || step % 100 === 0) {
    console.log(`   step ${String(step).padStart(4)}  loss ${loss.dataSync()[0].toFixed(4)}`);
  }
}
const probs = noGrad(() => forward(X)).dataSync();
console.log("   XOR predictions of the trained network:");
X2.forEach(([a, b], i) => {
  console.log(`     ${a} XOR ${b} = ${XOR[i]}   network: p = ${probs[i].toFixed(3)} → ${probs[i] > 0.5 ? 1 : 0}`);
});
const solved = XOR.every((y, i) => (probs[i] > 0.5 ? 1 : 0) === y);
console.log(`   ${solved ? "solved" : "NOT solved"}: backprop found the hidden features a single perceptron lacks.`);

// ---- optional picture: the 2-D data and the learned boundary --------------------------------------
if (flag("no-png") === undefined) {
  const path = flag("png") || `${await Deno.makeTempDir({ prefix: "dendrite_perceptron_" })}/boundary.png`;
  await Deno.writeFile(path, await drawBoundary(points, labels, p2.weights, p2.bias));
  console.log(`\nWrote the 2-D data and the learned decision boundary to ${path}`);
}

/** A 400×400 PNG of [-2, 2]²: shaded by the perceptron's prediction, points by label, line w·x + b = 0. */
async function drawBoundary(xs: number[][], ys: number[], w: number[], b: number): Promise<Uint8Array> {
  const size = 400, lo = -2, hi = 2;
  const toPx = (v: number) => ((v - lo) / (hi - lo)) * (size - 1) + 1; // imagescript pixels are 1-based
  const fromPx = (px: number) => lo + ((px - 1) / (size - 1)) * (hi - lo);
  const img = new Image(size, size);
  const shade = [Image.rgbaToColor(255, 228, 196, 255), Image.rgbaToColor(204, 229, 255, 255)];
  for (let py = 1; py <= size; py++) {
    const y = -fromPx(py); // image rows grow downward; the plot's y grows upward
    for (let px = 1; px <= size; px++) {
      const x = fromPx(px);
      const a = w[0] * x + w[1] * y + b;
      // A thin dark band where |w·x + b| is within one pixel's worth of the line.
      const onLine = Math.abs(a) / Math.hypot(w[0], w[1]) < (hi - lo) / size;
      img.setPixelAt(px, py, onLine ? Image.rgbaToColor(20, 20, 20, 255) : shade[a > 0 ? 1 : 0]);
    }
  }
  const dot = [Image.rgbaToColor(214, 96, 0, 255), Image.rgbaToColor(0, 90, 200, 255)];
  xs.forEach(([x, y], i) => img.drawCircle(Math.round(toPx(x)), Math.round(toPx(-y)), 4, dot[ys[i]]));
  return await img.encode();
}
