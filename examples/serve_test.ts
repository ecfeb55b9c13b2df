import assert from "node:assert/strict";
import { Image as ScriptImage } from "imagescript";
import { manualSeed, models, noGrad, softmax, tensor } from "../mod.ts";
import { CLASSIFIERS, loadClassifier, type LoadedClassifier } from "./serve/classifiers.ts";
import { type RunningServer, type ServerOptions, startServer } from "./serve/server.ts";

/** An MNIST CNN with seeded random weights (batch-norm statistics made non-trivial), saved and loaded as the CLI does. */
async function classifier(): Promise<LoadedClassifier> {
  manualSeed(21);
  const model = CLASSIFIERS["mnist-cnn"].build(10);
  noGrad(() => {
    for (const [name, t] of Object.entries(model.stateDict())) {
      if (name.endsWith("running_var")) t.copy_(t.add(0.5));
      if (name.endsWith("running_mean")) t.copy_(t.add(0.1));
    }
  });
  const path = await Deno.makeTempFile({ suffix: ".safetensors" });
  await models.save(model, path);
  const clf = await loadClassifier("mnist-cnn", path);
  await Deno.remove(path);
  return clf;
}

const clf = await classifier();

async function withServer(options: Partial<ServerOptions>, fn: (s: RunningServer) => Promise<void>): Promise<void> {
  const server = await startServer({ classifier: clf, port: 0, ...options });
  try {
    await fn(server);
  } finally {
    await server.shutdown();
  }
}

/** The reference: the model's own forward and softmax on one sample, outside the server. */
function reference(sample: Float32Array): Float32Array {
  return noGrad(() => {
    const x = tensor(sample, { shape: [1, 1, 28, 28] });
    return softmax(clf.model.forward(x), 1).dataSync() as Float32Array;
  });
}

function digit(seed: number): Float32Array {
  const s = new Float32Array(784);
  for (let i = 0; i < 784; i++) s[i] = ((i * 7919 + seed * 104729) % 256) / 255;
  return s;
}

async function post(url: string, body: BodyInit, type: string): Promise<Response> {
  return await fetch(url, { method: "POST", headers: { "content-type": type }, body });
}

type Prediction = { class: number; label: string; probability: number; top: { class: number; probability: number }[] };

Deno.test("serve: JSON predictions are the model's own probabilities, nested or flat, one or many", async () => {
  await withServer({}, async (s) => {
    const a = digit(1), b = digit(2);
    const nested = Array.from(
      { length: 1 },
      () => Array.from({ length: 28 }, (_, y) => Array.from(a.slice(y * 28, y * 28 + 28))),
    );
    const res = await post(
      `${s.url}/v1/predict`,
      JSON.stringify({ inputs: [nested, Array.from(b)] }),
      "application/json",
    );
    assert.equal(res.status, 200);
    const body = await res.json() as { model: string; predictions: Prediction[] };
    assert.equal(body.model, "mnist-cnn");
    for (const [i, sample] of [a, b].entries()) {
      const want = reference(sample);
      const best = want.indexOf(Math.max(...want));
      const p = body.predictions[i];
      assert.equal(p.class, best);
      assert.ok(Math.abs(p.probability - want[best]) < 1e-5, `${p.probability} vs ${want[best]}`);
      assert.equal(p.top.length, 5);
      for (const t of p.top) assert.ok(Math.abs(t.probability - want[t.class]) < 1e-5);
    }
    const one = await post(`${s.url}/v1/predict`, JSON.stringify({ input: Array.from(a) }), "application/json");
    assert.equal((await one.json() as { predictions: Prediction[] }).predictions[0].class, body.predictions[0].class);
  });
});

async function png(width: number, height: number, pixel: (x: number, y: number) => number): Promise<Uint8Array> {
  const img = new ScriptImage(width, height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const v = pixel(x, y);
      img.setPixelAt(x + 1, y + 1, ScriptImage.rgbaToColor(v, v, v, 255));
    }
  }
  return await img.encode();
}

Deno.test("serve: an uploaded image (raw PNG or multipart) is classified as its pixels / 255 would be", async () => {
  await withServer({}, async (s) => {
    const pixel = (x: number, y: number) => (x * 9 + y * 5) % 256;
    const bytes = await png(28, 28, pixel);
    const expected = reference(Float32Array.from({ length: 784 }, (_, i) => pixel(i % 28, Math.floor(i / 28)) / 255));
    const best = expected.indexOf(Math.max(...expected));
    const raw = await post(`${s.url}/v1/classify`, bytes as BodyInit, "image/png");
    assert.equal(raw.status, 200);
    const p = (await raw.json() as { predictions: Prediction[] }).predictions[0];
    assert.equal(p.class, best);
    assert.ok(Math.abs(p.probability - expected[best]) < 1e-5);
    // Two files in one form, one of them larger (resized to 28×28).
    const form = new FormData();
    form.append("image", new Blob([bytes as BlobPart], { type: "image/png" }), "a.png");
    form.append("image", new Blob([await png(56, 40, pixel) as BlobPart], { type: "image/png" }), "b.png");
    const multi = await fetch(`${s.url}/v1/classify`, { method: "POST", body: form });
    assert.equal(multi.status, 200);
    const preds = (await multi.json() as { predictions: Prediction[] }).predictions;
    assert.equal(preds.length, 2);
    assert.equal(preds[0].class, best);
  });
});

