// The attachment shelf: a small UI over web-attachments. Everything it shows is read back from
// the store and its manifest, so it survives reloads; sw.js keeps it working offline.
import { AttachmentStoreError, IndexedDbAttachmentStore, reclaimOrphanedAttachments } from "web-attachments";

const $ = (selector) => document.querySelector(selector);
const store = await IndexedDbAttachmentStore.open("web-attachments-demo");
const manifest = store.manifest;
const objectUrls = [];

const knownSessions = () => JSON.parse(localStorage.getItem("demo-sessions") ?? '["conversation-1"]');
const rememberSessions = (ids) => localStorage.setItem("demo-sessions", JSON.stringify([...new Set(ids)]));
// A deleted (released) conversation keeps its rows until a sweep reclaims them: hide it meanwhile.
const releasedSessions = () => new Set(JSON.parse(localStorage.getItem("demo-released") ?? "[]"));
const setReleased = (ids) => localStorage.setItem("demo-released", JSON.stringify([...ids]));
// The selected session is state of its own, set at once on every choice: a file added while the
// list re-renders must still go to the session the user picked.
let selectedSession = localStorage.getItem("demo-selected-session") ?? knownSessions()[0];
const currentSession = () => selectedSession;
function selectSession(id) {
  selectedSession = id;
  localStorage.setItem("demo-selected-session", id);
  $("#session-select").value = id;
}
// The same view on every call: a commit covers the conversation anyway, whoever put its files.
const sessionStore = (id) => store.session(id);

function formatBytes(n) {
  const units = ["B", "KiB", "MiB", "GiB"];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  return `${n.toFixed(i ? 1 : 0)} ${units[i]}`;
}

function say(text, isError = false) {
  const message = $("#add-message");
  message.textContent = text;
  message.classList.toggle("error", isError);
}

function describeError(error) {
  return error instanceof AttachmentStoreError ? `${error.code}: ${error.message}` : String(error);
}

async function imageSize(file) {
  if (!file.type.startsWith("image/")) return {};
  try {
    const bitmap = await createImageBitmap(file);
    const size = { width: bitmap.width, height: bitmap.height };
    bitmap.close();
    return size;
  } catch {
    return {};
  }
}

async function addFiles(files) {
  const session = sessionStore(currentSession());
  let added = 0;
  for (const file of files) {
    try {
      // The File's type and name fill in the meta (application/octet-stream when it has no type).
      await session.put(file, { ...(file.name ? {} : { label: "pasted" }), ...(await imageSize(file)) });
      added++;
    } catch (error) {
      say(`${file.name}: ${describeError(error)}`, true);
    }
  }
  if (added) say(`Added ${added} attachment${added === 1 ? "" : "s"} to ${session.sessionId} (pending until committed).`);
  await render();
}

/** Rows of every stored attachment, grouped: attachment -> rows, session -> rows. */
async function snapshot() {
  const refs = await store.list();
  const rowsById = new Map();
  const bySession = new Map(knownSessions().map((id) => [id, []]));
  const gone = releasedSessions();
  for (const ref of refs) {
    const rows = await manifest.entriesFor(ref.id);
    rowsById.set(ref.id, rows);
    for (const row of rows) {
      if (gone.has(row.sessionId)) continue;
      (bySession.get(row.sessionId) ?? bySession.set(row.sessionId, []).get(row.sessionId)).push(row);
    }
  }
  return { refs, rowsById, bySession };
}

/** Commits a conversation with its state: the note and the attachments it refers to. */
async function commitSession(id, note, previous) {
  const session = sessionStore(id);
  const attachments = [...new Set([...(previous?.attachments ?? []), ...(await session.pending())])];
  try {
    const committed = await session.commit({ note, attachments, savedAt: Date.now() });
    drafts.delete(id);
    say(`Committed ${committed.length} attachment${committed.length === 1 ? "" : "s"} of ${id} with its state.`);
  } catch (error) {
    if (error instanceof AttachmentStoreError && error.code === "NotFound") {
      // Nothing was committed: some of the conversation's files were reclaimed or deleted. Drop
      // them (adding the same file again would make them whole), then commit the rest.
      await session.discard(error.ids);
      say(`${error.ids.length} attachment${error.ids.length === 1 ? " was" : "s were"} gone (reclaimed or deleted), so nothing was committed; dropped ${error.ids.length === 1 ? "it" : "them"} from ${id}: commit again.`, true);
    } else {
      say(describeError(error), true);
    }
  }
  await render();
}

/** Notes typed and not committed yet, by session: a render (another tab's change, the service
 * worker taking over) must not wipe what the user is typing. */
const drafts = new Map();

