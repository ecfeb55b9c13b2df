// A PyTorch LSTM checkpoint (nn/testdata/lstm_proj_bidir.safetensors, written by nn/testdata/rnn_reference.py from
// nn.LSTM(5, 6, num_layers=2, bidirectional=True, proj_size=3).state_dict()) loads unchanged and gives PyTorch's
// outputs; saved again by us, it reads back under the same keys.
import { deepStrictEqual, ok } from "node:assert/strict";
import { nn, tensor } from "../mod.ts";
import { decodeSafetensors, encodeSafetensors, loadSafetensors } from "./mod.ts";

interface Stored {
  shape: number[];
  data: number[];
}

Deno.test("an LSTM checkpoint saved by PyTorch loads unchanged, reproduces PyTorch's outputs and round-trips", async () => {
  const ref = JSON.parse(await Deno.readTextFile(new URL("../nn/testdata/rnn_reference.json", import.meta.url)));
  const c = ref.cases.find((k: { name: string }) => k.name === "lstm_2layer_bidirectional_proj");
  const sd = await loadSafetensors(new URL("../nn/testdata/lstm_proj_bidir.safetensors", import.meta.url));
  const lstm = new nn.LSTM(5, 6, { numLayers: 2, bidirectional: true, projSize: 3 });
  deepStrictEqual(Object.keys(sd).sort(), Object.keys(lstm.stateDict()).sort(), "PyTorch's keys are ours");
  lstm.loadStateDict(sd);
  const t = (s: Stored) => tensor(s.data).reshape(s.shape);
  const [out, [h, cN]] = lstm.forward(t(c.input), [t(c.hx[0]), t(c.hx[1])]);
  [out, h, cN].forEach((got, k) => {
    const want: number[] = c.outputs[k].data;
    const v = got.dataSync();
    ok(v.length === want.length, `output ${k}: ${v.length} values`);
    want.forEach((e, i) => ok(Math.abs(v[i] - e) <= 2e-5 * (1 + Math.abs(e)), `output ${k}[${i}]: ${v[i]} vs ${e}`));
  });
  const again = decodeSafetensors(await encodeSafetensors(lstm.stateDict()));
  for (const [k, v] of Object.entries(sd)) deepStrictEqual([...again[k].dataSync()], [...v.dataSync()], k);
});
