/**
 * Dynamic micro-batching: requests that arrive within `maxWaitMs` of the
 * first waiting one (or until `maxBatch` are waiting) share one forward pass.
 * One batch runs at a time; samples that arrive meanwhile wait for the next.
 * The queue is bounded: past `maxQueue` waiting samples, `submit` refuses at
 * once (the server answers 429) rather than letting latency grow without end.
 *
 * @module
 */

/** Options of {@link MicroBatcher}. */
export interface BatcherOptions {
  /** The most samples in one forward pass (1: no batching). */
  maxBatch: number;
  /** How long the first waiting sample waits for company, in ms (0: run as soon as the loop is free). */
  maxWaitMs: number;
  /** The most samples waiting; more are refused with {@link QueueFullError}. */
  maxQueue: number;
  /** Called with each batch's size as it starts (for metrics). */
  onBatch?: (size: number) => void;
}

/** Thrown by {@link MicroBatcher.submit} when the queue is full. */
export class QueueFullError extends Error {
  /** An error saying the queue holds `size` samples. */
  constructor(readonly size: number) {
    super(`the queue is full (${size} samples waiting)`);
    this.name = "QueueFullError";
  }
}

interface Waiting<I, O> {
  sample: I;
  resolve: (out: O) => void;
  reject: (e: unknown) => void;
}

/** Collects samples into batches for `run`, which maps a batch of inputs to one output each, in order. */
export class MicroBatcher<I, O> {
  #queue: Waiting<I, O>[] = [];
  #timer: ReturnType<typeof setTimeout> | null = null;
  #running: Promise<void> | null = null;
  #idle: (() => void)[] = [];

  /** A batcher over `run`. */
  constructor(readonly run: (batch: I[]) => O[] | Promise<O[]>, readonly options: BatcherOptions) {
    if (!(options.maxBatch >= 1 && options.maxQueue >= 1 && options.maxWaitMs >= 0)) {
      throw new RangeError(`MicroBatcher: bad options ${JSON.stringify(options)}`);
    }
  }

  /** Samples waiting for a batch. */
  get queued(): number {
    return this.#queue.length;
  }

  /** Whether a batch is running now. */
  get busy(): boolean {
    return this.#running !== null;
  }

  /** Queues one sample; resolves with its output once its batch ran. Throws {@link QueueFullError} when full. */
  submit(sample: I): Promise<O> {
    if (this.#queue.length >= this.options.maxQueue) throw new QueueFullError(this.#queue.length);
    const p = new Promise<O>((resolve, reject) => this.#queue.push({ sample, resolve, reject }));
    this.#schedule();
    return p;
  }

  /** Resolves once nothing is waiting or running (graceful shutdown). */
  drained(): Promise<void> {
    if (!this.#running && this.#queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }

  #schedule(): void {
    if (this.#running || this.#queue.length === 0) return;
    if (this.#queue.length >= this.options.maxBatch || this.options.maxWaitMs === 0) {
      if (this.#timer !== null) clearTimeout(this.#timer);
      this.#timer = null;
      this.#running = this.#flush();
    } else if (this.#timer === null) {
      this.#timer = setTimeout(() => {
        this.#timer = null;
        if (!this.#running) this.#running = this.#flush();
      }, this.options.maxWaitMs);
    }
  }

  async #flush(): Promise<void> {
    // Let requests that arrived in this turn of the event loop join (a yield, not a wait).
    await Promise.resolve();
    const batch = this.#queue.splice(0, this.options.maxBatch);
    try {
      this.options.onBatch?.(batch.length);
      const outs = await this.run(batch.map((w) => w.sample));
      if (outs.length !== batch.length) throw new Error(`batch of ${batch.length} gave ${outs.length} outputs`);
      batch.forEach((w, i) => w.resolve(outs[i]));
    } catch (e) {
      for (const w of batch) w.reject(e);
    } finally {
      this.#running = null;
      if (this.#queue.length) this.#schedule();
      else for (const done of this.#idle.splice(0)) done();
    }
  }
}
