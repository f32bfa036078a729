// The crash cycles' page side: the soak's seeded workload on a durable profile, logged as calls
// begin and end so that the runner, which kills the browser at a random moment, knows which were
// acknowledged; and, after the relaunch, the soak's checker over everything the runner heard.
import * as api from "web-attachments";
import { CONTENTS, DELETABLE_FROM, RELEASABLE, act, content } from "../soak/actor.js";
import { check, dump } from "../soak/checker.js";

/** Starts the workload (it runs until the browser dies); its calls land in `window.__log`. */
export function startWorkload({ database, seed, actor }) {
  window.__log = [];
  act({ api, database, seed, actor, deadline: Infinity, log: window.__log }).catch((error) => (window.__workloadError = `${error?.stack ?? error}`));
  return true;
}

/** The log from entry `from` on, for the runner to merge (entries still running have no outcome). */
export function takeLog(from) {
  return { entries: window.__log.slice(from), error: window.__workloadError ?? null };
}

/**
 * After a relaunch: the checker over the history the runner heard (fetched from `historyUrl`),
 * then a sweep past every intent (the grace period over), after which nothing uncommitted is left,
 * and the checker again. `{ discarded }` instead when the database is gone or the engine said,
 * opening it, that it had discarded it.
 */
export async function checkAfterCrash({ database, historyUrl }) {
  const contents = Array.from({ length: CONTENTS }, (_, i) => api.contentId(content(i)));
  // An `unseen` entry stands for the calls an actor began after the runner last heard from it:
  // any of them may have landed, deletes and releases included (puts and commits of unseen calls
  // the checker allows already, as `crashed`).
  const unseen = (call) => [
    ...contents.slice(DELETABLE_FROM).map((id) => ({ ...call, op: "delete", id })),
    ...RELEASABLE.map((session) => ({ ...call, op: "release", session })),
  ];
  const history = (await (await fetch(historyUrl)).json())
    .map((call) => (call.outcome === "unknown" ? { ...call, end: Infinity } : call))
    .flatMap((call) => (call.op === "unseen" ? unseen(call) : [call]));
  // Through the library first, so that the engine's word on opening is heard (a raw unversioned
  // open of a discarded database would create an empty one and hide it): a database the engine
  // discarded (`dataLoss`) or that is not there any more is an outcome of its own.
  const existed = (await indexedDB.databases()).some((info) => info.name === database);
  const store = await api.IndexedDbAttachmentStore.open(database);
  if (!existed || store.dataLoss) {
    store.close();
    return { discarded: { existed, dataLoss: store.dataLoss ?? null } };
  }
  const before = await check(await dump(database), history, { crashed: true, contents });
  const start = Date.now();
  const report = await api.reclaimOrphanedAttachments(store.manifest, store, Date.now() + 1);
  const uncommitted = (await store.manifest.listUncommitted(Date.now() + 1)).length;
  store.close();
  const sweep = { actor: "checker", seq: 0, op: "sweep", threshold: start + 1, start, end: Date.now(), outcome: "ok", result: report.deletedCount };
  const after = await check(await dump(database), [...history, sweep], { crashed: true, contents });
  return { violations: [...before.violations, ...after.violations.map((v) => `after the sweep: ${v}`)], counts: before.counts, reclaimed: report.deletedCount, uncommitted };
}
