// Bundles the browser playground (src/playground/page.ts) with esbuild: the library's modules for a page,
// where the platform is src/native-shell.ts instead of the native addon and `node:fs` is
// src/playground/no-fs.ts. Any other Node module the page reaches fails the build (platform "browser").
import { build } from "esbuild";
import { copyFileSync, mkdirSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");

/** The page's replacements for the modules that reach the operating system. */
const pagePlatform = {
  name: "page-platform",
  setup(b) {
    b.onResolve({ filter: /(^|\/)native\.js$/ }, (args) =>
      args.importer.startsWith(join(root, "src")) ? { path: join(root, "src/native-shell.ts") } : undefined,
    );
    b.onResolve({ filter: /^node:fs$/ }, () => ({ path: join(root, "src/playground/no-fs.ts") }));
  },
};

/** Writes `outdir`/index.html and `outdir`/playground.js (with its source map). */
export async function bundlePlayground(outdir) {
  mkdirSync(outdir, { recursive: true });
  await build({
    entryPoints: { playground: join(root, "src/playground/page.ts") },
    outdir,
    bundle: true,
    format: "esm",
    platform: "browser",
    target: "es2022",
    sourcemap: true,
    minify: true,
    logLevel: "warning",
    plugins: [pagePlatform],
  });
  copyFileSync(join(root, "src/playground/index.html"), join(outdir, "index.html"));
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await bundlePlayground(process.argv[2] ?? join(root, "dist/playground-page"));
