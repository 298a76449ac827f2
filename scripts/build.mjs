// Builds the library: declarations with tsc, JavaScript bundles with esbuild.
// dist/index.js (the library), dist/cli.js (the `tsmio` command), shared chunks.
import { build } from "esbuild";
import { execFileSync } from "node:child_process";
import { rmSync, chmodSync } from "node:fs";

rmSync("dist", { recursive: true, force: true });
execFileSync(process.execPath, ["node_modules/typescript/bin/tsc", "-p", "tsconfig.json", "--emitDeclarationOnly"], {
  stdio: "inherit",
});
await build({
  entryPoints: { index: "src/index.ts", cli: "src/cli/main.ts" },
  outdir: "dist",
  bundle: true,
  splitting: true,
  format: "esm",
  platform: "node",
  target: "node20",
  sourcemap: true,
  chunkNames: "chunks/[name]-[hash]",
  logLevel: "warning",
});
chmodSync("dist/cli.js", 0o755);
