// Builds bin/streamctl with `Bun.build({ compile })` — the same as `bun build --compile --bytecode
// --format=esm --minify-syntax --sourcemap=inline cmd/streamctl.ts cmd/*-worker.ts`, plus one
// plugin the CLI form cannot take:
// ink imports `react-devtools-core` (an optional dev dependency it only loads when DEV=true);
// the bundler must still resolve it, and marking it external makes the compiled binary fail at
// start. It resolves to an empty stub here, so `DEV=true streamctl top` just runs without devtools.
export {};

const outfile = process.argv[2] ?? "bin/streamctl";

/**
 * Worker threads' entry files: a compiled binary holds only what its entrypoints bundle, and Bun
 * resolves `new Worker(new URL("./x-worker.ts", import.meta.url))` to the one bundled from there.
 */
const WORKERS = ["cmd/bench-pace-worker.ts", "cmd/bench-pauses-worker.ts", "cmd/inflate-worker.ts"];
/** The commit `--version` names: HEAD, with "-dirty" when tracked files differ from it. */
function commit(): string {
  const head = Bun.spawnSync(["git", "rev-parse", "--short=12", "HEAD"], { stderr: "ignore" });
  if (head.exitCode !== 0) return "unknown";
  const dirty = Bun.spawnSync(["git", "diff", "--quiet", "HEAD", "--"], { stderr: "ignore" }).exitCode !== 0;
  return `${head.stdout.toString().trim()}${dirty ? "-dirty" : ""}`;
}

const result = await Bun.build({
  entrypoints: ["cmd/streamctl.ts", ...WORKERS],
  compile: { outfile },
  minify: { syntax: true },
  // Precompiled JavaScriptCore bytecode instead of source parsed at every start: `streamctl
  // --version` took 100 ms, now 60–70 ms on this machine (issue #8).
  bytecode: true,
  format: "esm",
  define: { STREAMCTL_COMMIT: JSON.stringify(commit()) },
  sourcemap: "inline",
  plugins: [
    {
      name: "no-react-devtools",
      setup(build) {
        build.onResolve({ filter: /^react-devtools-core$/ }, () => ({ path: "react-devtools-core", namespace: "stub" }));
        build.onLoad({ filter: /.*/, namespace: "stub" }, () => ({ contents: "export default { initialize() {}, connectToDevTools() {} };", loader: "js" }));
      },
    },
  ],
});
if (!result.success) {
  for (const log of result.logs) console.error(log);
  process.exit(1);
}
console.error(`built ${outfile}`);
