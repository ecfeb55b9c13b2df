/**
 * Federated learning: FedAvg (McMahan et al., 2017) with every client in its
 * own Deno Worker, each holding a non-IID share of the MNIST digits (two
 * classes per client by default), the weights travelling as safetensors
 * bytes. The global model's test accuracy after each round is printed beside
 * centralised training on the pooled data (one epoch per round: the same
 * number of samples seen) and FedAvg on an IID split of the same data.
 *
 *   deno run -A examples/research/federated.ts [--rounds 30] [--clients 10] [--classes-per-client 2]
 *       [--local-epochs 1] [--lr 0.05] [--batch-size 32] [--model mlp|lenet5] [--seed 0] [--out DIR] [--quick]
 *
 * @module
 */

import { parseArgs } from "node:util";
import { data, Generator, manualSeed, models, nn, noGrad, optim, type Tensor, tidy, utils } from "../../mod.ts";
import { fedAvgRound, WorkerClient } from "./federated/fedavg.ts";
import { buildModel, type ModelName } from "./federated/models.ts";
import { iidSplit, nonIidSplit } from "./federated/split.ts";

/** Options of {@link runFederated}. */
export interface FederatedOptions {
  /** Communication rounds (default 30). */
  rounds?: number;
  /** Clients (default 10). */
  clients?: number;
  /** Classes per client in the non-IID split (default 2). */
  classesPerClient?: number;
  /** Local epochs per round (default 1). */
  localEpochs?: number;
  /** SGD learning rate, clients and centralised alike (default 0.05). */
  lr?: number;
  /** Minibatch size (default 32). */
  batchSize?: number;
  /** Architecture (default "mlp"). */
  model?: ModelName;
  /** Use only the first this many training digits (default all 8,000). */
  trainSamples?: number;
  /** Use only the first this many test digits (default all 2,000). */
  testSamples?: number;
  /** Which runs: default all three. */
  runs?: readonly RunName[];
  /** Seed of the initial weights and the IID split (default 0). */
  seed?: number;
  /** Where progress lines go (default console.log). */
  log?: (line: string) => void;
}

/** The three runs compared. */
export type RunName = "centralised" | "fedavg-iid" | "fedavg-noniid";

/** Test accuracy after each round (index 0: before any training), and what each run cost. */
export interface FederatedResult {
  /** Accuracy per round for each run. */
  accuracy: Partial<Record<RunName, number[]>>;
  /** Seconds per run. */
  seconds: Partial<Record<RunName, number>>;
  /** Bytes exchanged per FedAvg round (weights out and back, all clients). */
  bytesPerRound: number;
  /** The classes each client holds in the non-IID split. */
  clientClasses: number[][];
  /** Test digits the accuracy is measured on. */
  testSamples: number;
  /** Each run's final weights as safetensors bytes. */
  weights: Partial<Record<RunName, Uint8Array>>;
}

/** Test accuracy of `model` on `x`, `y`, in batches. */
export async function accuracyOf(model: nn.Sequential, x: Tensor, y: Tensor): Promise<number> {
  model.eval();
  let correct = 0;
  for (let i = 0; i < x.shape[0]; i += 500) {
    const n = Math.min(500, x.shape[0] - i);
    correct += await tidy(() => noGrad(() => model.forward(x.narrow(0, i, n)).argmax(1).eq(y.narrow(0, i, n)).sum()))
      .item();
  }
  return correct / x.shape[0];
}

