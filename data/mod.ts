/**
 * The `data` member of dendrite (work in progress).
 *
 * @module
 */

export {};
