// Pass/fail bookkeeping shared by the Node-side test scripts (tests/js, tests/edge): each suite
// prints its lines and a closing `<suite>: N passed, N failed`.

/**
 * A fresh tally and a `check(name, fn, timeoutMs?)` that runs `fn` and records the outcome. A check
 * that has not settled after `timeoutMs` (default 5 minutes) fails, so no hang stalls a whole run.
 */
export function collector() {
  const results = { passed: 0, failed: 0, failures: [], names: [] };
  const check = async (name, fn, timeoutMs = 300_000) => {
    let timer;
    const late = new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`did not finish within ${timeoutMs} ms`)), timeoutMs)));
    try {
      const detail = await Promise.race([fn(), late]);
      results.passed++;
      results.names.push(`ok ${name}${typeof detail === "string" && detail ? ` (${detail})` : ""}`);
    } catch (error) {
      results.failed++;
      results.failures.push(`${name}: ${(error.stdout ?? "") + error.message}`);
      results.names.push(`FAIL ${name}`);
    } finally {
      clearTimeout(timer);
    }
  };
  return { results, check };
}

/** Throws `message` unless `condition` holds. */
export function expect(condition, message) {
  if (!condition) throw new Error(message);
}

let failedSoFar = 0;

/** Prints a suite's lines and its closing count; remembers failures for `exitCode()`. */
export function report(suite, results) {
  for (const line of [...results.names, ...results.failures]) console.log(`  ${line}`);
  console.log(`${suite}: ${results.passed} passed, ${results.failed} failed`);
  failedSoFar += results.failed;
}

/** 0 when every reported suite passed. */
export function exitCode(label) {
  console.log(failedSoFar === 0 ? `${label}: all passed` : `${label}: ${failedSoFar} failed`);
  return failedSoFar === 0 ? 0 : 1;
}
