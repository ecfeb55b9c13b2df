// Runs the Backend conformance suite on the CPU backend, in float32 and float64.
import { runConformance } from "../backend_conformance.ts";
import { cpuBackend } from "./backend.ts";

runConformance(cpuBackend, { floatDTypes: ["float32", "float64"] });
