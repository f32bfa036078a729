// The soak's checker, Jepsen-style: reads the database with plain IndexedDB (not through the
// library under test) and checks it against the history of every call the actors made.

const request = (req) => new Promise((resolve, reject) => {
  req.onsuccess = () => resolve(req.result);
  req.onerror = () => reject(req.error);
});

/** Everything in the database, read raw: metadata rows, bytes records by key, manifest rows, states. */
export async function dump(name) {
  const db = await request(indexedDB.open(name));
  const tx = db.transaction(["meta", "bytes", "manifest", "sessions"]);
  const bytes = tx.objectStore("bytes");
  const [meta, keys, values, rows, states] = await Promise.all([
    request(tx.objectStore("meta").getAll()),
    request(bytes.getAllKeys()),
    request(bytes.getAll()),
    request(tx.objectStore("manifest").getAll()),
    request(tx.objectStore("sessions").getAll()),
  ]);
  db.close();
  return { meta, bytes: new Map(keys.map((key, i) => [key, values[i]])), rows, states };
}

const hex = (buffer) => [...new Uint8Array(buffer)].map((b) => b.toString(16).padStart(2, "0")).join("");

/** The stored bytes of `id`: a small record's `bytes`, a stored Blob's, or a bare buffer and its chunks. */
async function bytesOf(records, id) {
  const first = records.get(id);
  if (first === undefined) return undefined;
  if (first instanceof Blob) return first.arrayBuffer();
  if (!(first instanceof ArrayBuffer)) return first.bytes;
  const parts = [first];
  for (let i = 1; records.has(`${id}#${String(i).padStart(6, "0")}`); i++) parts.push(records.get(`${id}#${String(i).padStart(6, "0")}`));
  const joined = new Uint8Array(parts.reduce((n, part) => n + part.byteLength, 0));
  let offset = 0;
  for (const part of parts) {
    joined.set(new Uint8Array(part), offset);
    offset += part.byteLength;
  }
  return joined.buffer;
}

/**
 * What must hold of any database this library wrote, whatever happened to it: every stored
 * attachment's bytes are all there (every chunk) and hash to its id, and bytes and metadata come
 * together. Empty: it holds.
 */
export async function layoutViolations(data) {
  const violations = [];
  const stored = new Map(data.meta.map((row) => [row.id, row]));
  for (const [id, row] of stored) {
    let bytes;
    try {
      bytes = await bytesOf(data.bytes, id);
    } catch (error) {
      violations.push(`${id}'s bytes cannot be read: ${error?.name}: ${error?.message}`);
      continue;
    }
    if (bytes === undefined) violations.push(`${id} has metadata but no bytes`);
    else if (bytes.byteLength !== row.byteLen) violations.push(`${id} has ${bytes.byteLength} of its ${row.byteLen} bytes (a half-written chunk?)`);
    else if (hex(await crypto.subtle.digest("SHA-256", bytes)) !== id) violations.push(`${id}'s bytes do not hash to it`);
  }
  for (const key of data.bytes.keys()) if (!stored.has(key.split("#")[0])) violations.push(`bytes under ${key} have no metadata`);
  return violations;
}

/**
 * Checks the database `data` (from {@link dump}) against `history` (every actor's log). Returns
 * the violations (empty: all held) and counts of what was checked.
 * - Every stored attachment's bytes hash to its id, and bytes and metadata come together.
 * - Nothing is stored that no call ever put.
 * - Every attachment a resolved commit named is present with a committed row of that session
 *   stamped before the commit resolved, unless the session was released or the id deleted by a
 *   call that had not ended before the commit began (it may have landed after).
 * - Each session's state was written by a commit that resolved, and every attachment it refers
 *   to is kept as above.
 * - Every stored attachment is held by a manifest row or by a plain put (no orphaned bytes).
 * - No call failed other than as the contract allows (a get or commit of something gone).
 *
 * After a crash (`crashed`), the history ends with calls in flight at the kill, whose outcome is
 * unknown (`outcome: "unknown"`, `end: Infinity`: they may have landed at any time after they
 * began), and calls the runner never heard of: an attachment stored by one need only be one of
 * `contents` (ids), and a state written by one need only not claim a known call.
 */
