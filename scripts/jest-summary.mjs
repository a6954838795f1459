// Prints "N passed, N failed" from jest's --json results; exits 1 when a test failed, a suite
// failed to run, or no results were written.
import { readFileSync } from 'node:fs';

const file = process.argv[2] ?? '.reports/jest-results.json';
let results;
try {
  results = JSON.parse(readFileSync(file, 'utf8'));
} catch (error) {
  console.log('0 passed, 1 failed');
  console.error(`No jest results at ${file}: ${error.message}`);
  process.exit(1);
}
const failedSuites = results.numFailedTestSuites ?? 0;
const failed = results.numFailedTests + (results.numRuntimeErrorTestSuites ?? 0);
console.log(`${results.numPassedTests} passed, ${failed} failed${results.numPendingTests ? `, ${results.numPendingTests} skipped` : ''}`);
process.exit(failed > 0 || failedSuites > 0 || results.numTotalTests === 0 || !results.success ? 1 : 0);
