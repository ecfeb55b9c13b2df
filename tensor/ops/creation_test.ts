import assert from "node:assert/strict";
import {
  arange,
  eye,
  full,
  fullLike,
  Generator,
  linspace,
  manualSeed,
  ones,
  onesLike,
  rand,
  randint,
  randLike,
  randn,
  randnLike,
  tensor,
  zeros,
  zerosLike,
} from "../mod.ts";

Deno.test("tensor: nested arrays give shape and float32 by default", () => {
  const t = tensor([[1, 2, 3], [4, 5, 6]]);
  assert.deepEqual(t.shape, [2, 3]);
  assert.equal(t.dtype, "float32");
  assert.deepEqual(Array.from(t.dataSync()), [1, 2, 3, 4, 5, 6]);
  assert.deepEqual(tensor(2.5).shape, []);
  assert.deepEqual(tensor([]).shape, [0]);
  assert.equal(tensor([true, false]).dtype, "bool");
  assert.equal(tensor([1, 2], { dtype: "int32" }).dtype, "int32");
  assert.deepEqual(Array.from(tensor([0, 2, -1], { dtype: "bool" }).dataSync()), [0, 1, 1]);
  assert.deepEqual(Array.from(tensor([1.7, -1.7], { dtype: "int32" }).dataSync()), [1, -1]);
});

Deno.test("tensor: typed arrays keep their dtype and copy the data; shape option", () => {
  const src = new Int32Array([1, 2, 3, 4, 5, 6]);
  const t = tensor(src, { shape: [3, 2] });
  assert.equal(t.dtype, "int32");
  assert.deepEqual(t.shape, [3, 2]);
  src[0] = 100;
  assert.equal(t.dataSync()[0], 1, "the tensor must not alias the caller's array");
  assert.equal(tensor(new Float64Array([1, 2])).dtype, "float64");
  assert.equal(tensor(new Float32Array([1, 2]), { dtype: "float64" }).dtype, "float64");
  assert.throws(() => tensor(new Float32Array(5), { shape: [2, 2] }), /shape \[2, 2\] does not hold 5 values/);
});

Deno.test("tensor: requiresGrad option makes a leaf", () => {
  const t = tensor([1, 2], { requiresGrad: true });
  assert.equal(t.requiresGrad, true);
  assert.equal(t.isLeaf, true);
});

Deno.test("zeros, ones, full, eye and the *Like functions", () => {
  assert.deepEqual(Array.from(zeros([2, 2]).dataSync()), [0, 0, 0, 0]);
  assert.deepEqual(Array.from(ones([3]).dataSync()), [1, 1, 1]);
  const f = full([2, 3], 7, { dtype: "int32" });
  assert.equal(f.dtype, "int32");
  assert.deepEqual(Array.from(f.dataSync()), [7, 7, 7, 7, 7, 7]);
  assert.equal(full([1], true).dtype, "bool");
  assert.deepEqual(Array.from(eye(2, 3).dataSync()), [1, 0, 0, 0, 1, 0]);
  assert.deepEqual(Array.from(eye(3).dataSync()), [1, 0, 0, 0, 1, 0, 0, 0, 1]);
  const base = tensor([[1, 2]], { dtype: "float64" });
  for (const [t, v] of [[zerosLike(base), 0], [onesLike(base), 1], [fullLike(base, 3), 3]] as const) {
    assert.deepEqual(t.shape, [1, 2]);
    assert.equal(t.dtype, "float64");
    assert.deepEqual(Array.from(t.dataSync()), [v, v]);
  }
  assert.equal(zerosLike(base, { dtype: "int32" }).dtype, "int32");
  assert.deepEqual(zeros([0, 3]).shape, [0, 3]);
});

Deno.test("arange and linspace", () => {
  const a = arange(5);
  assert.equal(a.dtype, "int32");
  assert.deepEqual(Array.from(a.dataSync()), [0, 1, 2, 3, 4]);
  assert.deepEqual(Array.from(arange(2, 11, 3).dataSync()), [2, 5, 8]);
  assert.deepEqual(Array.from(arange(5, 0, -2).dataSync()), [5, 3, 1]);
  const f = arange(0, 1, 0.25);
  assert.equal(f.dtype, "float32");
  assert.deepEqual(Array.from(f.dataSync()), [0, 0.25, 0.5, 0.75]);
  assert.deepEqual(arange(3, 3).shape, [0]);
  assert.deepEqual(Array.from(linspace(0, 1, 5).dataSync()), [0, 0.25, 0.5, 0.75, 1]);
  const l = linspace(-1, 2, 7, { dtype: "float64" }).dataSync();
  for (let i = 0; i < 7; i++) assert.ok(Math.abs(l[i] - (-1 + i * 0.5)) < 1e-12);
  assert.deepEqual(Array.from(linspace(3, 9, 1).dataSync()), [3]);
  assert.throws(() => arange(0, 5, 0), /arange: step must be non-zero/);
  assert.throws(() => linspace(0, 1, -1), /linspace: steps must be a non-negative integer/);
});

