/**
 * A bounded load test of examples/serve.ts on loopback: starts the server as
 * a subprocess (batching on, then off) on a free port of 127.0.0.1, sends
 * single-sample JSON predictions from 1, 8 and 64 concurrent clients, and
 * prints throughput, p50/p99 latency, 429s and the mean batch size the
 * server reports in /metrics. Every run stops after `--requests` answers or
 * `--seconds`, whichever comes first.
 *
 *   deno run -A bench/serve_load.ts [--model mnist-cnn] [--requests 400] [--seconds 20]
 *       [--concurrency 1,8,64] [--threads N] [--quick]
 *
 * The weights are random (seeded): speed does not depend on them.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { manualSeed, models } from "../mod.ts";
import { CLASSIFIERS } from "../examples/serve/classifiers.ts";

/** One row of the results. */
export interface LoadResult {
  /** "on" or "off". */
  batching: string;
  /** Concurrent clients. */
  concurrency: number;
  /** Answers with status 200. */
  ok: number;
  /** Answers with status 429. */
  busy: number;
  /** Successful answers per second. */
  throughput: number;
  /** Median latency of successful answers, ms. */
  p50: number;
  /** 99th percentile, ms. */
  p99: number;
  /** Samples per forward pass, from the server's metrics. */
  meanBatch: number;
}

function percentile(sorted: number[], q: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

async function metric(url: string, name: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  return Number(text.split("\n").find((l) => l.startsWith(name + " "))?.split(" ")[1] ?? NaN);
}

/** Starts examples/serve.ts; resolves with its URL and a stop function. */
async function spawnServer(args: string[]): Promise<{ url: string; stop: () => Promise<void> }> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL("../examples/serve.ts", import.meta.url).pathname, "--port", "0", ...args],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let seen = "";
  const deadline = Date.now() + 120_000;
  while (!/on (http:\/\/\S+)/.test(seen)) {
    if (Date.now() > deadline) throw new Error(`the server did not start: ${seen}`);
    const { done, value } = await reader.read();
    if (done) throw new Error(`the server exited: ${seen}`);
    seen += value;
  }
  const url = seen.match(/on (http:\/\/\S+)/)![1];
  // Keep draining its output so it never blocks on a full pipe.
  (async () => {
    while (!(await reader.read()).done) { /* discard */ }
  })();
  return {
    url,
    async stop() {
      child.kill("SIGTERM");
      await child.status;
    },
  };
}

/** Runs `concurrency` clients until `requests` answers or `seconds` pass. */
async function load(url: string, concurrency: number, requests: number, seconds: number, body: string) {
  const latencies: number[] = [];
  let busy = 0, sent = 0;
  const stopAt = performance.now() + seconds * 1000;
  const client = async () => {
    while (sent < requests && performance.now() < stopAt) {
      sent++;
      const t = performance.now();
      const res = await fetch(`${url}/v1/predict`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body,
      });
      await res.body?.cancel();
      if (res.status === 200) latencies.push(performance.now() - t);
      else if (res.status === 429) busy++;
      else throw new Error(`unexpected status ${res.status}`);
    }
  };
  const start = performance.now();
  await Promise.all(Array.from({ length: concurrency }, client));
  const elapsed = (performance.now() - start) / 1000;
  latencies.sort((a, b) => a - b);
  return {
    ok: latencies.length,
    busy,
    throughput: latencies.length / elapsed,
    p50: percentile(latencies, 0.5),
    p99: percentile(latencies, 0.99),
  };
}

/** The whole test; returns the rows it printed. */
export async function runLoadTest(args: string[] = Deno.args): Promise<LoadResult[]> {
  const { values } = parseArgs({
    args,
    options: {
      model: { type: "string", default: "mnist-cnn" },
      requests: { type: "string", default: "400" },
      seconds: { type: "string", default: "20" },
      concurrency: { type: "string", default: "1,8,64" },
      threads: { type: "string" },
      quick: { type: "boolean", default: false },
    },
  });
  const spec = CLASSIFIERS[values.model];
  if (!spec) throw new Error(`unknown model ${values.model}`);
  const requests = values.quick ? 24 : Number(values.requests);
  const seconds = values.quick ? 10 : Number(values.seconds);
  const levels = values.quick ? [1, 8] : values.concurrency.split(",").map(Number);
  manualSeed(0);
  const weights = await Deno.makeTempFile({ suffix: ".safetensors" });
  await models.save(spec.build(10), weights);
  const sample = Array.from({ length: spec.inputShape.reduce((a, b) => a * b, 1) }, (_, i) => (i % 17) / 17);
  const body = JSON.stringify({ input: sample });
  const rows: LoadResult[] = [];
  console.log(`model ${values.model}; ${requests} requests or ${seconds} s per run; loopback`);
  console.log("batching  clients      ok   429   req/s    p50 ms    p99 ms  batch");
  try {
    for (const batching of [true, false]) {
      const server = await spawnServer([
        "--model",
        values.model,
        "--weights",
        weights,
        "--max-queue",
        "256",
        ...(batching ? [] : ["--no-batching"]),
        ...(values.threads ? ["--threads", values.threads] : []),
      ]);
      try {
        await load(server.url, 1, 10, 30, body); // warm-up: compile kernels, fill the allocator
        for (const c of levels) {
          const [b0, s0] = [
            await metric(server.url, "dendrite_batch_size_count"),
            await metric(server.url, "dendrite_batch_size_sum"),
          ];
          const r = await load(server.url, c, requests, seconds, body);
          const [b1, s1] = [
            await metric(server.url, "dendrite_batch_size_count"),
            await metric(server.url, "dendrite_batch_size_sum"),
          ];
          const row = {
            batching: batching ? "on" : "off",
            concurrency: c,
            ...r,
            meanBatch: (s1 - s0) / Math.max(1, b1 - b0),
          };
          rows.push(row);
          console.log(
            `${row.batching.padEnd(9)} ${String(c).padStart(7)} ${String(row.ok).padStart(7)} ${
              String(row.busy).padStart(5)
            } ${row.throughput.toFixed(1).padStart(7)} ${row.p50.toFixed(1).padStart(9)} ${
              row.p99.toFixed(1).padStart(9)
            } ${row.meanBatch.toFixed(1).padStart(6)}`,
          );
        }
      } finally {
        await server.stop();
      }
    }
  } finally {
    await Deno.remove(weights);
  }
  return rows;
}

if (import.meta.main) await runLoadTest();
