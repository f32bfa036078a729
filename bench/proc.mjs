// Memory of browser and runtime processes, read from /proc (Linux), for the benches: which
// processes a browser runs, and how far their resident memory rose during a step.
import { readdirSync, readFileSync, writeFileSync } from "node:fs";

const status = (pid) => readFileSync(`/proc/${pid}/status`, "utf8");
const kib = (text, field) => Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(text)?.[1] ?? 0) * 1024;
const children = (pid) => readdirSync("/proc").filter((entry) => /^\d+$/.test(entry)).filter((entry) => {
  try {
    return readFileSync(`/proc/${entry}/stat`, "utf8").split(") ")[1].split(" ")[1] === String(pid);
  } catch {
    return false;
  }
});
export const descendants = (pid) => children(pid).flatMap((child) => [child, ...descendants(child)]);
export const isRenderer = (pid) => {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").includes("--type=renderer");
  } catch {
    return false;
  }
};

/** Runs `fn` and returns its result with how far the processes' resident memory rose above where it started (peak). */
export async function peakGrowth(pids, fn) {
  const before = new Map();
  for (const pid of pids) {
    writeFileSync(`/proc/${pid}/clear_refs`, "5"); // resets VmHWM to the current RSS
    before.set(pid, kib(status(pid), "VmRSS"));
  }
  const result = await fn();
  let growth = 0;
  for (const pid of pids) growth += Math.max(0, kib(status(pid), "VmHWM") - before.get(pid));
  return { ...result, peakGrowthBytes: growth };
}
