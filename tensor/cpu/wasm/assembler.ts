/**
 * A small WebAssembly binary writer: just what the CPU kernels need (i32 and
 * f32 scalars, 128-bit SIMD, one imported memory, structured control flow).
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

// ---- instructions ---------------------------------------------------------

/** `i32.const`. */
export const i32 = (v: number): Code => [0x41, ...sleb(v)];
const bin = (opc: number) => (a: Code, b: Code): Code => seq(a, b, opc);
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
/** `i32.eqz`. */
export const eqz = (a: Code): Code => seq(a, 0x45);
/** `select` (a if cond else b). */
export const select = (a: Code, b: Code, cond: Code): Code => seq(a, b, cond, 0x1b);
/** Signed minimum of two i32 values (evaluates both twice: use on locals/constants). */
export const min = (a: Code, b: Code): Code => select(a, b, lt(a, b));

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

/** The prefix and opcode of SIMD instruction `opc` (operands are pushed before it). */
export const simd = (opc: number): Code => [0xfd, ...uleb(opc)];
/** `v128.load` (alignment hint 4 bytes: packed panels are only float-aligned in general). */
export const vLoad = (addr: Code, offset = 0): Code => seq(addr, simd(0x00), 2, uleb(offset));
/** `v128.load32_splat`. */
export const vLoadSplat = (addr: Code, offset = 0): Code => seq(addr, simd(0x09), 2, uleb(offset));
/** `v128.store`. */
export const vStore = (addr: Code, value: Code, offset = 0): Code => seq(addr, value, simd(0x0b), 2, uleb(offset));
/** `v128.const` of zeros. */
export const vZero = (): Code => seq(simd(0x0c), new Array(16).fill(0));
/** `f32x4.add`. */
export const vAdd = (a: Code, b: Code): Code => seq(a, b, simd(0xe4));
/** `f32x4.mul`. */
export const vMul = (a: Code, b: Code): Code => seq(a, b, simd(0xe6));
/** `f32x4.relaxed_madd`: a·b + c, fused where the hardware has FMA. */
export const vMadd = (a: Code, b: Code, c: Code): Code => seq(a, b, c, simd(0x105));

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
