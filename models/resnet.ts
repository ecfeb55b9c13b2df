/**
 * ResNet-18/34/50 with torchvision's structure and parameter names
 * (`conv1`, `bn1`, `layer1.0.conv1`, …, `layer2.0.downsample.0`, `fc`), so a
 * torchvision state dict saved as safetensors loads unchanged, and ours
 * loads in PyTorch.
 *
 * @module
 */

import * as nn from "@dendrite/nn";
import type { Tensor } from "@dendrite/tensor";
import { loadWeightsInto } from "./weights.ts";

function conv3x3(inPlanes: number, outPlanes: number, stride = 1): nn.Conv2d {
  return new nn.Conv2d(inPlanes, outPlanes, 3, { stride, padding: 1, bias: false });
}

function conv1x1(inPlanes: number, outPlanes: number, stride = 1): nn.Conv2d {
  return new nn.Conv2d(inPlanes, outPlanes, 1, { stride, bias: false });
}

/** The two-convolution residual block of ResNet-18/34. */
export class BasicBlock extends nn.Module {
  /** Output channels per `planes`. */
  static readonly expansion = 1;
  /** First 3×3 convolution (carries the stride). */
  conv1: nn.Conv2d;
  /** Its batch norm. */
  bn1: nn.BatchNorm2d;
  /** Shared activation. */
  relu: nn.ReLU = new nn.ReLU();
  /** Second 3×3 convolution. */
  conv2: nn.Conv2d;
  /** Its batch norm. */
  bn2: nn.BatchNorm2d;
  /** Projection of the shortcut when shape changes, else null. */
  downsample: nn.Sequential | null;

  /** A block from `inPlanes` to `planes` channels. */
  constructor(inPlanes: number, planes: number, stride = 1, downsample: nn.Sequential | null = null) {
    super();
    this.conv1 = conv3x3(inPlanes, planes, stride);
    this.bn1 = new nn.BatchNorm2d(planes);
    this.conv2 = conv3x3(planes, planes);
    this.bn2 = new nn.BatchNorm2d(planes);
    this.downsample = downsample;
  }

  /** `relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x))`. */
  override forward(x: Tensor): Tensor {
    let out = this.relu.forward(this.bn1.forward(this.conv1.forward(x)));
    out = this.bn2.forward(this.conv2.forward(out));
    const identity = this.downsample ? this.downsample.forward(x) : x;
    return this.relu.forward(out.add(identity));
  }
}

/** The 1×1–3×3–1×1 bottleneck block of ResNet-50 (stride on the 3×3, as torchvision's v1.5). */
export class Bottleneck extends nn.Module {
  /** Output channels per `planes`. */
  static readonly expansion = 4;
  /** 1×1 reduction. */
  conv1: nn.Conv2d;
  /** Its batch norm. */
  bn1: nn.BatchNorm2d;
  /** 3×3 convolution (carries the stride). */
  conv2: nn.Conv2d;
  /** Its batch norm. */
  bn2: nn.BatchNorm2d;
  /** 1×1 expansion. */
  conv3: nn.Conv2d;
  /** Its batch norm. */
  bn3: nn.BatchNorm2d;
  /** Shared activation. */
  relu: nn.ReLU = new nn.ReLU();
  /** Projection of the shortcut when shape changes, else null. */
  downsample: nn.Sequential | null;

  /** A block from `inPlanes` to `planes * 4` channels. */
  constructor(inPlanes: number, planes: number, stride = 1, downsample: nn.Sequential | null = null) {
    super();
    this.conv1 = conv1x1(inPlanes, planes);
    this.bn1 = new nn.BatchNorm2d(planes);
    this.conv2 = conv3x3(planes, planes, stride);
    this.bn2 = new nn.BatchNorm2d(planes);
    this.conv3 = conv1x1(planes, planes * Bottleneck.expansion);
    this.bn3 = new nn.BatchNorm2d(planes * Bottleneck.expansion);
    this.downsample = downsample;
  }

  /** The bottleneck with its shortcut. */
  override forward(x: Tensor): Tensor {
    let out = this.relu.forward(this.bn1.forward(this.conv1.forward(x)));
    out = this.relu.forward(this.bn2.forward(this.conv2.forward(out)));
    out = this.bn3.forward(this.conv3.forward(out));
    const identity = this.downsample ? this.downsample.forward(x) : x;
    return this.relu.forward(out.add(identity));
  }
}

/** Which block a ResNet stacks. */
export type ResNetBlock = typeof BasicBlock | typeof Bottleneck;

/** Options of the ResNet constructors. */
export interface ResNetOptions {
  /** Size of the final classifier (default 1000, ImageNet's). */
  numClasses?: number;
  /** A local safetensors file of weights to load (torchvision names); nothing is downloaded. */
  weights?: string;
  /** Zero-init the last batch norm of each block (torchvision's `zero_init_residual`). */
  zeroInitResidual?: boolean;
}

/**
 * A ResNet: a 7×7 stem, four stages of residual blocks, global average
 * pooling and a linear classifier `fc`.
 */
