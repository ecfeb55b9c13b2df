// The recurrent layers against PyTorch's own outputs and gradients (nn/testdata), on the CPU; gpu/rnn_test.ts runs
// the same suite on WebGPU.
import { rnnReferenceSuite } from "./rnn_suite.ts";

rnnReferenceSuite("cpu", "rnn[cpu]");
