/**
 * The `nn` member of dendrite (work in progress).
 *
 * @module
 */

export {};
