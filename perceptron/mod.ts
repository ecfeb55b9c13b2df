/**
 * The `perceptron` member of dendrite (work in progress).
 *
 * @module
 */

export {};
