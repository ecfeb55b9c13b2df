/**
 * An inference server for a trained classifier: weights from a safetensors
 * file, a JSON endpoint and an image-upload endpoint, dynamic micro-batching,
 * a bounded queue (429 when full), /healthz, Prometheus /metrics, and a
 * graceful shutdown on Ctrl-C / SIGTERM that finishes the requests in flight.
 *
 *   deno run -A examples/mnist_cnn.ts --epochs 2        # writes runs/mnist_cnn/model.safetensors
 *   deno run -A examples/serve.ts --model mnist-cnn --weights runs/mnist_cnn/model.safetensors [--port 8000]
 *       [--labels labels.txt] [--max-batch 32] [--max-wait-ms 5] [--max-queue 256] [--no-batching]
 *
 *   curl -s localhost:8000/v1/classify -H 'content-type: image/png' --data-binary @digit.png
 *   curl -s localhost:8000/v1/predict -H 'content-type: application/json' -d '{"inputs": [[...784 numbers...]]}'
 *   curl -s localhost:8000/metrics
 *
 * Models: mnist-cnn, mnist-mlp, lenet5 (1×28×28 grey) and resnet18 (3×224×224 RGB; any number of classes, read
 * from the weights). See examples/serve/server.ts for the endpoints and error codes.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { setNumThreads } from "../mod.ts";
import { CLASSIFIERS, loadClassifier } from "./serve/classifiers.ts";
import { startServer } from "./serve/server.ts";

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      model: { type: "string", default: "mnist-cnn" },
      weights: { type: "string" },
      labels: { type: "string" },
      hostname: { type: "string", default: "127.0.0.1" },
      port: { type: "string", default: "8000" },
      "max-batch": { type: "string", default: "32" },
      "max-wait-ms": { type: "string", default: "5" },
      "max-queue": { type: "string", default: "256" },
      "no-batching": { type: "boolean", default: false },
      threads: { type: "string" },
      help: { type: "boolean", default: false },
    },
  });
  if (values.help || !values.weights) {
    console.log(
      "usage: deno run -A examples/serve.ts --model NAME --weights FILE.safetensors [--labels FILE] [--port 8000]\n" +
        "       [--hostname 127.0.0.1] [--max-batch 32] [--max-wait-ms 5] [--max-queue 256] [--no-batching] [--threads N]\n\n" +
        "models:\n" + Object.entries(CLASSIFIERS).map(([n, s]) => `  ${n.padEnd(10)} ${s.description}`).join("\n"),
    );
    Deno.exit(values.help ? 0 : 2);
  }
  if (values.threads) setNumThreads(Number(values.threads));
  const classifier = await loadClassifier(values.model, values.weights, values.labels);
  const batching = !values["no-batching"];
  const server = await startServer({
    classifier,
    hostname: values.hostname,
    port: Number(values.port),
    batching,
    maxBatch: Number(values["max-batch"]),
    maxWaitMs: Number(values["max-wait-ms"]),
    maxQueue: Number(values["max-queue"]),
  });
  // The load test reads this line for the URL.
  console.log(
    `serving ${classifier.name} (${classifier.labels.length} classes) on ${server.url} — ${
      batching ? `batches of up to ${values["max-batch"]} within ${values["max-wait-ms"]} ms` : "no batching"
    }, queue ${values["max-queue"]}`,
  );
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    const inflight = server.metrics.inflight;
    console.log(`${signal}: finishing ${inflight} request(s) in flight, then stopping`);
    await server.shutdown();
    console.log("stopped");
    Deno.exit(0);
  };
  Deno.addSignalListener("SIGINT", () => stop("SIGINT"));
  Deno.addSignalListener("SIGTERM", () => stop("SIGTERM"));
  await server.finished;
}
