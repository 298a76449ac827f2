// Prints "N passed, N failed" from vitest's JSON report (a missing or broken
// report counts as one failure).
import { readFileSync } from "node:fs";

let passed = 0;
let failed = 1;
try {
  const r = JSON.parse(readFileSync(process.argv[2] ?? "test-results.json", "utf8"));
  passed = r.numPassedTests;
  // a file that failed to load or crashed has no failed test of its own: count it once
  const brokenFiles = r.testResults.filter(
    (f) => f.status === "failed" && !f.assertionResults.some((a) => a.status === "failed"),
  ).length;
  failed = r.numFailedTests + brokenFiles;
  const skipped = r.numPendingTests + r.numTodoTests;
  if (skipped) console.log(`${skipped} skipped`);
} catch (e) {
  console.log(`no test report: ${e.message}`);
}
console.log(`${passed} passed, ${failed} failed`);
process.exitCode = failed === 0 ? 0 : 1;
