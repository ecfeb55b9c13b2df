import assert from "node:assert/strict";
import { randn, type Tensor, tensor } from "./mod.ts";
import { type OpTracer, type TracedOp, untraced, withOpTracer } from "./trace.ts";

/** A tracer that keeps everything it is told. */
class Recorder implements OpTracer {
  ops: TracedOp[] = [];
  made: Tensor[] = [];
  reads: string[] = [];
  writes: string[] = [];
  op(r: TracedOp): void {
    this.ops.push(r);
  }
  created(t: Tensor): void {
    this.made.push(t);
  }
  read(_t: Tensor, op: string): void {
    this.reads.push(op);
  }
  writeInPlace(_t: Tensor, op: string): void {
    this.writes.push(op);
  }
}

Deno.test("trace: ops report name, inputs, outputs and attributes, a composite after its parts", () => {
  const x = randn([2, 3]);
  const rec = new Recorder();
  const y = withOpTracer(rec, () => x.relu().mean(1).add(1));
  const names = rec.ops.map((o) => o.op);
  // mean is a sum divided by the count: its parts report first, then mean itself with the same output.
  assert.deepEqual(names, ["relu", "sum", "div", "mean", "add"]);
  const mean = rec.ops[3];
  assert.equal(mean.inputs[0], rec.ops[0].outputs[0]);
  assert.equal(mean.outputs[0], rec.ops[2].outputs[0]);
  assert.deepEqual(mean.attrs, { dims: [1], keepdim: false });
  assert.equal(rec.ops[4].inputs[1], 1);
  assert.equal(rec.ops[4].outputs[0], y);
  assert.ok(rec.made.includes(y));
});

Deno.test("trace: reads and in-place writes are reported; untraced pauses the trace", () => {
  const x = randn([3]);
  const rec = new Recorder();
  withOpTracer(rec, () => {
    const y = x.mul(2);
    y.dataSync();
    untraced(() => y.dataSync());
    y.add_(1);
  });
  assert.deepEqual(rec.reads, ["dataSync"]);
  assert.deepEqual(rec.writes, ["add_"]);
});

Deno.test("trace: without a tracer nothing is reported, and traces do not nest", () => {
  const rec = new Recorder();
  tensor([1, 2]).relu();
  assert.equal(rec.ops.length, 0);
  assert.throws(() => withOpTracer(rec, () => withOpTracer(rec, () => 0)), /already running/);
  // The failed inner call left the outer trace's state intact and the trace ended with the outer call.
  tensor([1]).relu();
  assert.equal(rec.ops.length, 0);
});
