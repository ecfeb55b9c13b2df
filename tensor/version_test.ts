// Version counters on the CPU (float64): the cases live in version_suite.ts so that gpu/autograd_test.ts runs the
// same ones on WebGPU.
import { versionCounterSuite } from "./version_suite.ts";

versionCounterSuite("cpu", "version[cpu]");
