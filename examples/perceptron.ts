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
 * Ends with a results table, and writes to `--out` (default `runs/perceptron`)
 * the 2-D data with the learned and the hidden boundary (`boundary.png`), the
 * mistakes per epoch and the XOR network's loss (`learning.png`), and that
 * loss per step as CSV (`xor_loss.csv`), all drawn with `utils`' plots.
 *
 * Usage: `deno run -A examples/perceptron.ts [--out=DIR | --no-png] [--seed=N]`
 *
 * @module
 */

import { Generator, manualSeed, nn, noGrad, optim, perceptron, type Tensor, tensor, utils } from "../mod.ts";

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
const andOr: string[] = [];
for (const [name, Y] of [["AND", [0, 0, 0, 1]], ["OR", [0, 1, 1, 1]]] as const) {
  const p = new Perceptron(2, { generator: gen });
  const r = p.fit(X2, Y, { maxEpochs: 100 });
  console.log(
    `   ${name}: converged=${r.converged} after ${r.epochs} epochs, mistakes per epoch [${r.mistakesPerEpoch}]`,
  );
  andOr.push(`${name} ${r.converged ? "converged" : "did not converge"} in ${r.epochs} epochs`);
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
const xorLoss = new utils.History();
// A progress bar over the steps; its write() prints a line without breaking the bar.
const bar = utils.progress(Array.from({ length: steps }, (_, i) => i + 1), { desc: "   backprop", unit: "step" });
for (const step of bar) {
  optimizer.zeroGrad();
  const loss = criterion.forward(forward(X), Y);
  loss.backward();
  optimizer.step();
  const value = loss.dataSync()[0];
  xorLoss.push({ step, loss: value });
  bar.setPostfix({ loss: value });
  if (step === 1 || step % 100 === 0) bar.write(`   step ${String(step).padStart(4)}  loss ${value.toFixed(4)}`);
}
const probs = noGrad(() => forward(X)).dataSync();
console.log("   XOR predictions of the trained network:");
X2.forEach(([a, b], i) => {
  console.log(`     ${a} XOR ${b} = ${XOR[i]}   network: p = ${probs[i].toFixed(3)} → ${probs[i] > 0.5 ? 1 : 0}`);
});
const solved = XOR.every((y, i) => (probs[i] > 0.5 ? 1 : 0) === y);
console.log(`   ${solved ? "solved" : "NOT solved"}: backprop found the hidden features a single perceptron lacks.`);

// ---- the record: pictures, a CSV and a results table -----------------------------------------------
const results = [
  ["McCulloch–Pitts XOR", `${X2.filter(([a, b], i) => xorNet.compute(a, b) === XOR[i]).length}/4 right, wired by hand`],
  ["perceptron AND, OR", andOr.join("; ")],
  ["perceptron 2-D set", `converged=${r2.converged} after ${r2.epochs} epochs; ${correct}/${points.length} right`],
  ["perceptron XOR", `converged=${r3.converged} after ${r3.epochs} epochs; ${p3.accuracy(X2, XOR) * 100}% right`],
  [
    "2-4-1 network, backprop",
    `loss ${xorLoss.column("loss").at(-1)!.toFixed(4)} after ${steps} steps; ` +
    `${XOR.filter((y, i) => (probs[i] > 0.5 ? 1 : 0) === y).length}/4 right`,
  ],
];
const w = Math.max(...results.map(([k]) => k.length));
const lines = results.map(([k, v]) => `${k.padEnd(w)}  ${v}`);
const rule = "-".repeat(Math.max(...lines.map((l) => l.length)));
console.log(["", rule, ...lines, rule].join("\n"));

if (flag("no-png") === undefined) {
  const out = flag("out") || "runs/perceptron";
  await Deno.mkdir(out, { recursive: true });
  await boundaryPlot(points, labels, p2.weights, p2.bias).savePng(`${out}/boundary.png`, 480, 480);
  const epochsShown = 40;
  const mistakes = new utils.Plot({ title: "perceptron: mistakes per epoch", xLabel: "epoch", yLabel: "mistakes" })
    .line(r2.mistakesPerEpoch.map((_, i) => i + 1), r2.mistakesPerEpoch, {
      label: "2-D set (separable)",
      markers: true,
    })
    .line(
      r3.mistakesPerEpoch.slice(0, epochsShown).map((_, i) => i + 1),
      r3.mistakesPerEpoch.slice(0, epochsShown),
      { label: `XOR (first ${epochsShown} of ${r3.epochs})`, markers: true },
    );
  const lossPlot = new utils.Plot({ title: "2-4-1 network on XOR: BCE loss", xLabel: "step", yLabel: "loss" })
    .line(xorLoss.column("step"), xorLoss.column("loss"), { label: "training loss" });
  await new utils.Figure([mistakes, lossPlot]).savePng(`${out}/learning.png`);
  await Deno.writeTextFile(`${out}/xor_loss.csv`, xorLoss.toCsv());
  console.log(`\nWrote ${out}/boundary.png, ${out}/learning.png and ${out}/xor_loss.csv`);
}

/** The 2-D data by label, the perceptron's boundary w·x + b = 0 and the hidden line, on [-2, 2]². */
function boundaryPlot(xs: number[][], ys: number[], w: number[], b: number): utils.Plot {
  const plot = new utils.Plot({
    title: "Rosenblatt's perceptron on a separable 2-D set",
    xLabel: "x1",
    yLabel: "x2",
    xRange: [-2, 2],
    yRange: [-2, 2],
    legend: "upper left",
  });
  for (const label of [0, 1]) {
    const pts = xs.filter((_, i) => ys[i] === label);
    plot.scatter(pts.map((p) => p[0]), pts.map((p) => p[1]), {
      label: `class ${label}`,
      color: label ? "#0050c8" : "#d66000",
    });
  }
  // A line a·x1 + c·x2 + d = 0 through the square, as two end points.
  const line = (a: number, c: number, d: number): [number[], number[]] =>
    Math.abs(c) > 1e-12 ? [[-2, 2], [(2 * a - d) / c, (-2 * a - d) / c]] : [[-d / a, -d / a], [-2, 2]];
  plot.line(...line(w[0], w[1], b), { label: "learned w·x + b = 0", color: "#141414" });
  plot.line(...line(trueW[0], trueW[1], trueB), { label: "hidden line", color: "#7f7f7f", dash: [5, 4], width: 1 });
  return plot;
}
