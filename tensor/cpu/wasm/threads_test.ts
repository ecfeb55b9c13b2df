// The GEMM workers end with the runtime that started them: at `unload` the host asks them to leave, their threads
// exit, and later GEMMs run on the calling thread with the same results. Runs in a child process so that the
// `unload` it dispatches and the threads it counts are its own, not those of other test modules in this process.
import { deepStrictEqual, ok } from "node:assert/strict";

const runtimeUrl = new URL("./runtime.ts", import.meta.url).href;

/** The child's script: the GEMMs on the native BLAS (where one loads) or on the WebAssembly SGEMM. */
const child = (native: boolean) => `
import { cpuBlasActive, cpuThreadsReady, gemmF32, lastGemmThreads, setCpuBlas, setNumThreads } from ${
  JSON.stringify(runtimeUrl)
};
setCpuBlas(${native});
const linux = Deno.build.os === "linux";
// Deno names a worker's thread "worker-<n>".
const workerThreads = () => linux
  ? [...Deno.readDirSync("/proc/self/task")]
    .map((t) => { try { return Deno.readTextFileSync("/proc/self/task/" + t.name + "/comm").trim(); } catch { return ""; } })
    .filter((name) => name.startsWith("worker-")).length
  : -1;
// Large enough to be cut into slices for threads on either path.
const n = 256;
const a = new Float32Array(n * n).map((_, i) => ((i * 7919) % 13) - 6);
const b = new Float32Array(n * n).map((_, i) => ((i * 104729) % 11) - 5);
const product = () => {
  const c = new Float32Array(n * n);
  gemmF32(n, n, n, a, 0, n, 1, b, 0, n, 1, c, 0);
  return c;
};
setNumThreads(2);
await cpuThreadsReady();
const threaded = product();
const threadsUsed = lastGemmThreads();
const before = workerThreads();
globalThis.dispatchEvent(new Event("unload"));
const start = performance.now();
while (workerThreads() > 0 && performance.now() - start < 5000) await new Promise((r) => setTimeout(r, 5));
const after = workerThreads();
const single = product();
// A direct loop: small integers, so every sum is exact in float32.
let wrong = 0;
for (let i = 0; i < n; i++) {
  for (let j = 0; j < n; j++) {
    let s = 0;
    for (let p = 0; p < n; p++) s += a[i * n + p] * b[p * n + j];
    if (threaded[i * n + j] !== s || single[i * n + j] !== s) wrong++;
  }
}
const active = cpuBlasActive();
console.log(JSON.stringify({ linux, active, threadsUsed, before, after, wrong, threadsAfter: lastGemmThreads() }));
`;

for (const native of [false, true]) {
  const path = native ? "native BLAS" : "WebAssembly SGEMM";
  Deno.test(`GEMM workers leave at unload: their threads end and later GEMMs run on the caller, same results (${path})`, async () => {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["eval", "--ext=ts", child(native)],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stderr = new TextDecoder().decode(out.stderr);
    deepStrictEqual(out.code, 0, `child failed: ${stderr}`);
    const r = JSON.parse(new TextDecoder().decode(out.stdout).trim().split("\n").at(-1)!);
    if (native && !r.active) console.error("!!! no native BLAS here: this ran the WebAssembly SGEMM again !!!");
    deepStrictEqual(r.wrong, 0, "products equal the direct loop before and after the workers left");
    deepStrictEqual(r.threadsUsed, 2, "the first product was split across the worker");
    deepStrictEqual(r.threadsAfter, 1, "after unload the caller works alone");
    if (r.linux) {
      ok(r.before >= 1, `a worker thread was running before unload (${r.before})`);
      deepStrictEqual(r.after, 0, "no worker thread is left after unload");
    } else {
      console.error("!!! not Linux: worker threads not counted (no /proc), only results checked !!!");
    }
  });
}