/** Runs FedAvg (IID and non-IID) and centralised training from the same initial weights. */
export async function runFederated(options: FederatedOptions = {}): Promise<FederatedResult> {
  const rounds = options.rounds ?? 30;
  const numClients = options.clients ?? 10;
  const perClient = options.classesPerClient ?? 2;
  const localEpochs = options.localEpochs ?? 1;
  const lr = options.lr ?? 0.05;
  const batchSize = options.batchSize ?? 32;
  const modelName = options.model ?? "mlp";
  const seed = options.seed ?? 0;
  const runs = options.runs ?? ["centralised", "fedavg-iid", "fedavg-noniid"];
  const log = options.log ?? console.log;
  for (
    const [name, v] of [["rounds", rounds], ["clients", numClients], ["localEpochs", localEpochs], [
      "batchSize",
      batchSize,
    ]] as const
  ) {
    if (!Number.isInteger(v) || v < 1) throw new RangeError(`federated: ${name} must be a positive integer, got ${v}`);
  }
  const mnist = await data.loadMnist();
  const nTrain = Math.min(options.trainSamples ?? mnist.train.length, mnist.train.length);
  const nTest = Math.min(options.testSamples ?? mnist.test.length, mnist.test.length);
  const trainX = mnist.train.images.narrow(0, 0, nTrain);
  const trainY = mnist.train.labels.narrow(0, 0, nTrain);
  const testX = mnist.test.images.narrow(0, 0, nTest);
  const testY = mnist.test.labels.narrow(0, 0, nTest);
  const labels = mnist.train.labelArray.subarray(0, nTrain);
  const pixels = trainX.contiguous().dataSync() as Float32Array;

  manualSeed(seed);
  const initial = await models.encodeSafetensors(buildModel(modelName).stateDict());
  const result: FederatedResult = {
    accuracy: {},
    seconds: {},
    bytesPerRound: 0,
    clientClasses: [],
    testSamples: nTest,
    weights: {},
  };
  const nonIid = nonIidSplit(labels, numClients, perClient);
  result.clientClasses = nonIid.map((idx) => [...new Set(idx.map((i) => labels[i]))].sort((a, b) => a - b));

  const evaluate = async (bytes: Uint8Array) => {
    const model = buildModel(modelName);
    const state = models.decodeSafetensors(bytes);
    model.loadStateDict(state);
    for (const t of Object.values(state)) t.dispose();
    return await accuracyOf(model, testX, testY);
  };
  const acc0 = await evaluate(initial);

  for (const run of runs) {
    const start = performance.now();
    const accs = [acc0];
    if (run === "centralised") {
      const model = buildModel(modelName);
      const state = models.decodeSafetensors(initial);
      model.loadStateDict(state);
      const opt = new optim.SGD(model.parameters(), { lr });
      const loader = new data.DataLoader(new data.TensorDataset(trainX, trainY), {
        batchSize,
        shuffle: true,
        generator: new Generator(seed),
      });
      for (let r = 1; r <= rounds; r++) {
        model.train();
        for (let e = 0; e < localEpochs; e++) {
          for await (const [xb, yb] of loader) {
            tidy(() => {
              opt.zeroGrad();
              nn.functional.crossEntropy(model.forward(xb), yb).backward();
              opt.step();
            });
          }
        }
        accs.push(await accuracyOf(model, testX, testY));
        log(`  ${run} round ${r}/${rounds}: test accuracy ${(100 * accs[r]).toFixed(2)}%`);
      }
      result.weights[run] = await models.encodeSafetensors(model.stateDict());
    } else {
      const split = run === "fedavg-iid" ? iidSplit(nTrain, numClients, seed) : nonIid;
      const clients = split.map((idx, k) => {
        const images = new Float32Array(idx.length * 784);
        idx.forEach((i, j) => images.set(pixels.subarray(i * 784, (i + 1) * 784), j * 784));
        return new WorkerClient({
          client: k,
          images,
          labels: Int32Array.from(idx, (i) => labels[i]),
          model: modelName,
          lr,
          batchSize,
        });
      });
      try {
        let weights = initial;
        for (let r = 1; r <= rounds; r++) {
          const res = await fedAvgRound(clients, weights, r, localEpochs);
          weights = res.weights;
          result.bytesPerRound = res.bytes;
          const model = buildModel(modelName);
          model.loadStateDict(res.state);
          for (const t of Object.values(res.state)) t.dispose();
          accs.push(await accuracyOf(model, testX, testY));
          log(
            `  ${run} round ${r}/${rounds}: local loss ${res.loss.toFixed(4)}, test accuracy ${
              (100 * accs[r]).toFixed(2)
            }%`,
          );
        }
        result.weights[run] = weights;
      } finally {
        for (const c of clients) c.close();
      }
    }
    result.accuracy[run] = accs;
    result.seconds[run] = (performance.now() - start) / 1000;
  }
  return result;
}

