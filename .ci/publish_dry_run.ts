/**
 * `deno publish --dry-run` for every package of the workspace.
 *
 * Run from the root, plain `deno publish --dry-run` checks only the root
 * package (`@dendrite/dendrite`) when the root deno.json has a name, so the
 * members' own problems (a missing license, a relative import into another
 * member, slow types) would go unseen. This runs the dry run once for the root
 * and once per workspace member (`-c member/deno.json`), and fails if any fails.
 *
 * Usage: `deno run --allow-read --allow-run .ci/publish_dry_run.ts`
 *
 * @module
 */

interface DenoConfig {
  name?: string;
  workspace?: string[] | { members?: string[] };
}

const root = new URL("../", import.meta.url);
const rootConfig: DenoConfig = JSON.parse(await Deno.readTextFile(new URL("deno.json", root)));
const members = Array.isArray(rootConfig.workspace) ? rootConfig.workspace : rootConfig.workspace?.members ?? [];
const configs = [
  ...(rootConfig.name ? ["deno.json"] : []),
  ...members.map((m) => `${m.replace(/^\.\//, "").replace(/\/$/, "")}/deno.json`),
];

const failed: string[] = [];
for (const config of configs) {
  console.log(`publish --dry-run -c ${config}`);
  const { code } = await new Deno.Command(Deno.execPath(), {
    args: ["publish", "--dry-run", "--allow-dirty", "-c", config],
    cwd: root,
    stdout: "inherit",
    stderr: "inherit",
  }).output();
  if (code !== 0) failed.push(config);
}
if (failed.length > 0) {
  console.error(`publish dry run failed for: ${failed.join(", ")}`);
  Deno.exit(1);
}
console.log(`publish dry run passed for ${configs.length} packages`);