export async function check(data, history, { crashed = false, contents } = {}) {
  const violations = await layoutViolations(data);
  const stored = new Map(data.meta.map((row) => [row.id, row]));

  const put = crashed ? new Set(contents) : new Set(history.filter((call) => call.op === "put" || call.op === "plainPut").map((call) => call.id));
  for (const id of stored.keys()) if (!put.has(id)) violations.push(`${id} is stored but no call ever put it`);

  // A commit's promise, as the database must show it: the attachment is there, and the session
  // has a committed row of it stamped before the commit resolved (only a release or a delete takes
  // that row back; a re-put by anyone later does not make up for a commit that lied).
  const released = (session, after) => history.some((call) => call.op === "release" && call.session === session && call.end >= after);
  const deleted = (id, after) => history.some((call) => call.op === "delete" && call.id === id && call.end >= after);
  const rows = new Map(data.rows.map((row) => [`${row.sessionId} ${row.attachmentId}`, row]));
  const kept = (session, id, commit) => {
    const row = rows.get(`${session} ${id}`);
    if (!stored.has(id)) return `${id} is gone`;
    if (row?.committedAtEpochMs === undefined) return `${session} has no committed row of ${id}`;
    if (row.committedAtEpochMs > commit.end) return `${session}'s row of ${id} was stamped after the commit resolved (by a later one)`;
    return undefined;
  };
  let promised = 0;
  for (const commit of history.filter((call) => call.op === "commit" && call.outcome === "ok")) {
    for (const id of commit.result) {
      if (released(commit.session, commit.start) || deleted(id, commit.start)) continue;
      promised++;
      const broken = kept(commit.session, id, commit);
      if (broken) violations.push(`${commit.actor}#${commit.seq}: commit of ${commit.session} resolved with ${id}, but ${broken}`);
    }
  }

  const byToken = new Map(history.filter((call) => call.token).map((call) => [call.token, call]));
  for (const { sessionId, value } of data.states) {
    const commit = byToken.get(value?.token);
    if (!commit) {
      if (!crashed) violations.push(`${sessionId}'s state ${JSON.stringify(value)} was written by no commit`);
      continue;
    }
    if (commit.outcome !== "ok" && commit.outcome !== "unknown") violations.push(`${sessionId}'s state came from a commit that rejected (${commit.actor}#${commit.seq}: ${commit.outcome})`);
    if (commit.session !== sessionId) violations.push(`${sessionId}'s state came from a commit of ${commit.session}`);
    for (const id of value.ids) {
      const broken = deleted(id, commit.start) ? undefined : kept(sessionId, id, commit);
      if (broken) violations.push(`${sessionId}'s state refers to ${id}, but ${broken}`);
    }
  }

  const rowsOf = new Map();
  for (const row of data.rows) rowsOf.set(row.attachmentId, (rowsOf.get(row.attachmentId) ?? 0) + 1);
  for (const [id, row] of stored) if (!rowsOf.has(id) && row.plain !== true) violations.push(`${id} is held by no row and no plain put`);

  const allowed = { get: ["ok", "NotFound"], commit: ["ok", "NotFound"] };
  for (const call of history) {
    if (call.outcome === "unknown") continue;
    if (!(allowed[call.op] ?? ["ok"]).includes(call.outcome)) violations.push(`${call.actor}#${call.seq} ${call.op} failed: ${call.outcome} ${call.message}`);
    if (call.op === "commit" && call.outcome === "NotFound" && !call.missing?.length) violations.push(`${call.actor}#${call.seq}: a rejected commit named no ids`);
  }

  const count = (op, outcome) => history.filter((call) => call.op === op && (outcome === undefined || call.outcome === outcome)).length;
  return {
    violations,
    counts: {
      calls: history.length,
      unknownOutcome: count("put", "unknown") + count("plainPut", "unknown") + count("commit", "unknown") + count("discard", "unknown") + count("release", "unknown") + count("delete", "unknown") + count("sweep", "unknown"),
      commitsResolved: count("commit", "ok"),
      commitsRejected: count("commit", "NotFound"),
      promisedChecked: promised,
      sweeps: count("sweep"),
      releases: count("release"),
      deletes: count("delete"),
      stored: stored.size,
      states: data.states.length,
    },
  };
}
