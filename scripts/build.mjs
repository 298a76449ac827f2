// Builds the library: declarations with tsc, JavaScript bundles with esbuild.
// dist/index.js (the library), dist/cli.js (the `tsmio` command), their shared chunks beside them (dist/chunk-*.js:
// every file that may load the addon sits in dist/, so its path ../build/Release resolves); dist/sandbox-child.js;
// dist/playground-page/ (the browser playground, scripts/playground.mjs).
import { build } from "esbuild";
import { execFileSync } from "node:child_process";
import { rmSync, chmodSync } from "node:fs";
import { bundlePlayground } from "./playground.mjs";

rmSync("dist", { recursive: true, force: true });
execFileSync(process.execPath, ["node_modules/typescript/bin/tsc", "-p", "tsconfig.json", "--emitDeclarationOnly"], {
  stdio: "inherit",
});
// the playground page: browser types, checked on their own
execFileSync(process.execPath, ["node_modules/typescript/bin/tsc", "-p", "src/playground/tsconfig.json"], { stdio: "inherit" });
await build({
  entryPoints: { index: "src/index.ts", cli: "src/cli/main.ts" },
  outdir: "dist",
  bundle: true,
  splitting: true,
  format: "esm",
  platform: "node",
  target: "node20",
  sourcemap: true,
  chunkNames: "[name]-[hash]",
  logLevel: "warning",
});
// The sandbox helper of `tsmio run` (src/relay/sandbox-child.ts), which src/relay/sandbox.ts starts by path:
// one self-contained file beside index.js and cli.js, started as a program of its own.
await build({
  entryPoints: { "sandbox-child": "src/relay/sandbox-child.ts" },
  outdir: "dist",
  bundle: true,
  format: "esm",
  platform: "node",
  target: "node20",
  sourcemap: true,
  logLevel: "warning",
});
// The browser playground that `tsmio playground` serves: dist/playground-page/index.html and playground.js.
await bundlePlayground("dist/playground-page");
chmodSync("dist/cli.js", 0o755);
