/**
 * Element types and PyTorch's promotion rules.
 *
 * @module
 */

/** The element types a tensor can hold. `float64` exists on the CPU backend only (for gradcheck). */
export type DType = "float32" | "float64" | "int32" | "bool";

/** The typed array that stores each dtype on the CPU. */
export type TypedArray = Float32Array | Float64Array | Int32Array | Uint8Array;

/** Every dtype, in promotion order (lowest first). */
export const DTYPES: readonly DType[] = ["bool", "int32", "float32", "float64"];

const RANK: Record<DType, number> = { bool: 0, int32: 1, float32: 2, float64: 3 };

/** Whether `dtype` holds floating-point numbers. */
export function isFloating(dtype: DType): boolean {
  return dtype === "float32" || dtype === "float64";
}

/** The dtype two tensors promote to (PyTorch's category order: bool < int32 < float32 < float64). */
export function promoteTypes(a: DType, b: DType): DType {
  return RANK[a] >= RANK[b] ? a : b;
}

/**
 * The dtype of `tensor op scalar`: a Python-style scalar only raises the
 * category (an int tensor times 2.5 is float32), never the width.
 */
export function promoteWithScalar(t: DType, scalar: number | boolean): DType {
  if (typeof scalar === "boolean") return t;
  if (isFloating(t)) return t;
  if (Number.isInteger(scalar)) return t === "bool" ? "int32" : t;
  return "float32";
}

/** Allocates a zeroed typed array of `length` elements for `dtype`. */
export function allocArray(dtype: DType, length: number): TypedArray {
  switch (dtype) {
    case "float32":
      return new Float32Array(length);
    case "float64":
      return new Float64Array(length);
    case "int32":
      return new Int32Array(length);
    case "bool":
      return new Uint8Array(length);
  }
}

/** The dtype whose storage is `array`. */
export function dtypeOfArray(array: TypedArray): DType {
  if (array instanceof Float32Array) return "float32";
  if (array instanceof Float64Array) return "float64";
  if (array instanceof Int32Array) return "int32";
  return "bool";
}

/** Throws unless `dtype` is one of ours. */
export function checkDType(dtype: string): DType {
  if (!(dtype in RANK)) {
    throw new TypeError(`unknown dtype "${dtype}": expected one of ${DTYPES.join(", ")}`);
  }
  return dtype as DType;
}
