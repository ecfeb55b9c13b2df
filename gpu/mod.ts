/**
 * The WebGPU backend of dendrite (work in progress).
 *
 * @module
 */

export {};
