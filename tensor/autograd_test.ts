// The autograd engine seen through tensors, on the CPU in float64: the cases live in autograd_suite.ts so that
// gpu/autograd_test.ts runs the same ones on WebGPU.
import { autogradSuite } from "./autograd_suite.ts";

autogradSuite("cpu", "autograd[cpu]");
