/**
 * A small WebAssembly binary writer: just what the CPU kernels need (i32, f32
 * and f64 scalars, 128-bit SIMD, one imported memory, structured control flow).
 *
 * The kernels are written as TypeScript that emits bytecode, so rebuilding the
 * `.wasm` needs no toolchain (no wabt, no clang): `deno task build:wasm` runs
 * the generator and `build_test.ts` checks the committed bytes equal a fresh
 * build.
 *
 * Code is plain `number[]` (bytes); the helpers below return fragments that
 * concatenate with {@link seq}.
 *
 * @module
 */

/** A fragment of bytecode. */
export type Code = number[];

/** Value types used by the kernels. */
export const I32 = 0x7f;
/** 32-bit float. */
export const F32 = 0x7d;
/** 64-bit float. */
export const F64 = 0x7c;
/** 128-bit vector. */
export const V128 = 0x7b;

/** Unsigned LEB128. */
export function uleb(n: number): Code {
  const out: Code = [];
  do {
    let byte = n & 0x7f;
    n >>>= 7;
    if (n !== 0) byte |= 0x80;
    out.push(byte);
  } while (n !== 0);
  return out;
}

/** Signed LEB128 (32-bit). */
export function sleb(n: number): Code {
  const out: Code = [];
  n |= 0;
  for (;;) {
    const byte = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (byte & 0x40) === 0) || (n === -1 && (byte & 0x40) !== 0)) {
      out.push(byte);
      return out;
    }
    out.push(byte | 0x80);
  }
}

/** Concatenates fragments. */
export function seq(...parts: (Code | number)[]): Code {
  const out: Code = [];
  for (const p of parts) {
    if (typeof p === "number") out.push(p);
    else for (const b of p) out.push(b);
  }
  return out;
}

function vec(items: Code[]): Code {
  return seq(uleb(items.length), ...items);
}

function section(id: number, body: Code): Code {
  return seq(id, uleb(body.length), body);
}

function name(s: string): Code {
  const bytes = [...new TextEncoder().encode(s)];
  return seq(uleb(bytes.length), bytes);
}

/** A function's locals: parameters first, then declared locals, addressed by name. */
export class Fn {
  readonly params: number[] = [];
  readonly locals: number[] = [];
  readonly #index = new Map<string, number>();
  /** Code of the body (without the trailing `end`). */
  body: Code = [];

  constructor(readonly name: string, params: [string, number][], readonly results: number[] = []) {
    for (const [n, t] of params) {
      this.#index.set(n, this.params.length);
      this.params.push(t);
    }
  }

