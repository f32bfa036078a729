// One actor of the soak: a seeded random mix of calls against one shared database, each logged
// with its start, end and outcome. The same module runs in the top page, in an iframe (a second
// page of the origin, with its own wasm instance and connection) and in a dedicated worker.

/** A small seeded PRNG (mulberry32): the same seed gives the same calls. */
export function random(seed) {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The contents every actor draws from, so that actors collide on them. Some are larger than
 * 64 KiB, which the IndexedDB store keeps apart from their metadata. */
export const CONTENTS = 24;
export const SESSIONS = ["s0", "s1", "s2", "s3", "s4", "s5"];
// Deletes and releases touch only some contents and sessions, so that commits of the others are
// promises no later call excuses: the checker holds every one of them to account.
export const DELETABLE_FROM = 16;
export const RELEASABLE = ["s3", "s4", "s5"];

export function content(index) {
  const length = index % 6 === 5 ? 70_000 + index * 1000 : 50 + index * 97;
  const bytes = new Uint8Array(length);
  for (let i = 0; i < length; i++) bytes[i] = (i * 31 + index * 17) & 255;
  bytes[0] = index; // distinct contents
  return bytes;
}

/**
 * Runs until `deadline` (epoch ms); returns the log (`log`, if given, is filled as calls begin
 * and end). `api` is the imported package.
 * Expected rejections: `get` of something gone (NotFound) and a commit naming what is gone
 * (NotFound with ids). Anything else is recorded and fails the check.
 */
export async function act({ api, database, seed, actor, deadline, log = [] }) {
  const next = random(seed);
  const pick = (n) => Math.floor(next() * n);
  const store = await api.IndexedDbAttachmentStore.open(database);
  const ids = Array.from({ length: CONTENTS }, (_, i) => api.contentId(content(i)));
  let seq = 0;
  // Logged as it begins and completed in place, so that whoever watches `log` (the crash runner)
  // knows what was in flight.
  const call = async (op, args, run) => {
    const entry = { actor, seq: seq++, op, ...args, start: Date.now() };
    log.push(entry);
    try {
      const result = await run();
      entry.outcome = "ok";
      if (result !== undefined) entry.result = result;
    } catch (error) {
      entry.outcome = error?.code ?? `thrown ${error?.name}: ${error?.message}`;
      if (error?.ids) entry.missing = error.ids;
      entry.message = String(error?.message ?? error).slice(0, 200);
    }
    entry.end = Date.now();
    return entry;
  };
  // What an app does when a commit names attachments that are gone: put the same content again
  // (which makes it whole) or let it go; the next commit then covers the rest.
  const repair = async (session, commit) => {
    for (const id of commit.missing ?? []) {
      const c = ids.indexOf(id);
      if (next() < 0.5) await call("put", { session, id }, async () => void (await store.session(session).put(content(c), { mediaType: "application/octet-stream" })));
      else await call("discard", { session, id }, () => store.session(session).discard([id]));
    }
  };
  const ops = [
    [30, async () => {
      const c = pick(CONTENTS), session = SESSIONS[pick(SESSIONS.length)];
      await call("put", { session, id: ids[c] }, async () => void (await store.session(session).put(content(c), { mediaType: "application/octet-stream" })));
    }],
    [3, async () => {
      const c = pick(CONTENTS);
      await call("plainPut", { id: ids[c] }, async () => void (await store.put(content(c), { mediaType: "application/octet-stream" })));
    }],
    [10, async () => {
      const session = SESSIONS[pick(SESSIONS.length)];
      await repair(session, await call("commit", { session }, () => store.session(session).commit()));
    }],
    [10, async () => {
      // The app's state refers to what this view put: exactly what the commit checks.
      const session = SESSIONS[pick(SESSIONS.length)];
      const view = store.session(session);
      const state = { actor, token: `${actor}-${seq}`, ids: view.pendingManifestCommitIds() };
      await repair(session, await call("commit", { session, token: state.token, stateIds: state.ids }, () => view.commit(state)));
    }],
    [3, async () => {
      const session = SESSIONS[pick(SESSIONS.length)], id = ids[pick(CONTENTS)];
      await call("discard", { session, id }, () => store.session(session).discard([id]));
    }],
    [1, async () => {
      const session = RELEASABLE[pick(RELEASABLE.length)];
      await call("release", { session }, () => store.releaseSession(session));
    }],
    [2, async () => {
      const id = ids[DELETABLE_FROM + pick(CONTENTS - DELETABLE_FROM)];
      await call("delete", { id }, () => store.delete(id));
    }],
    [14, async () => {
      const id = ids[pick(CONTENTS)];
      await call("get", { id }, async () => {
        const { bytes } = await store.get(id);
        if (api.contentId(bytes) !== id) throw new Error(`get returned bytes that do not hash to ${id}`);
      });
    }],
    [4, async () => {
      // Sweeps with thresholds in the past (a grace period of up to two seconds) and the future.
      const threshold = next() < 0.6 ? Date.now() - pick(2000) : Date.now() + 60_000;
      await call("sweep", { threshold }, async () => {
        const report = await api.reclaimOrphanedAttachments(store.manifest, store, threshold);
        return report.deletedCount;
      });
    }],
    [2, async () => {
      await call("list", {}, async () => void (await store.list()));
    }],
  ];
  const total = ops.reduce((sum, [weight]) => sum + weight, 0);
  while (Date.now() < deadline) {
    let roll = next() * total;
    const [, op] = ops.find(([weight]) => (roll -= weight) < 0) ?? ops[0];
    await op();
  }
  store.close();
  return log;
}