async function render() {
  const { refs, rowsById, bySession } = await snapshot();
  rememberSessions([...bySession.keys()]);

  if (!bySession.has(selectedSession)) bySession.set(selectedSession, []);
  $("#session-select").replaceChildren(...[...bySession.keys()].map((id) => new Option(id, id, false, id === selectedSession)));

  const states = new Map(await Promise.all([...bySession.keys()].map(async (id) => [id, await store.sessionState(id)])));
  // A render replaces the note fields: whoever is typing in one (a person, a test's fill) keeps
  // the focus and the caret in its successor, so no keystroke lands outside it.
  const typing = document.activeElement?.matches?.(".session .note") ? document.activeElement : undefined;
  const typingIn = typing?.closest(".session").dataset.session;
  $("#session-list").replaceChildren(...[...bySession].map(([id, rows]) => {
    const pending = rows.filter((r) => r.committedAtEpochMs === undefined);
    const state = states.get(id);
    const line = document.createElement("div");
    line.className = "session";
    line.dataset.session = id;
    line.innerHTML = `<div class="session-head"><span><strong></strong> <span class="muted counts"></span></span></div>
      <input class="note" placeholder="a note saved with the next commit" maxlength="200">
      <div class="muted saved"></div>`;
    line.querySelector("strong").textContent = id;
    line.querySelector(".counts").textContent = `${rows.length - pending.length} committed · ${pending.length} pending`;
    // The conversation's own state, saved by commit(state) in the same transaction as its stamps.
    line.querySelector(".note").value = drafts.get(id) ?? state?.note ?? "";
    line.querySelector(".saved").textContent = state
      ? `Saved ${new Date(state.savedAt).toLocaleString()}: ${state.attachments.length} attachment${state.attachments.length === 1 ? "" : "s"}${state.note ? `, “${state.note}”` : ""}`
      : "No state committed yet.";
    const commit = document.createElement("button");
    commit.textContent = "Commit";
    commit.className = "primary commit";
    commit.disabled = pending.length === 0 && line.querySelector(".note").value === (state?.note ?? "");
    line.querySelector(".note").oninput = (event) => (drafts.set(id, event.target.value), (commit.disabled = false));
    commit.onclick = () => commitSession(id, line.querySelector(".note").value, state);
    const release = document.createElement("button");
    release.textContent = "Delete conversation";
    release.className = "release";
    release.onclick = async () => {
      // Its rows lose their commits and its state goes; a sweep after the grace period reclaims
      // what no other conversation holds.
      await store.releaseSession(id);
      rememberSessions(knownSessions().filter((known) => known !== id));
      setReleased([...releasedSessions(), id]);
      if (selectedSession === id) selectSession(knownSessions()[0] ?? "conversation-1");
      say(`Deleted ${id}: a sweep after the grace period reclaims its attachments.`);
      await render();
    };
    line.querySelector(".session-head").append(commit, release);
    return line;
  }));
  const successor = typingIn === undefined ? undefined : [...$("#session-list").children].find((line) => line.dataset.session === typingIn)?.querySelector(".note");
  if (successor) (successor.focus(), successor.setSelectionRange(typing.selectionStart, typing.selectionEnd));

  objectUrls.splice(0).forEach(URL.revokeObjectURL);
  $("#count").textContent = `(${refs.length})`;
  $("#grid").replaceChildren(...await Promise.all(refs.map(async (ref) => {
    const card = document.createElement("article");
    card.className = "card";
    card.dataset.id = ref.id;
    const thumb = document.createElement("div");
    thumb.className = "thumb";
    if (ref.mediaType.startsWith("image/")) {
      const url = await attachmentUrl(ref);
      const img = document.createElement("img");
      img.src = url;
      img.alt = ref.label ?? ref.id;
      thumb.append(img);
    } else {
      // A short type badge: the label's extension, else the subtype (TXT, PDF, MPEG...).
      const extension = ref.label?.match(/\.([a-z0-9]{1,5})$/i)?.[1];
      thumb.textContent = (extension ?? ref.mediaType.split("/")[1]).slice(0, 5).toUpperCase();
    }
    const body = document.createElement("div");
    body.className = "body";
    const size = ref.width !== undefined ? ` · ${ref.width}×${ref.height}` : "";
    body.innerHTML = `<div class="label"></div><div class="id"></div><div class="muted"></div><div class="tags"></div>`;
    body.querySelector(".label").textContent = ref.label ?? "(no label)";
    body.querySelector(".id").textContent = `${ref.id.slice(0, 16)}…`;
    body.querySelector(".id").title = ref.id;
    body.querySelector(".muted").textContent = `${ref.mediaType} · ${formatBytes(ref.byteLen)}${size}`;
    for (const row of rowsById.get(ref.id)) {
      const tag = document.createElement("span");
      const committed = row.committedAtEpochMs !== undefined;
      tag.className = `tag ${committed ? "committed" : "pending"}`;
      tag.textContent = `${row.sessionId}: ${committed ? "committed" : "pending"}`;
      body.querySelector(".tags").append(tag);
    }
    const open = document.createElement("button");
    open.textContent = "Open";
    open.className = "open";
    open.onclick = () => view(ref);
    body.append(open);
    card.append(thumb, body);
    return card;
  })));
  await renderStorage();
}