  /** Declares locals of one type. */
  local(type: number, ...names: string[]): void {
    for (const n of names) {
      if (this.#index.has(n)) throw new Error(`local ${n} declared twice in ${this.name}`);
      this.#index.set(n, this.params.length + this.locals.length);
      this.locals.push(type);
    }
  }

  /** Index of a local or parameter. */
  idx(n: string): number {
    const i = this.#index.get(n);
    if (i === undefined) throw new Error(`unknown local ${n} in ${this.name}`);
    return i;
  }

  /** `local.get`. */
  get(n: string): Code {
    return [0x20, ...uleb(this.idx(n))];
  }

  /** `local.set` of the value `value` computes. */
  set(n: string, value: Code): Code {
    return seq(value, 0x21, uleb(this.idx(n)));
  }

  /** Encoded function body (locals + code + end). */
  encode(): Code {
    const groups: Code[] = [];
    let i = 0;
    while (i < this.locals.length) {
      let j = i;
      while (j < this.locals.length && this.locals[j] === this.locals[i]) j++;
      groups.push(seq(uleb(j - i), this.locals[i]));
      i = j;
    }
    const body = seq(vec(groups), this.body, 0x0b);
    return seq(uleb(body.length), body);
  }
}

/** Parameters of the given names, all i32 (what most kernels take: byte addresses, counts, strides). */
export function i32Params(names: readonly string[]): [string, number][] {
  return names.map((n) => [n, I32]);
}

// ---- instructions ---------------------------------------------------------

/** `i32.const`. */
export const i32 = (v: number): Code => [0x41, ...sleb(v)];
const bin = (opc: number) => (a: Code, b: Code): Code => seq(a, b, opc);
const un = (opc: number) => (a: Code): Code => seq(a, opc);
/** i32 arithmetic and comparisons (operands first). */
export const add = bin(0x6a);
/** `i32.sub`. */
export const sub = bin(0x6b);
/** `i32.mul`. */
export const mul = bin(0x6c);
/** `i32.shl`. */
export const shl = bin(0x74);
/** `i32.lt_s`. */
export const lt = bin(0x48);
/** `i32.lt_u` (unsigned: a negative left operand compares large). */
export const ltU = bin(0x49);
/** `i32.gt_s`. */
export const gt = bin(0x4a);
/** `i32.ge_s`. */
export const ge = bin(0x4e);
/** `i32.ge_u` (unsigned: a negative left operand compares large). */
export const geU = bin(0x4f);
/** `i32.eq`. */
export const eq = bin(0x46);
/** `i32.ne`. */
export const ne = bin(0x47);
/** `i32.and`. */
export const and = bin(0x71);
/** `i32.xor`. */
export const xor = bin(0x73);
/** `i32.shr_u`. */
export const shrU = bin(0x76);
/** `i32.eqz`. */
export const eqz = (a: Code): Code => seq(a, 0x45);
/** `select` (a if cond else b). */
export const select = (a: Code, b: Code, cond: Code): Code => seq(a, b, cond, 0x1b);
/** Signed minimum of two i32 values (evaluates both twice: use on locals/constants). */
export const min = (a: Code, b: Code): Code => select(a, b, lt(a, b));
/** Signed maximum of two i32 values (evaluates both twice: use on locals/constants). */
export const max = (a: Code, b: Code): Code => select(a, b, gt(a, b));
/** `i32.load` at byte address `addr` + `offset`. */
export const i32Load = (addr: Code, offset = 0): Code => seq(addr, 0x28, 2, uleb(offset));
/** `i32.store`. */
export const i32Store = (addr: Code, value: Code, offset = 0): Code => seq(addr, value, 0x36, 2, uleb(offset));

/** `i32.load8_u` at byte address `addr` + `offset` (a bool byte). */
export const i32Load8U = (addr: Code, offset = 0): Code => seq(addr, 0x2d, 0, uleb(offset));

/** `f32.load` at byte address `addr` + `offset`. */
export const f32Load = (addr: Code, offset = 0): Code => seq(addr, 0x2a, 2, uleb(offset));
/** `f32.store`. */
export const f32Store = (addr: Code, value: Code, offset = 0): Code => seq(addr, value, 0x38, 2, uleb(offset));
/** `f32.const`. */
export const f32 = (v: number): Code => {
  const b = new Uint8Array(new Float32Array([v]).buffer);
  return [0x43, ...b];
};
/** `f32.add`. */
export const f32Add = bin(0x92);
/** `f32.sub`. */
export const f32Sub = bin(0x93);
/** `f32.mul`. */
export const f32Mul = bin(0x94);
/** `f32.div`. */
export const f32Div = bin(0x95);
/** `f32.eq` (i32). */
export const f32Eq = bin(0x5b);
/** `f32.ne` (i32; a NaN differs from itself). */
export const f32Ne = bin(0x5c);
/** `f32.gt` (i32). */
export const f32Gt = bin(0x5e);
/** `f32.max` (NaN-propagating). */
export const f32Max = bin(0x97);
/** `f32.min` (NaN-propagating). */
export const f32Min = bin(0x96);

/** `f64.const`. */
export const f64 = (v: number): Code => [0x44, ...new Uint8Array(new Float64Array([v]).buffer)];
/** `f64.add`. */
export const f64Add = bin(0xa0);
/** `f64.sub`. */
export const f64Sub = bin(0xa1);
/** `f64.mul`. */
export const f64Mul = bin(0xa2);
/** `f64.div`. */
export const f64Div = bin(0xa3);
/** `f64.load` (8-byte alignment hint: float64 scratch is 64-byte aligned). */
export const f64Load = (addr: Code, offset = 0): Code => seq(addr, 0x2b, 3, uleb(offset));
/** `f64.store`. */
export const f64Store = (addr: Code, value: Code, offset = 0): Code => seq(addr, value, 0x39, 3, uleb(offset));
/** `f64.promote_f32`. */
export const f64Promote = un(0xbb);
/** `f32.demote_f64` (round to nearest even, as storing a JavaScript number into a Float32Array does). */
export const f32Demote = un(0xb6);
/** `f64.convert_i32_s`. */
export const f64OfI32 = un(0xb7);

// ---- SIMD (names: `v` for whole-vector operations, else the lane shape's) -------------------------------------------

/** The prefix and opcode of SIMD instruction `opc` (operands are pushed before it). */
export const simd = (opc: number): Code => [0xfd, ...uleb(opc)];
const vOp1 = (opc: number) => (a: Code): Code => seq(a, simd(opc));
const vOp2 = (opc: number) => (a: Code, b: Code): Code => seq(a, b, simd(opc));
const vMem = (opc: number, align: number) => (addr: Code, offset = 0): Code =>
  seq(addr, simd(opc), align, uleb(offset));
const vLane = (opc: number, align: number) => (addr: Code, value: Code, lane: number, offset = 0): Code =>
  seq(addr, value, simd(opc), align, uleb(offset), lane);

/** `v128.load` (alignment hint 4 bytes: packed panels are only float-aligned in general). */
export const vLoad = vMem(0x00, 2);
/** `v128.load8_splat` (a bool byte in every lane). */
export const vLoad8Splat = vMem(0x07, 0);
/** `v128.load32_splat`. */
export const vLoadSplat = vMem(0x09, 2);
/** `v128.load64_splat` (a float64 in both lanes). */
export const vLoad64Splat = vMem(0x0a, 3);
/** `v128.load32_zero`: one float into lane 0, zeros elsewhere. */
export const vLoad32Zero = vMem(0x5c, 2);
/** `v128.load64_zero`: two floats into lanes 0–1 (the operand of {@link f64x2Promote}). */
export const vLoad64Zero = vMem(0x5d, 2);
/** `v128.store`. */
export const vStore = (addr: Code, value: Code, offset = 0): Code => seq(addr, value, simd(0x0b), 2, uleb(offset));
/** `v128.store8_lane` of lane `lane`. */
export const vStore8Lane = vLane(0x58, 0);
/** `v128.store32_lane` of lane `lane`. */
export const vStore32Lane = vLane(0x5a, 2);
/** `v128.store64_lane` of lane `lane` (lane 0 of a demoted pair: its two floats). */
export const vStore64Lane = vLane(0x5b, 2);

/** `v128.const` of 16 bytes. */
export const vConst = (bytes: ArrayLike<number>): Code => seq(simd(0x0c), Array.from(bytes));
/** `v128.const` of zeros. */
export const vZero = (): Code => seq(simd(0x0c), new Array(16).fill(0));
/** `v128.const` of four equal float32 lanes. */
export const f32x4Const = (v: number): Code => vConst(new Uint8Array(new Float32Array([v, v, v, v]).buffer));
/** `v128.const` of four i32 lanes. */
export const i32x4Const = (lanes: number[]): Code => vConst(new Uint8Array(Int32Array.from(lanes).buffer));

/** `i8x16.shuffle`: byte `i` of the result is byte `bytes[i]` of `a` (0–15) or `b` (16–31). */
export const shuffle = (a: Code, b: Code, bytes: number[]): Code => seq(a, b, simd(0x0d), bytes);
/** `i8x16.shuffle` by 32-bit lanes (0–3 from `a`, 4–7 from `b`). */
export const shuffle32 = (a: Code, b: Code, lanes: number[]): Code =>
  shuffle(a, b, lanes.flatMap((l) => [4 * l, 4 * l + 1, 4 * l + 2, 4 * l + 3]));

/** `v128.and`. */
export const vAnd = vOp2(0x4e);
/** `v128.andnot`: `a & ~b`. */
export const vAndNot = vOp2(0x4f);
/** `v128.or`. */
export const vOr = vOp2(0x50);
/** `v128.bitselect(a, b, mask)`: bits of `a` where the mask is set, else of `b`. */
export const vBitselect = (a: Code, b: Code, mask: Code): Code => seq(a, b, mask, simd(0x52));
/** `v128.any_true` (i32). */
export const vAnyTrue = vOp1(0x53);

/** `i32x4.splat`. */
export const i32x4Splat = vOp1(0x11);
/** `f32x4.splat`. */
export const f32x4Splat = vOp1(0x13);
/** `f64x2.splat`. */
export const f64x2Splat = vOp1(0x14);
/** `f32x4.extract_lane`. */
export const f32x4Lane = (a: Code, lane: number): Code => seq(a, simd(0x1f), lane);
/** `f64x2.extract_lane`. */
export const f64x2Lane = (a: Code, lane: number): Code => seq(a, simd(0x21), lane);

/** `i8x16.ne` (all ones where the bytes differ: a bool byte as a lane mask when compared with zero). */
export const i8x16Ne = vOp2(0x24);
/** `f32x4.eq`. */
export const f32x4Eq = vOp2(0x41);
/** `f32x4.ne` (all ones where the lanes differ; a NaN lane differs from itself). */
export const f32x4Ne = vOp2(0x42);
/** `f32x4.lt`. */
export const f32x4Lt = vOp2(0x43);
/** `f32x4.gt`. */
export const f32x4Gt = vOp2(0x44);
/** `f32x4.le`. */
export const f32x4Le = vOp2(0x45);
/** `f32x4.ge`. */
export const f32x4Ge = vOp2(0x46);

/** `i8x16.narrow_i16x8_s` (saturating: lane masks stay all ones or zero). */
export const i8x16NarrowS = vOp2(0x65);
/** `i16x8.narrow_i32x4_s`. */
export const i16x8NarrowS = vOp2(0x85);
/** `i16x8.extend_low_i8x16_s`. */
export const i16x8ExtendLowS = vOp1(0x87);
/** `i16x8.extend_high_i8x16_s`. */
export const i16x8ExtendHighS = vOp1(0x88);
/** `i32x4.extend_low_i16x8_s`. */
export const i32x4ExtendLowS = vOp1(0xa7);
/** `i32x4.extend_high_i16x8_s`. */
export const i32x4ExtendHighS = vOp1(0xa8);
/** `i32x4.shl` by an i32 count. */
export const i32x4Shl = (a: Code, count: Code): Code => seq(a, count, simd(0xab));
/** `i32x4.trunc_sat_f32x4_s`: float lanes to signed integers (toward zero, saturating). */
export const i32x4TruncSatF32x4S = vOp1(0xf8);
/** `i32x4.add`. */
export const i32x4Add = vOp2(0xae);
/** `i32x4.sub`. */
export const i32x4Sub = vOp2(0xb1);
/** `i32x4.mul` (low 32 bits of each product). */
export const i32x4Mul = vOp2(0xb5);
/** `i32x4.shr_u` by an i32 count. */
export const i32x4ShrU = vOp2(0xad);
/** `i32x4.lt_u` (all ones where a < b unsigned). */
export const i32x4LtU = vOp2(0x3a);
/** `i32x4.ge_u` (all ones where a ≥ b unsigned). */
export const i32x4GeU = vOp2(0x40);
/** `v128.xor`. */
export const vXor = vOp2(0x51);

/** `f32x4.ceil`. */
export const f32x4Ceil = vOp1(0x67);
/** `f32x4.floor`. */
export const f32x4Floor = vOp1(0x68);
/** `f32x4.nearest` (ties to even). */
export const f32x4Nearest = vOp1(0x6a);
/** `f32x4.abs`. */
export const f32x4Abs = vOp1(0xe0);
/** `f32x4.neg`. */
export const f32x4Neg = vOp1(0xe1);
/** `f32x4.sqrt`. */
export const f32x4Sqrt = vOp1(0xe3);
/** `f32x4.add`. */
export const vAdd = vOp2(0xe4);
/** `f32x4.sub`. */
export const f32x4Sub = vOp2(0xe5);
/** `f32x4.mul`. */
export const vMul = vOp2(0xe6);
/** `f32x4.div`. */
export const f32x4Div = vOp2(0xe7);
/** `f32x4.min` (NaN-propagating). */
export const f32x4Min = vOp2(0xe8);
/** `f32x4.max` (NaN-propagating). */
export const f32x4Max = vOp2(0xe9);
/** `f32x4.pmin(a, b)` = `b < a ? b : a`. */
export const f32x4PMin = vOp2(0xea);
/** `f32x4.pmax(a, b)` = `a < b ? b : a` (one `maxps`; NaN and signed zeros follow the operand order). */
export const f32x4PMax = vOp2(0xeb);
/** `f32x4.relaxed_madd`: a·b + c, fused where the hardware has FMA. */
export const vMadd = (a: Code, b: Code, c: Code): Code => seq(a, b, c, simd(0x105));

/** `f64x2.sqrt`. */
export const f64x2Sqrt = vOp1(0xef);
/** `f64x2.add`. */
export const f64x2Add = vOp2(0xf0);
/** `f64x2.sub`. */
export const f64x2Sub = vOp2(0xf1);
/** `f64x2.mul`. */
export const f64x2Mul = vOp2(0xf2);
/** `f64x2.div`. */
export const f64x2Div = vOp2(0xf3);
/** `f64x2.max` (NaN-propagating, like `Math.max`). */
export const f64x2Max = vOp2(0xf5);
/** `f32x4.demote_f64x2_zero`: a float64 pair rounded into lanes 0–1, zeros in 2–3. */
export const f32x4Demote = vOp1(0x5e);
/** `f64x2.promote_low_f32x4`: lanes 0–1 of a float32 vector as float64. */
export const f64x2Promote = vOp1(0x5f);
/** Lanes 2–3 of a float32 vector as float64 (`v` is read twice: pass a `local.get`). */
export const f64x2PromoteHigh = (v: Code): Code => f64x2Promote(shuffle32(v, v, [2, 3, 2, 3]));
/** Two float64 pairs rounded into one float32 vector: `lo` into lanes 0–1, `hi` into 2–3. */
export const f32x4DemoteJoin = (lo: Code, hi: Code): Code => shuffle32(f32x4Demote(lo), f32x4Demote(hi), [0, 1, 4, 5]);

/** `memory.fill` of `n` bytes at `dst` with byte `value`. */
export const memFill = (dst: Code, value: Code, n: Code): Code => seq(dst, value, n, 0xfc, uleb(11), 0x00);
/** `memory.copy` of `n` bytes from `src` to `dst` (overlap-safe). */
export const memCopy = (dst: Code, src: Code, n: Code): Code => seq(dst, src, n, 0xfc, uleb(10), 0x00, 0x00);

/** `block … end` (no result). */
export const block = (...body: Code[]): Code => seq(0x02, 0x40, ...body, 0x0b);
/** `loop … end` (no result). */
export const loop = (...body: Code[]): Code => seq(0x03, 0x40, ...body, 0x0b);
/** `if … else … end` (no result). */
export const ifElse = (cond: Code, then: Code, otherwise?: Code): Code =>
  otherwise ? seq(cond, 0x04, 0x40, then, 0x05, otherwise, 0x0b) : seq(cond, 0x04, 0x40, then, 0x0b);
/** `br_if depth`. */
export const brIf = (depth: number, cond: Code): Code => seq(cond, 0x0d, uleb(depth));
/** `br depth`. */
export const br = (depth: number): Code => seq(0x0c, uleb(depth));
/** `call`. */
export const call = (index: number, ...args: Code[]): Code => seq(...args, 0x10, uleb(index));

/** `while (cond) body`: inside the body, depth 0 continues and depth 1 breaks. */
export const whileLoop = (cond: Code, ...body: Code[]): Code => block(loop(brIf(1, eqz(cond)), ...body, br(0)));

/** `for (v = 0; v < end; v++) body` as a {@link whileLoop}, `end` a local (read every iteration). */
export function forCount(f: Fn, v: string, end: string, ...body: Code[]): Code {
  return seq(f.set(v, i32(0)), whileLoop(lt(f.get(v), f.get(end)), ...body, f.set(v, add(f.get(v), i32(1)))));
}

/** Sets every named local to `value`. */
export function setAll(f: Fn, names: readonly string[], value: Code): Code {
  return seq(...names.map((n) => f.set(n, value)));
}

/**
 * `for (v = start; v < end; v += step) body` — `end` is re-evaluated each
 * iteration, so pass a local or a constant. The body must not branch out.
 */
export function forRange(f: Fn, v: string, start: Code, end: Code, step: Code, ...body: Code[]): Code {
  return seq(
    f.set(v, start),
    block(loop(brIf(1, ge(f.get(v), end)), ...body, f.set(v, add(f.get(v), step)), br(0))),
  );
}

/** Options of the one memory every kernel module imports as `env.memory`. */
export interface MemoryImport {
  /** Initial pages (64 KiB each). */
  readonly min: number;
  /** Maximum pages (required for shared memory). */
  readonly max: number;
  /** Whether the memory is shared between threads. */
  readonly shared: boolean;
}

/** Encodes a module: imported memory, the functions, and the exported ones by name. */
export function encodeModule(memory: MemoryImport, fns: Fn[], exported: string[]): Uint8Array<ArrayBuffer> {
  const sigs: string[] = [];
  const sigOf = fns.map((f) => {
    const key = `${f.params.join(",")}:${f.results.join(",")}`;
    let i = sigs.indexOf(key);
    if (i < 0) i = sigs.push(key) - 1;
    return i;
  });
  const types = sigs.map((s) => {
    const [p, r] = s.split(":").map((x) => (x === "" ? [] : x.split(",").map(Number)));
    return seq(0x60, vec(p.map((t) => [t])), vec(r.map((t) => [t])));
  });
  const limits = seq(memory.shared ? 0x03 : 0x01, uleb(memory.min), uleb(memory.max));
  const imports = vec([seq(name("env"), name("memory"), 0x02, limits)]);
  const exportsSec = vec(exported.map((n) => {
    const i = fns.findIndex((f) => f.name === n);
    if (i < 0) throw new Error(`export ${n} has no function`);
    return seq(name(n), 0x00, uleb(i));
  }));
  const bytes = seq(
    [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
    section(1, vec(types)),
    section(2, imports),
    section(3, vec(sigOf.map((i) => uleb(i)))),
    section(7, exportsSec),
    section(10, vec(fns.map((f) => f.encode()))),
  );
  return new Uint8Array(bytes);
}
