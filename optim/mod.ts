/**
 * The `optim` member of dendrite (work in progress).
 *
 * @module
 */

export {};