/**
 * Where the page can load an attachment from: the service worker's `attachments/<id>` (served by
 * serveAttachment: ranges, so videos seek) once it controls the page, else an object URL of
 * getBlob (read only when the element reads it).
 */
async function attachmentUrl(ref) {
  if (navigator.serviceWorker?.controller) return `./attachments/${ref.id}`;
  const url = URL.createObjectURL(await store.getBlob(ref.id));
  objectUrls.push(url);
  return url;
}

/** Shows an attachment in the viewer: an image, a PDF in a frame, a video or audio that seeks. */
async function view(ref) {
  const src = await attachmentUrl(ref);
  const kind = ref.mediaType.split("/")[0];
  const element = kind === "image" ? document.createElement("img")
    : kind === "video" || kind === "audio" ? Object.assign(document.createElement(kind), { controls: true })
    : document.createElement("iframe");
  element.src = src;
  element.title = ref.label ?? ref.id;
  $("#viewer-title").textContent = `${ref.label ?? ref.id} · ${ref.mediaType}`;
  $("#viewer-body").replaceChildren(element);
  $("#viewer").hidden = false;
}

async function renderStorage() {
  if (!navigator.storage?.estimate) {
    $("#usage").textContent = "This browser does not report storage usage.";
    return;
  }
  const { usage = 0, quota = 0 } = await navigator.storage.estimate();
  const persisted = (await navigator.storage.persisted?.()) ?? false;
  $("#usage").textContent = `${formatBytes(usage)} used of ${formatBytes(quota)} available to this site.`;
  $("#persist-state").textContent = persisted ? "Storage is persistent: the browser will not evict it." : "Storage is best-effort: the browser may evict it under pressure.";
}

async function runSweep() {
  const grace = Number($("#grace").value);
  const progress = $("#sweep-progress");
  const button = $("#run-sweep");
  button.disabled = true;
  progress.value = 0;
  try {
    const threshold = Date.now() - Math.max(0, grace) * 1000;
    const report = await reclaimOrphanedAttachments(manifest, store, threshold, {
      onProgress: (done, total) => { progress.max = Math.max(total, 1); progress.value = total ? done : 1; },
    });
    $("#sweep-report").textContent =
      `Scanned ${report.scannedIntentCount} intents, reclaimed ${report.reclaimedCount}, ` +
      `deleted ${report.deletedCount} attachments (${formatBytes(report.deletedBytes)}).`;
  } catch (error) {
    $("#sweep-report").textContent = describeError(error);
  } finally {
    button.disabled = false;
    await render();
  }
}

$("#new-session").onclick = async () => {
  const name = $("#new-session-name").value.trim() || `conversation-${knownSessions().length + 1}`;
  rememberSessions([...knownSessions(), name]);
  setReleased([...releasedSessions()].filter((gone) => gone !== name));
  $("#new-session-name").value = "";
  selectSession(name);
  await render();
};
$("#session-select").onchange = (event) => selectSession(event.target.value);
$("#file-input").onchange = (event) => addFiles([...event.target.files]).finally(() => (event.target.value = ""));
const drop = $("#drop");
drop.ondragover = (event) => { event.preventDefault(); drop.classList.add("over"); };
drop.ondragleave = () => drop.classList.remove("over");
drop.ondrop = (event) => {
  event.preventDefault();
  drop.classList.remove("over");
  addFiles([...event.dataTransfer.files]);
};
document.addEventListener("paste", (event) => {
  const files = [...event.clipboardData.files];
  if (files.length) addFiles(files);
});
$("#run-sweep").onclick = runSweep;
$("#viewer-close").onclick = () => {
  $("#viewer").hidden = true;
  $("#viewer-body").replaceChildren();
};
$("#persist").onclick = async () => {
  const granted = await navigator.storage?.persist?.();
  $("#persist-state").textContent = granted ? "Granted: storage is persistent." : "Not granted (the browser decides; installed or bookmarked sites get it more often).";
};

if ("serviceWorker" in navigator) {
  navigator.serviceWorker.register("./sw.js", { type: "module" }).catch((error) => console.warn("offline support unavailable:", error));
  // Once the worker controls the page, thumbnails come from its attachments/ URLs.
  navigator.serviceWorker.addEventListener("controllerchange", () => render());
}
await render();
$("#status").textContent = navigator.onLine ? "ready" : "ready (offline)";
