/**
 * The inference server: `Deno.serve` over a loaded classifier, with a JSON
 * endpoint, an image-upload endpoint, dynamic micro-batching, a bounded
 * queue (429), `/healthz`, Prometheus `/metrics` and graceful shutdown.
 *
 * - `POST /v1/predict` — `{"inputs": [sample, …]}` or `{"input": sample}`, a
 *   sample being the model's input (`[C][H][W]` nested, or flat), already
 *   scaled as in training.
 * - `POST /v1/classify` — an image body (`image/png`, `image/jpeg`), or
 *   `multipart/form-data` with one or more image files; resized and scaled
 *   as the model wants.
 * - Both answer `{"model", "predictions": [{"class", "label", "probability", "top": […]}]}`.
 * - Bad requests get a 4xx and `{"error": {"status", "message"}}`: 400
 *   malformed JSON, 404, 405, 413 too large, 415 wrong content type, 422
 *   wrong shape / not finite / undecodable image, 429 queue full, 503
 *   shutting down.
 *
 * @module
 */

import { data } from "../../mod.ts";
import { MicroBatcher, QueueFullError } from "./batcher.ts";
import { classifyBatch, imageToSample, type LoadedClassifier, topK } from "./classifiers.ts";
import { Metrics } from "./metrics.ts";

/** Options of {@link startServer}. */
export interface ServerOptions {
  /** The model to serve. */
  classifier: LoadedClassifier;
  /** Interface to listen on (default 127.0.0.1). */
  hostname?: string;
  /** Port (default 8000; 0 picks a free one). */
  port?: number;
  /** Batch requests (default true); false runs each sample alone, as it comes. */
  batching?: boolean;
  /** The most samples per forward pass when batching (default 32). */
  maxBatch?: number;
  /** How long a waiting sample waits for others, in ms (default 5). */
  maxWaitMs?: number;
  /** The most samples waiting before requests get 429 (default 256). */
  maxQueue?: number;
  /** The largest JSON body in bytes (default 1 MiB). */
  maxJsonBytes?: number;
  /** The largest image upload in bytes (default 8 MiB). */
  maxImageBytes?: number;
  /** The most samples one request may carry (default 64). */
  maxSamplesPerRequest?: number;
  /** Classes listed per prediction (default 5). */
  topK?: number;
  /** Called with the URL once listening. */
  onListen?: (url: string) => void;
}

/** A running server. */
export interface RunningServer {
  /** Its base URL (`http://127.0.0.1:8000`). */
  readonly url: string;
  /** Its counters. */
  readonly metrics: Metrics;
  /** The batcher (its queue). */
  readonly batcher: MicroBatcher<Float32Array, Float32Array>;
  /** Stops accepting connections, finishes every request in flight, then resolves. */
  shutdown(): Promise<void>;
  /** Resolves when the server has stopped. */
  readonly finished: Promise<void>;
}

/** An error that becomes an HTTP answer. */
class HttpError extends Error {
  constructor(readonly status: number, message: string, readonly headers: Record<string, string> = {}) {
    super(message);
  }
}

const ENDPOINTS = new Map<string, string>([
  ["/v1/predict", "POST"],
  ["/v1/classify", "POST"],
  ["/healthz", "GET"],
  ["/metrics", "GET"],
  ["/", "GET"],
]);

function json(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body) + "\n", {
    status,
    headers: { "content-type": "application/json; charset=utf-8", ...headers },
  });
}

/** Reads at most `limit` bytes of the body; a longer body is refused with 413 (before reading it, when it says so). */
async function readBody(req: Request, limit: number): Promise<Uint8Array<ArrayBuffer>> {
  const declared = req.headers.get("content-length");
  if (declared !== null && Number(declared) > limit) {
    throw new HttpError(413, `the body is ${declared} bytes; the limit is ${limit}`);
  }
  if (!req.body) return new Uint8Array(0);
  const reader = req.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.length;
    if (total > limit) {
      await reader.cancel();
      throw new HttpError(413, `the body is over the limit of ${limit} bytes`);
    }
    chunks.push(value);
  }
  const out = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