Deno.test("manualSeed makes every random function reproducible", () => {
  const draw = () => [rand([5]), randn([2, 3]), randint(0, 10, [6]), randnLike(zeros([4])), randLike(zeros([2]))];
  manualSeed(123);
  const first = draw().map((t) => Array.from(t.dataSync()));
  manualSeed(123);
  const second = draw().map((t) => Array.from(t.dataSync()));
  assert.deepEqual(first, second);
  manualSeed(124);
  const third = draw().map((t) => Array.from(t.dataSync()));
  assert.notDeepEqual(first[0], third[0]);
  // Successive draws differ (the counter advances).
  manualSeed(1);
  assert.notDeepEqual(Array.from(rand([4]).dataSync()), Array.from(rand([4]).dataSync()));
});

Deno.test("rand, randn, randint: ranges, dtypes and rough moments", () => {
  manualSeed(7);
  const u = Array.from(rand([4000]).dataSync());
  assert.ok(u.every((x) => x >= 0 && x < 1));
  const mean = u.reduce((a, b) => a + b, 0) / u.length;
  assert.ok(Math.abs(mean - 0.5) < 0.03, `uniform mean ${mean}`);
  const n = randn([4000], { dtype: "float64" });
  assert.equal(n.dtype, "float64");
  const nd = Array.from(n.dataSync());
  const m = nd.reduce((a, b) => a + b, 0) / nd.length;
  const v = nd.reduce((a, b) => a + (b - m) ** 2, 0) / nd.length;
  assert.ok(Math.abs(m) < 0.06 && Math.abs(v - 1) < 0.08, `normal mean ${m}, variance ${v}`);
  const r = randint(-3, 4, [2000]);
  assert.equal(r.dtype, "int32");
  const rd = Array.from(r.dataSync());
  assert.ok(rd.every((x) => Number.isInteger(x) && x >= -3 && x < 4));
  assert.deepEqual(new Set(rd).size, 7, "every value in [low, high) appears");
  assert.throws(() => randint(5, 5, [1]), /randint: expects integers low < high/);
  assert.throws(() => rand([2], { dtype: "int32" }), /rand: dtype must be floating point/);
  assert.equal(randn([2], { requiresGrad: true }).requiresGrad, true);
});

Deno.test("Generator: independent, reproducible streams; state save and restore", () => {
  const g1 = new Generator(42), g2 = new Generator(42);
  assert.deepEqual(
    Array.from(randn([5], { generator: g1 }).dataSync()),
    Array.from(randn([5], { generator: g2 }).dataSync()),
  );
  // Drawing from the global generator does not disturb g1.
  const state = g1.getState();
  const a = Array.from(rand([3], { generator: g1 }).dataSync());
  rand([10]);
  g1.setState(state);
  assert.deepEqual(Array.from(rand([3], { generator: g1 }).dataSync()), a);
  // Host draws.
  const g = new Generator(5);
  const p = g.randperm(10);
  assert.deepEqual([...p].sort((x, y) => x - y), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  assert.deepEqual(new Generator(5).randperm(10), p);
  const x = g.random();
  assert.ok(x >= 0 && x < 1);
  for (let i = 0; i < 50; i++) {
    const k = g.randint(2, 5);
    assert.ok(Number.isInteger(k) && k >= 2 && k < 5);
  }
  assert.equal(new Generator(3).manualSeed(9).seed, 9);
  assert.throws(() => new Generator(1.5), /seed must be an integer/);
  assert.throws(() => manualSeed(0.5), /seed must be an integer/);
});

Deno.test("tensor: a shape option must hold the values; eye takes options in second place", () => {
  assert.throws(() => tensor([1, 2, 3], { shape: [2, 2] }), /tensor: shape \[2, 2\] does not hold 3 values/);
  assert.deepEqual(tensor([1, 2, 3, 4], { shape: [2, 2] }).shape, [2, 2]);
  const e = eye(2, { dtype: "int32" });
  assert.equal(e.dtype, "int32");
  assert.deepEqual(Array.from(e.dataSync()), [1, 0, 0, 1]);
});