/** The batch-size histogram's count and sum (batches run, samples in them). */
function batches(s: RunningServer): { batches: number; samples: number } {
  return { batches: s.metrics.batchSize.count, samples: s.metrics.batchSize.sum };
}

Deno.test("serve: concurrent requests share forward passes when batching, one each when not", async () => {
  const send = (s: RunningServer, n: number) =>
    Promise.all(
      Array.from({ length: n }, (_, i) =>
        post(`${s.url}/v1/predict`, JSON.stringify({ input: Array.from(digit(i)) }), "application/json").then(
          async (r) => {
            assert.equal(r.status, 200);
            const p = (await r.json() as { predictions: Prediction[] }).predictions[0];
            const want = reference(digit(i));
            assert.ok(Math.abs(p.probability - Math.max(...want)) < 1e-5, "a batched answer is the sample's own");
          },
        )),
    );
  await withServer({ maxWaitMs: 50, maxBatch: 32 }, async (s) => {
    await send(s, 16);
    const b = batches(s);
    assert.equal(b.samples, 16);
    assert.ok(b.batches < 16, `16 concurrent requests ran in ${b.batches} forward passes`);
  });
  await withServer({ batching: false }, async (s) => {
    await send(s, 8);
    assert.deepEqual(batches(s), { batches: 8, samples: 8 });
  });
});

Deno.test("serve: a full queue answers 429 with Retry-After and the server carries on", async () => {
  await withServer({ maxQueue: 2, maxBatch: 8, maxWaitMs: 300 }, async (s) => {
    const body = () => JSON.stringify({ input: Array.from(digit(3)) });
    const res = await Promise.all(
      Array.from({ length: 6 }, () => post(`${s.url}/v1/predict`, body(), "application/json")),
    );
    const codes = res.map((r) => r.status).sort();
    assert.ok(codes.includes(429) && codes.includes(200), `codes ${codes}`);
    for (const r of res) {
      if (r.status === 429) assert.equal(r.headers.get("retry-after"), "1");
      await r.body?.cancel();
    }
    const again = await post(`${s.url}/v1/predict`, body(), "application/json");
    assert.equal(again.status, 200);
    await again.body?.cancel();
  });
});

Deno.test("serve: /healthz and /metrics (Prometheus text: requests, latency histogram, batch sizes)", async () => {
  await withServer({}, async (s) => {
    const h = await fetch(`${s.url}/healthz`);
    assert.deepEqual(await h.json(), { status: "ok", model: "mnist-cnn", queued: 0 });
    for (let i = 0; i < 3; i++) {
      await (await post(`${s.url}/v1/predict`, JSON.stringify({ input: Array.from(digit(i)) }), "application/json"))
        .body?.cancel();
    }
    await (await fetch(`${s.url}/nope`)).body?.cancel();
    const m = await fetch(`${s.url}/metrics`);
    assert.match(m.headers.get("content-type") ?? "", /^text\/plain/);
    const text = await m.text();
    const value = (line: string) => Number(text.split("\n").find((l) => l.startsWith(line + " "))?.split(" ").pop());
    assert.equal(value('dendrite_requests_total{endpoint="/v1/predict",code="200"}'), 3);
    assert.equal(value('dendrite_requests_total{endpoint="other",code="404"}'), 1);
    assert.equal(value('dendrite_request_duration_seconds_count{endpoint="/v1/predict"}'), 3);
    assert.equal(value('dendrite_request_duration_seconds_bucket{endpoint="/v1/predict",le="+Inf"}'), 3);
    assert.equal(value("dendrite_batch_size_sum"), 3);
    assert.ok(value('dendrite_request_duration_seconds_sum{endpoint="/v1/predict"}') > 0);
    for (
      const family of [
        "dendrite_requests_total counter",
        "dendrite_request_duration_seconds histogram",
        "dendrite_batch_size histogram",
        "dendrite_queue_depth gauge",
      ]
    ) {
      assert.ok(text.includes(`# TYPE ${family}`), family);
    }
  });
});

Deno.test("serve: shutdown finishes the requests in flight, then refuses connections", async () => {
  const s = await startServer({ classifier: clf, port: 0, maxWaitMs: 300 });
  const pending = Array.from(
    { length: 4 },
    (_, i) => post(`${s.url}/v1/predict`, JSON.stringify({ input: Array.from(digit(i)) }), "application/json"),
  );
  // Let the requests arrive and queue (they wait up to 300 ms for company), then shut down under them.
  while (s.batcher.queued < 4) await new Promise((r) => setTimeout(r, 5));
  const stopped = s.shutdown();
  const res = await Promise.all(pending);
  assert.deepEqual(res.map((r) => r.status), [200, 200, 200, 200]);
  for (const r of res) await r.body?.cancel();
  await stopped;
  await assert.rejects(() => fetch(`${s.url}/healthz`));
});