function mediaType(req: Request): string {
  return (req.headers.get("content-type") ?? "").split(";")[0].trim().toLowerCase();
}

/** One JSON sample → the model's flat input, or a 422 naming what is wrong with `inputs[i]`. */
function jsonSample(x: unknown, i: number, clf: LoadedClassifier): Float32Array {
  const shape = clf.spec.inputShape;
  const where = `inputs[${i}]`;
  const flat: number[] = [];
  const walk = (v: unknown, depth: number, path: string): void => {
    if (Array.isArray(v)) {
      // Nested input must follow the model's shape exactly; a flat list is taken as the whole sample.
      if (depth > 0 || Array.isArray(v[0])) {
        const want = shape[depth];
        if (depth >= shape.length || v.length !== want) {
          throw new HttpError(
            422,
            `${path} has ${v.length} entries where the input shape [${shape.join(", ")}] wants ${want ?? "a number"}`,
          );
        }
      }
      v.forEach((e, k) => walk(e, depth + 1, `${path}[${k}]`));
    } else if (typeof v === "number" && Number.isFinite(v)) flat.push(v);
    else throw new HttpError(422, `${path} is ${JSON.stringify(v)}; expected a finite number`);
  };
  if (!Array.isArray(x)) throw new HttpError(422, `${where} must be an array of numbers`);
  walk(x, 0, where);
  if (flat.length !== clf.sampleSize) {
    throw new HttpError(
      422,
      `${where} has ${flat.length} numbers; the model takes ${clf.sampleSize} (shape [${shape.join(", ")}])`,
    );
  }
  return Float32Array.from(flat);
}

