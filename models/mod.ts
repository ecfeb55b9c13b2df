/**
 * The `models` member of dendrite (work in progress).
 *
 * @module
 */

export {};