export class ResNet extends nn.Module {
  /** 7×7 stride-2 stem convolution. */
  conv1: nn.Conv2d;
  /** Stem batch norm. */
  bn1: nn.BatchNorm2d;
  /** Stem activation. */
  relu: nn.ReLU = new nn.ReLU();
  /** 3×3 stride-2 max pooling. */
  maxpool: nn.MaxPool2d = new nn.MaxPool2d(3, { stride: 2, padding: 1 });
  /** Stage 1 (64 planes). */
  layer1: nn.Sequential;
  /** Stage 2 (128 planes, stride 2). */
  layer2: nn.Sequential;
  /** Stage 3 (256 planes, stride 2). */
  layer3: nn.Sequential;
  /** Stage 4 (512 planes, stride 2). */
  layer4: nn.Sequential;
  /** Global average pooling. */
  avgpool: nn.AdaptiveAvgPool2d = new nn.AdaptiveAvgPool2d(1);
  /** The classifier. */
  fc: nn.Linear;
  #inPlanes = 64;

  /** A ResNet of `block`s with `layers[i]` blocks in stage i. */
  constructor(block: ResNetBlock, layers: readonly [number, number, number, number], options: ResNetOptions = {}) {
    super();
    const numClasses = options.numClasses ?? 1000;
    if (!Number.isInteger(numClasses) || numClasses < 1) {
      throw new RangeError(`ResNet: numClasses must be a positive integer, got ${numClasses}`);
    }
    this.conv1 = new nn.Conv2d(3, 64, 7, { stride: 2, padding: 3, bias: false });
    this.bn1 = new nn.BatchNorm2d(64);
    this.layer1 = this.#makeLayer(block, 64, layers[0], 1);
    this.layer2 = this.#makeLayer(block, 128, layers[1], 2);
    this.layer3 = this.#makeLayer(block, 256, layers[2], 2);
    this.layer4 = this.#makeLayer(block, 512, layers[3], 2);
    this.fc = new nn.Linear(512 * block.expansion, numClasses);
    // torchvision's initialisation: He-normal (fan_out) convolutions, unit batch norms.
    for (const m of this.modules()) {
      if (m instanceof nn.Conv2d) nn.init.kaimingNormal_(m.weight, { mode: "fan_out", nonlinearity: "relu" });
      else if (m instanceof nn.BatchNorm2d && m.weight && m.bias) {
        nn.init.ones_(m.weight);
        nn.init.zeros_(m.bias);
      }
    }
    if (options.zeroInitResidual) {
      for (const m of this.modules()) {
        if (m instanceof Bottleneck && m.bn3.weight) nn.init.zeros_(m.bn3.weight);
        else if (m instanceof BasicBlock && m.bn2.weight) nn.init.zeros_(m.bn2.weight);
      }
    }
    if (options.weights) loadWeightsInto(this, options.weights);
  }

  #makeLayer(block: ResNetBlock, planes: number, blocks: number, stride: number): nn.Sequential {
    let downsample: nn.Sequential | null = null;
    const outPlanes = planes * block.expansion;
    if (stride !== 1 || this.#inPlanes !== outPlanes) {
      downsample = new nn.Sequential(conv1x1(this.#inPlanes, outPlanes, stride), new nn.BatchNorm2d(outPlanes));
    }
    const list: nn.Module[] = [new block(this.#inPlanes, planes, stride, downsample)];
    this.#inPlanes = outPlanes;
    for (let i = 1; i < blocks; i++) list.push(new block(this.#inPlanes, planes));
    return new nn.Sequential(...list);
  }

  /** Features of `x` (`[N, 3, H, W]`) before the classifier: `[N, 512·expansion]`. */
  features(x: Tensor): Tensor {
    if (x.ndim !== 4 || x.shape[1] !== 3) {
      throw new RangeError(`ResNet: expected input [N, 3, H, W], got [${x.shape.join(", ")}]`);
    }
    let h = this.maxpool.forward(this.relu.forward(this.bn1.forward(this.conv1.forward(x))));
    h = this.layer4.forward(this.layer3.forward(this.layer2.forward(this.layer1.forward(h))));
    return this.avgpool.forward(h).flatten(1);
  }

  /** Class scores `[N, numClasses]`. */
  override forward(x: Tensor): Tensor {
    return this.fc.forward(this.features(x));
  }
}

/**
 * ResNet-18 (BasicBlock, [2, 2, 2, 2]).
 *
 * @example
 * ```ts
 * import { randn } from "@dendrite/tensor";
 * import { resnet18 } from "./resnet.ts";
 * const model = resnet18({ numClasses: 10 });
 * model.eval();
 * console.log(model.forward(randn([1, 3, 64, 64])).shape); // [1, 10]
 * ```
 */
export function resnet18(options: ResNetOptions = {}): ResNet {
  return new ResNet(BasicBlock, [2, 2, 2, 2], options);
}

/** ResNet-34 (BasicBlock, [3, 4, 6, 3]). */
export function resnet34(options: ResNetOptions = {}): ResNet {
  return new ResNet(BasicBlock, [3, 4, 6, 3], options);
}

/** ResNet-50 (Bottleneck, [3, 4, 6, 3]). */
export function resnet50(options: ResNetOptions = {}): ResNet {
  return new ResNet(Bottleneck, [3, 4, 6, 3], options);
}