/** A plain-text table: a header row, a rule, and right-aligned cells. */
export function table(headers: string[], rows: (string | number)[][]): string {
  const cells = [headers, ...rows.map((r) => r.map(String))];
  const widths = headers.map((_, c) => Math.max(...cells.map((r) => r[c].length)));
  const line = (r: string[]) => r.map((v, c) => (c === 0 ? v.padEnd(widths[c]) : v.padStart(widths[c]))).join("  ");
  return [line(cells[0]), widths.map((w) => "-".repeat(w)).join("  "), ...cells.slice(1).map(line)].join("\n");
}

const RUN_TITLES: Record<RunName, string> = {
  "centralised": "centralised",
  "fedavg-iid": "FedAvg IID",
  "fedavg-noniid": "FedAvg non-IID",
};

/** Parses the flags, runs, prints the table and writes the curves PNG. */
export async function main(args: string[]): Promise<FederatedResult> {
  const { values } = parseArgs({
    args,
    options: {
      rounds: { type: "string" },
      clients: { type: "string" },
      "classes-per-client": { type: "string" },
      "local-epochs": { type: "string" },
      lr: { type: "string" },
      "batch-size": { type: "string" },
      model: { type: "string", default: "mlp" },
      seed: { type: "string", default: "0" },
      out: { type: "string", default: "runs/research/federated" },
      quick: { type: "boolean", default: false },
    },
  });
  const num = (v: string | undefined) => (v === undefined ? undefined : Number(v));
  const quick = values.quick;
  const opts: FederatedOptions = {
    rounds: num(values.rounds) ?? (quick ? 3 : 30),
    clients: num(values.clients) ?? (quick ? 5 : 10),
    classesPerClient: num(values["classes-per-client"]),
    localEpochs: num(values["local-epochs"]),
    lr: num(values.lr),
    batchSize: num(values["batch-size"]),
    model: values.model as ModelName,
    seed: Number(values.seed),
    trainSamples: quick ? 2000 : undefined,
    testSamples: quick ? 500 : undefined,
  };
  console.log(
    `FedAvg: ${opts.clients} clients as Deno Workers, ${opts.classesPerClient ?? 2} classes each (non-IID), ` +
      `${opts.rounds} rounds of ${opts.localEpochs ?? 1} local epoch(s), SGD lr ${opts.lr ?? 0.05}, batch ${
        opts.batchSize ?? 32
      }, model ${opts.model}`,
  );
  const res = await runFederated(opts);
  console.log(`non-IID shares: ${res.clientClasses.map((c, k) => `client ${k}: {${c.join(",")}}`).join("  ")}`);
  console.log(
    `weights exchanged as safetensors: ${(res.bytesPerRound / 1e6).toFixed(2)} MB per round (all clients, both ways)`,
  );
  const runs = Object.keys(res.accuracy) as RunName[];
  const rounds = opts.rounds!;
  const shown = [...new Set([1, 2, 5, 10, 20, 30, 50, 100, rounds].filter((r) => r <= rounds))];
  console.log(`\nTest accuracy (${res.testSamples} held-out digits) after each round`);
  console.log(
    table([
      "round",
      ...runs.map((r) => RUN_TITLES[r]),
    ], shown.map((r) => [r, ...runs.map((n) => `${(100 * res.accuracy[n]![r]).toFixed(2)}%`)])),
  );
  console.log(
    table(["seconds", ...runs.map((r) => RUN_TITLES[r])], [["", ...runs.map((n) => res.seconds[n]!.toFixed(1))]]),
  );
  await Deno.mkdir(values.out, { recursive: true });
  const plot = new utils.Plot({
    title: "FedAvg on MNIST digits",
    xLabel: "round",
    yLabel: "test accuracy (%)",
    yRange: [0, 100],
  });
  for (const n of runs) {
    plot.line(res.accuracy[n]!.map((_, i) => i), res.accuracy[n]!.map((a) => 100 * a), { label: RUN_TITLES[n] });
  }
  await plot.savePng(`${values.out}/federated_accuracy.png`);
  for (const n of runs) await Deno.writeFile(`${values.out}/${n}.safetensors`, res.weights[n]!);
  console.log(
    `\ntest accuracy per round: ${values.out}/federated_accuracy.png; final weights: ${values.out}/<run>.safetensors`,
  );
  return res;
}

if (import.meta.main) await main(Deno.args);
