// Module hooks for scripts/ts-loader.mjs: .ts files are transformed by esbuild,
// and "./x.js" imports resolve to "./x.ts" when only the .ts exists.
import { readFile } from "node:fs/promises";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { transform } from "esbuild";

export async function resolve(specifier, context, next) {
  if (specifier.endsWith(".js") && context.parentURL?.endsWith(".ts")) {
    const ts = new URL(specifier.slice(0, -3) + ".ts", context.parentURL);
    if (ts.protocol === "file:" && existsSync(fileURLToPath(ts))) return next(ts.href, context);
  }
  return next(specifier, context);
}

export async function load(url, context, next) {
  if (!url.endsWith(".ts")) return next(url, context);
  const source = await readFile(fileURLToPath(url), "utf8");
  const { code } = await transform(source, { loader: "ts", format: "esm", target: "node20", sourcemap: "inline", sourcefile: fileURLToPath(url) });
  return { format: "module", source: code, shortCircuit: true };
}
