// Lets `node --import ./scripts/ts-loader.mjs file.ts` run TypeScript
// (examples, benchmarks, labs) by transforming it with esbuild on load.
import { register } from "node:module";

register("./ts-hooks.mjs", import.meta.url);