Deno.test("serve: a catalogue of bad requests gets clear 4xx answers and the server stays up", async () => {
  await withServer({ maxJsonBytes: 64 * 1024, maxImageBytes: 256 * 1024, maxSamplesPerRequest: 4 }, async (s) => {
    const json = "application/json";
    const ok = Array.from(digit(0));
    const cases: [string, () => Promise<Response>, number, RegExp][] = [
      ["malformed JSON", () => post(`${s.url}/v1/predict`, '{"inputs": [1, 2', json), 400, /malformed JSON/],
      ["not an object", () => post(`${s.url}/v1/predict`, "[1, 2]", json), 422, /expected an object/],
      ["no inputs key", () => post(`${s.url}/v1/predict`, '{"x": 1}', json), 422, /"inputs"/],
      [
        "too few numbers",
        () => post(`${s.url}/v1/predict`, JSON.stringify({ input: ok.slice(1) }), json),
        422,
        /783 numbers; the model takes 784/,
      ],
      [
        "wrong nested shape",
        () => post(`${s.url}/v1/predict`, JSON.stringify({ inputs: [[[[1, 2]]]] }), json),
        422,
        /input shape \[1, 28, 28\]/,
      ],
      [
        "a string among the numbers",
        () => post(`${s.url}/v1/predict`, JSON.stringify({ input: [...ok.slice(1), "x"] }), json),
        422,
        /expected a finite number/,
      ],
      ["no inputs", () => post(`${s.url}/v1/predict`, JSON.stringify({ inputs: [] }), json), 422, /no inputs/],
      [
        "too many inputs",
        () => post(`${s.url}/v1/predict`, JSON.stringify({ inputs: Array(5).fill([0]) }), json),
        413,
        /limit is 4/,
      ],
      ["huge body (declared)", () => post(`${s.url}/v1/predict`, new Uint8Array(200_000), json), 413, /limit is 65536/],
      [
        "huge body (streamed)",
        () => post(`${s.url}/v1/predict`, chunked(200_000), json),
        413,
        /over the limit of 65536/,
      ],
      [
        "wrong content type",
        () => post(`${s.url}/v1/predict`, JSON.stringify({ input: ok }), "text/plain"),
        415,
        /not application\/json/,
      ],
      [
        "no content type",
        () => fetch(`${s.url}/v1/predict`, { method: "POST", body: new Uint8Array([1]) }),
        415,
        /not application\/json/,
      ],
      [
        "text to the image endpoint",
        () => post(`${s.url}/v1/classify`, "hello", "text/plain"),
        415,
        /not an image upload/,
      ],
      [
        "bytes that are no image",
        () => post(`${s.url}/v1/classify`, new Uint8Array([1, 2, 3, 4]), "image/png"),
        422,
        /cannot decode the image/,
      ],
      [
        "a truncated PNG",
        async () => post(`${s.url}/v1/classify`, (await png(28, 28, () => 9)).slice(0, 60), "image/png"),
        422,
        /cannot decode/,
      ],
      [
        "a huge image",
        () => post(`${s.url}/v1/classify`, new Uint8Array(300_000), "image/jpeg"),
        413,
        /limit is 262144/,
      ],
      [
        "a form without files",
        () => fetch(`${s.url}/v1/classify`, { method: "POST", body: formWithText() }),
        422,
        /no file fields/,
      ],
      ["GET on predict", () => fetch(`${s.url}/v1/predict`), 405, /takes POST/],
      ["unknown path", () => fetch(`${s.url}/v2/predict`, { method: "POST" }), 404, /no endpoint/],
    ];
    for (const [what, send, status, message] of cases) {
      const res = await send();
      const body = await res.json().catch(() => null) as { error?: { message: string } } | null;
      assert.equal(res.status, status, `${what}: ${JSON.stringify(body)}`);
      assert.match(body?.error?.message ?? "", message, what);
    }
    assert.equal((await fetch(`${s.url}/healthz`)).status, 200);
    const res = await post(`${s.url}/v1/predict`, JSON.stringify({ input: ok }), json);
    assert.equal(res.status, 200, "still serving after the catalogue");
    await res.body?.cancel();
    assert.ok((s.metrics.requests.get('endpoint="/v1/predict",code="400"') ?? 0) >= 1);
  });
});

function chunked(n: number): ReadableStream<Uint8Array> {
  let sent = 0;
  return new ReadableStream({
    pull(c) {
      if (sent >= n) return c.close();
      c.enqueue(new Uint8Array(16_384).fill(32));
      sent += 16_384;
    },
  });
}

function formWithText(): FormData {
  const f = new FormData();
  f.append("note", "no image here");
  return f;
}
