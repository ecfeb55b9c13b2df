/**
 * `deno doc --lint` over every package of the workspace: JSDoc on every
 * export, no private types in public signatures, as JSR scores a package.
 *
 * All members' entry points (each `exports` of each member's deno.json, and
 * the root `mod.ts`) are linted in one run. Linted one member at a time,
 * Deno treats a type another member exports (`Tensor` in an `nn` signature)
 * as private, because workspace members are local files of one graph to it
 * (deno issue 27364); on JSR they are separate packages and such a type is
 * judged by the package that exports it. One run over all entry points is
 * that judgement: a type must be exported by some member, and documented.
 *
 * Usage: `deno run --allow-read --allow-run .ci/doc_lint.ts` (part of `deno task test`)
 *
 * @module
 */

interface DenoConfig {
  name?: string;
  exports?: string | Record<string, string>;
  workspace?: string[] | { members?: string[] };
}

const root = new URL("../", import.meta.url);
const read = async (path: string): Promise<DenoConfig> => JSON.parse(await Deno.readTextFile(new URL(path, root)));
const rootConfig = await read("deno.json");
const members = Array.isArray(rootConfig.workspace) ? rootConfig.workspace : rootConfig.workspace?.members ?? [];

const entries: string[] = [];
const add = (dir: string, config: DenoConfig) => {
  const exp = config.exports;
  const files = typeof exp === "string" ? [exp] : exp ? Object.values(exp) : [];
  for (const f of files) entries.push(`${dir}${f.replace(/^\.\//, "")}`);
};
add("", rootConfig);
for (const m of members) {
  const dir = `${m.replace(/^\.\//, "").replace(/\/$/, "")}/`;
  add(dir, await read(`${dir}deno.json`));
}

console.log(`deno doc --lint over ${entries.length} entry points of ${members.length + 1} packages`);
const { code } = await new Deno.Command(Deno.execPath(), {
  args: ["doc", "--lint", ...entries],
  cwd: root,
  stdout: "inherit",
  stderr: "inherit",
}).output();
if (code !== 0) {
  console.error("deno doc --lint failed: document every export and export every type a public signature names");
  Deno.exit(code);
}
console.log("deno doc --lint: clean");