/** Starts serving `options.classifier`; resolves once listening. */
export function startServer(options: ServerOptions): Promise<RunningServer> {
  const clf = options.classifier;
  const batching = options.batching ?? true;
  const maxJson = options.maxJsonBytes ?? 1 << 20, maxImage = options.maxImageBytes ?? 8 << 20;
  const maxSamples = options.maxSamplesPerRequest ?? 64, k = Math.min(options.topK ?? 5, clf.labels.length);
  const metrics = new Metrics();
  const batcher = new MicroBatcher<Float32Array, Float32Array>((batch) => classifyBatch(clf, batch), {
    maxBatch: batching ? options.maxBatch ?? 32 : 1,
    maxWaitMs: batching ? options.maxWaitMs ?? 5 : 0,
    maxQueue: options.maxQueue ?? 256,
    onBatch: (n) => metrics.batchSize.observe(n),
  });
  metrics.queueDepth = () => batcher.queued;
  let draining = false;

  async function predict(samples: Float32Array[]): Promise<Response> {
    if (samples.length === 0) throw new HttpError(422, "no inputs given");
    if (samples.length > maxSamples) {
      throw new HttpError(413, `${samples.length} inputs in one request; the limit is ${maxSamples}`);
    }
    const room = batcher.options.maxQueue - batcher.queued;
    if (samples.length > room) {
      throw new HttpError(429, `the server is busy (${batcher.queued} samples queued); retry shortly`, {
        "retry-after": "1",
      });
    }
    let probs: Float32Array[];
    try {
      probs = await Promise.all(samples.map((s) => batcher.submit(s)));
    } catch (e) {
      if (e instanceof QueueFullError) {
        throw new HttpError(429, `the server is busy: ${e.message}`, { "retry-after": "1" });
      }
      throw e;
    }
    return json(200, {
      model: clf.name,
      predictions: probs.map((p) => {
        const top = topK(p, clf.labels, k);
        return { ...top[0], top };
      }),
    });
  }

  async function classify(req: Request): Promise<Response> {
    const type = mediaType(req);
    const images: [string, Uint8Array][] = [];
    if (type === "image/png" || type === "image/jpeg" || type === "application/octet-stream") {
      images.push(["body", await readBody(req, maxImage)]);
    } else if (type === "multipart/form-data") {
      const body = await readBody(req, maxImage);
      let form: FormData;
      try {
        form = await new Response(body, { headers: { "content-type": req.headers.get("content-type")! } }).formData();
      } catch (e) {
        throw new HttpError(400, `malformed multipart body: ${(e as Error).message}`);
      }
      for (const [field, v] of form) {
        if (typeof v !== "string") images.push([`${field} (${v.name})`, new Uint8Array(await v.arrayBuffer())]);
      }
      if (images.length === 0) throw new HttpError(422, "the form has no file fields; send the image as a file");
    } else {
      throw new HttpError(
        415,
        `content type "${type || "(none)"}" is not an image upload; send image/png, image/jpeg or multipart/form-data`,
      );
    }
    const samples: Float32Array[] = [];
    for (const [name, bytes] of images) {
      let img: data.Image;
      try {
        img = await data.decodeImage(bytes, name);
      } catch (e) {
        throw new HttpError(422, `cannot decode the image: ${(e as Error).message}`);
      }
      samples.push(imageToSample(img, clf.spec));
    }
    return await predict(samples);
  }

  async function route(req: Request, path: string): Promise<Response> {
    const method = ENDPOINTS.get(path);
    if (!method) throw new HttpError(404, `no endpoint ${path}; try POST /v1/predict or POST /v1/classify`);
    if (req.method !== method) {
      throw new HttpError(405, `${path} takes ${method}, not ${req.method}`, { allow: method });
    }
    if (path === "/healthz") {
      return draining
        ? json(503, { status: "shutting down" })
        : json(200, { status: "ok", model: clf.name, queued: batcher.queued });
    }
    if (path === "/metrics") {
      return new Response(metrics.render(), { headers: { "content-type": "text/plain; version=0.0.4" } });
    }
    if (path === "/") {
      return json(200, {
        model: clf.name,
        description: clf.spec.description,
        inputShape: clf.spec.inputShape,
        classes: clf.labels.length,
        endpoints: [...ENDPOINTS].map(([p, m]) => `${m} ${p}`),
      });
    }
    if (draining) throw new HttpError(503, "the server is shutting down");
    if (path === "/v1/classify") return await classify(req);
    if (mediaType(req) !== "application/json") {
      throw new HttpError(415, `content type "${mediaType(req) || "(none)"}" is not application/json`);
    }
    const text = new TextDecoder().decode(await readBody(req, maxJson));
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch (e) {
      throw new HttpError(400, `malformed JSON: ${(e as Error).message}`);
    }
    if (typeof body !== "object" || body === null || Array.isArray(body)) {
      throw new HttpError(422, `expected an object {"inputs": [...]} or {"input": [...]}`);
    }
    const b = body as Record<string, unknown>;
    const list = "inputs" in b ? b.inputs : "input" in b ? [b.input] : undefined;
    if (!Array.isArray(list)) {
      throw new HttpError(422, `expected "inputs": an array of samples (or "input": one sample)`);
    }
    if (list.length > maxSamples) {
      throw new HttpError(413, `${list.length} inputs in one request; the limit is ${maxSamples}`);
    }
    return await predict(list.map((x, i) => jsonSample(x, i, clf)));
  }

  async function handler(req: Request): Promise<Response> {
    const start = performance.now();
    const path = new URL(req.url).pathname;
    metrics.inflight++;
    let res: Response;
    try {
      res = await route(req, path);
    } catch (e) {
      if (e instanceof HttpError) res = json(e.status, { error: { status: e.status, message: e.message } }, e.headers);
      else {
        console.error(`serve: ${req.method} ${path} failed:`, e);
        res = json(500, { error: { status: 500, message: "internal error (logged by the server)" } });
      }
    } finally {
      metrics.inflight--;
    }
    metrics.request(ENDPOINTS.has(path) ? path : "other", res.status, (performance.now() - start) / 1000);
    return res;
  }

  const server = Deno.serve({
    hostname: options.hostname ?? "127.0.0.1",
    port: options.port ?? 8000,
    onListen: () => {},
  }, handler);
  const url = `http://${server.addr.hostname}:${server.addr.port}`;
  options.onListen?.(url);
  return Promise.resolve({
    url,
    metrics,
    batcher,
    finished: server.finished,
    async shutdown() {
      draining = true;
      await server.shutdown();
      await batcher.drained();
    },
  });
}
