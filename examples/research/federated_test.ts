import { deepStrictEqual, ok, throws } from "node:assert/strict";
import { tensor } from "../../mod.ts";
import { runFederated } from "./federated.ts";
import { federatedAverage } from "./federated/fedavg.ts";
import { buildModel } from "./federated/models.ts";
import { iidSplit, nonIidSplit } from "./federated/split.ts";

Deno.test("federatedAverage: the sample-weighted mean, worked by hand; integer entries from the first state", async () => {
  const a = { w: tensor([1, 2, 3]), steps: tensor([7], { dtype: "int32" }) };
  const b = { w: tensor([5, 6, 7]), steps: tensor([9], { dtype: "int32" }) };
  // 100 and 300 samples: w = 0.25 · a + 0.75 · b.
  const avg = federatedAverage([a, b], [100, 300]);
  deepStrictEqual(Array.from(await avg.w.data() as Float32Array), [4, 5, 6]);
  deepStrictEqual(Array.from(await avg.steps.data() as Int32Array), [7]);
  throws(() => federatedAverage([a, b], [1]), /expected one weight per state dict, got 2 and 1/);
  throws(
    () => federatedAverage([a, { w: tensor([1, 2]), steps: b.steps }], [1, 1]),
    /"w" has shape \[2\] in state dict 1/,
  );
  throws(() => federatedAverage([a, b], [0, 0]), /non-negative with a positive sum/);
});

Deno.test("splits: non-IID clients hold exactly their classes and share out every sample once; IID covers all", () => {
  const labels = Array.from({ length: 200 }, (_, i) => i % 10);
  const shares = nonIidSplit(labels, 10, 2);
  shares.forEach((idx, k) => {
    deepStrictEqual(
      [...new Set(idx.map((i) => labels[i]))].sort((x, y) => x - y),
      [k, (k + 1) % 10].sort((x, y) => x - y),
    );
  });
  deepStrictEqual(shares.flat().sort((x, y) => x - y), labels.map((_, i) => i));
  const iid = iidSplit(200, 3, 1);
  deepStrictEqual(iid.map((s) => s.length), [66, 67, 67]);
  deepStrictEqual(iid.flat().sort((x, y) => x - y), labels.map((_, i) => i));
  throws(() => nonIidSplit(labels, 0, 2), /numClients must be a positive integer, got 0/);
  throws(() => buildModel("resnet" as "mlp"), /unknown model "resnet"/);
});

Deno.test("runFederated: clients in Workers learn the digits by FedAvg, the weights travelling as safetensors", async () => {
  const res = await runFederated({
    rounds: 2,
    clients: 2,
    lr: 0.1,
    batchSize: 10,
    trainSamples: 600,
    testSamples: 300,
    runs: ["fedavg-iid"],
    log: () => {},
  });
  const acc = res.accuracy["fedavg-iid"]!;
  deepStrictEqual(acc.length, 3);
  // From about chance (10%) before any round to well beyond it after two.
  ok(acc[0] < 0.25 && acc[2] > 0.5, `accuracy per round ${acc}`);
  // Both ways, both clients: four copies of the 784-200-200-10 MLP's 199,210 float32 weights (plus headers).
  ok(res.weights["fedavg-iid"]!.length > 199210 * 4);
  ok(res.bytesPerRound > 4 * 199210 * 4 && res.bytesPerRound < 4 * 199210 * 4 + 4096, `${res.bytesPerRound} bytes`);
});
