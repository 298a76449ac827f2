// Builds the library: declarations with tsc, JavaScript bundles with esbuild.
// dist/index.js (the library), dist/cli.js (the `tsmio` command), shared chunks; dist/sandbox-child.js.
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
// The sandbox helper of `tsmio run` (src/relay/sandbox-child.ts), which src/relay/sandbox.ts starts by path:
// one self-contained file beside index.js and cli.js, so that its addon path (../build/Release) resolves as theirs does
// (sharing chunks with them would put that code in dist/chunks/, one directory too deep).
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
chmodSync("dist/cli.js", 0o755);
