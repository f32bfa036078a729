// A tiny in-page test harness: tests run in order; results land on `window.__results` for the
// Node runner (Playwright or WebDriver) to collect.
const tests = [];

export function test(name, fn) {
  tests.push({ name, fn });
}

export async function run() {
  const results = { passed: 0, failed: 0, failures: [], names: [] };
  for (const { name, fn } of tests) {
    try {
      await fn();
      results.passed++;
      results.names.push(`ok ${name}`);
    } catch (error) {
      results.failed++;
      results.failures.push(`${name}: ${error?.stack ?? error}`);
      results.names.push(`FAIL ${name}`);
    }
  }
  window.__results = results;
  document.title = results.failed === 0 ? "passed" : "failed";
  return results;
}

function describe(value) {
  try {
    return JSON.stringify(value, (_, v) => (v instanceof Uint8Array ? `Uint8Array(${v.length})` : v));
  } catch {
    return String(value);
  }
}

export const assert = {
  ok(value, message = "expected a truthy value") {
    if (!value) throw new Error(message);
  },
  equal(actual, expected, message = "") {
    if (!Object.is(actual, expected)) throw new Error(`${message} expected ${describe(expected)}, got ${describe(actual)}`);
  },
  deepEqual(actual, expected, message = "") {
    const a = describe(actual), e = describe(expected);
    if (a !== e) throw new Error(`${message} expected ${e}, got ${a}`);
  },
  bytesEqual(actual, expected, message = "") {
    if (!(actual instanceof Uint8Array)) throw new Error(`${message} expected a Uint8Array, got ${describe(actual)}`);
    if (actual.length !== expected.length || actual.some((b, i) => b !== expected[i])) throw new Error(`${message} bytes differ`);
  },
  /** Awaits `promiseOrFn` and checks it fails with an AttachmentStoreError of `code`. */
  async rejects(promiseOrFn, code, ErrorClass, message = "") {
    let error;
    try {
      await (typeof promiseOrFn === "function" ? promiseOrFn() : promiseOrFn);
    } catch (e) {
      error = e;
    }
    if (!error) throw new Error(`${message} expected a rejection with ${code}`);
    if (!(error instanceof ErrorClass) || !(error instanceof Error)) throw new Error(`${message} expected an AttachmentStoreError, got ${error?.constructor?.name}: ${error}`);
    if (error.code !== code) throw new Error(`${message} expected code ${code}, got ${error.code}: ${error.message}`);
    return error;
  },
};
