/**
 * Training feedback and pictures: progress bars, model summaries, metrics,
 * curves and image grids as PNG. Small, dependency-light helpers that every
 * example shares.
 *
 * @module
 */

export { makeGrid, type MakeGridOptions, saveImage, type SaveImageOptions, tensorToImage } from "./grid.ts";
