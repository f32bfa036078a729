// The HTTP API both example services expose (examples/workerd, examples/deno), written once over
// the package's store API: which store sits behind it is the service's choice.
//
//   PUT    /sessions/:sessionId/attachments   body = bytes, content-type = media type,
//                                             optional x-attachment-label   -> 201 AttachmentRef
//   POST   /sessions/:sessionId/commit                                       -> { committed: [ids] }
//   GET    /attachments                                                      -> [AttachmentRef]
//   GET    /attachments/:id                   -> the bytes with their media type, or 404 { code }
//   HEAD   /attachments/:id                   -> headers only, or 404
//   DELETE /attachments/:id                                                  -> 204
//   POST   /reclaim?olderThanEpochMs=N                                       -> ReclamationReport
//
// Client mistakes are 4xx with { code, message }, never a 500.
import { AttachmentStoreError, reclaimOrphanedAttachments } from "web-attachments";

const STATUS = { InvalidInput: 400, NotFound: 404, QuotaExceeded: 507, Closed: 503 };

function json(body, status = 200) {
  return new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });
}

function problem(status, code, message) {
  return json({ code, message }, status);
}

/** A path segment, percent-decoded; a malformed escape is the client's mistake. */
function segment(part) {
  try {
    return decodeURIComponent(part);
  } catch {
    throw new AttachmentStoreError("InvalidInput", `malformed percent-encoding in ${JSON.stringify(part)}`);
  }
}

function attachmentHeaders(meta) {
  const headers = { "content-type": meta.mediaType, "content-length": String(meta.byteLen), "x-attachment-id": meta.id };
  if (meta.label !== undefined) headers["x-attachment-label"] = encodeURIComponent(meta.label);
  return headers;
}

async function route(request, store, method, parts, url) {
  const manifest = store.manifest;
  if (parts[0] === "sessions" && parts.length === 3) {
    const sessionId = segment(parts[1]);
    if (parts[2] === "attachments" && method === "PUT") {
      const mediaType = request.headers.get("content-type");
      if (!mediaType) return problem(400, "InvalidInput", "a content-type header (the media type) is required");
      const label = request.headers.get("x-attachment-label");
      const meta = label === null ? { mediaType } : { mediaType, label: segment(label) };
      const ref = await store.session(sessionId).put(new Uint8Array(await request.arrayBuffer()), meta);
      return json(ref, 201);
    }
    if (parts[2] === "commit" && method === "POST") {
      // The session's pending ids live in the manifest, so a commit works after a restart too.
      const pending = (await manifest.listUncommitted(Number.MAX_SAFE_INTEGER)).filter((row) => row.sessionId === sessionId);
      const ids = pending.map((row) => row.attachmentId);
      await manifest.commitRefs(sessionId, ids);
      return json({ committed: ids });
    }
  }
  if (parts[0] === "attachments" && parts.length === 1 && method === "GET") return json(await store.list());
  if (parts[0] === "attachments" && parts.length === 2) {
    const id = segment(parts[1]);
    if (method === "GET") {
      const { meta, bytes } = await store.get(id);
      return new Response(bytes, { headers: attachmentHeaders(meta) });
    }
    if (method === "HEAD") {
      const meta = await store.head(id);
      return meta ? new Response(null, { headers: attachmentHeaders(meta) }) : new Response(null, { status: 404 });
    }
    if (method === "DELETE") {
      await store.delete(id);
      return new Response(null, { status: 204 });
    }
  }
  if (parts[0] === "reclaim" && parts.length === 1 && method === "POST") {
    const raw = url.searchParams.get("olderThanEpochMs");
    const olderThan = Number(raw);
    if (raw === null || raw.trim() === "" || !Number.isFinite(olderThan)) {
      return problem(400, "InvalidInput", "olderThanEpochMs must be a number of milliseconds");
    }
    return json(await reclaimOrphanedAttachments(manifest, store, olderThan));
  }
  const known = ["sessions", "attachments", "reclaim"].includes(parts[0]);
  return known ? problem(405, "MethodNotAllowed", `${method} is not supported here`) : problem(404, "NotFound", "no such route");
}

/** Answers one request against `store` (which has `.manifest` and `.session(id)`). */
export async function handleAttachmentRequest(request, store) {
  const url = new URL(request.url);
  const parts = url.pathname.split("/").filter(Boolean);
  try {
    return await route(request, store, request.method, parts, url);
  } catch (error) {
    if (error instanceof AttachmentStoreError && error.code in STATUS) {
      return request.method === "HEAD" ? new Response(null, { status: STATUS[error.code] }) : problem(STATUS[error.code], error.code, error.message);
    }
    console.error(error);
    return problem(500, "Backend", "the store failed; see the server log");
  }
}
