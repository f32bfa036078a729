// The HTTP API both example services expose (examples/workerd, examples/deno), written once over
// the package's store API: which store sits behind it is the service's choice.
//
//   PUT    /sessions/:sessionId/attachments   body = bytes, content-type = media type,
//                                             optional x-attachment-label   -> 201 AttachmentRef
//   POST   /sessions/:sessionId/commit        optional JSON body = the session's state
//                                             -> { committed: [ids] }, or 409 { code: "NotFound", ids }
//   GET    /sessions/:sessionId/state         -> the state last committed, or 404
//   DELETE /sessions/:sessionId               -> 204 (releaseSession: a later sweep reclaims it)
//   GET    /attachments                                                      -> [AttachmentRef]
//   GET    /attachments/:id                   -> the bytes (serveAttachment: ranges, ETag, 304), or 404 { code }
//   HEAD   /attachments/:id                   -> headers only, or 404
//   DELETE /attachments/:id                                                  -> 204
//   POST   /reclaim?olderThanEpochMs=N                                       -> ReclamationReport
//
// Client mistakes are 4xx with { code, message }, never a 500.
import { AttachmentStoreError, reclaimOrphanedAttachments, serveAttachment } from "web-attachments";

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

async function route(request, store, method, parts, url) {
  if (parts[0] === "sessions" && parts.length === 3) {
    const sessionId = segment(parts[1]);
    if (parts[2] === "attachments" && method === "PUT") {
      const mediaType = request.headers.get("content-type");
      if (!mediaType) return problem(400, "InvalidInput", "a content-type header (the media type) is required");
      const label = request.headers.get("x-attachment-label");
      const meta = label === null ? { mediaType } : { mediaType, label: segment(label) };
      // The body streams in, hashed as it arrives: a large upload is never held whole.
      const ref = await store.session(sessionId).put(request.body ?? new Uint8Array(), meta);
      return json(ref, 201);
    }
    if (parts[2] === "commit" && method === "POST") {
      // A commit covers the session's rows in the manifest, so it works after a restart too.
      const body = await request.text();
      let state;
      try {
        state = body === "" ? undefined : JSON.parse(body);
      } catch {
        return problem(400, "InvalidInput", "the body must be JSON (the session's state) or empty");
      }
      try {
        return json({ committed: await store.session(sessionId).commit(state) });
      } catch (error) {
        // Some of the session's attachments are gone: nothing was committed. Put them again.
        if (error instanceof AttachmentStoreError && error.code === "NotFound") return json({ code: error.code, message: error.message, ids: error.ids }, 409);
        throw error;
      }
    }
    if (parts[2] === "state" && method === "GET") {
      const state = await store.sessionState(sessionId);
      return state === undefined ? problem(404, "NotFound", "the session has committed no state") : json(state);
    }
  }
  if (parts[0] === "sessions" && parts.length === 2 && method === "DELETE") {
    await store.releaseSession(segment(parts[1]));
    return new Response(null, { status: 204 });
  }
  if (parts[0] === "attachments" && parts.length === 1 && method === "GET") return json(await store.list());
  if (parts[0] === "attachments" && parts.length === 2) {
    const id = segment(parts[1]);
    if (method === "GET" || method === "HEAD") {
      // Streamed out chunk by chunk, with ranges, ETag and If-None-Match; the label rides along.
      const response = await serveAttachment(request, store);
      const meta = response.ok ? await store.head(id) : undefined;
      if (meta?.label !== undefined) response.headers.set("x-attachment-label", encodeURIComponent(meta.label));
      return response;
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
    return json(await reclaimOrphanedAttachments(store.manifest, store, olderThan));
  }
  const known = ["sessions", "attachments", "reclaim"].includes(parts[0]);
  return known ? problem(405, "MethodNotAllowed", `${method} is not supported here`) : problem(404, "NotFound", "no such route");
}

/** Answers one request against `store` (one of this package's: it has `.manifest`, `.session(id)`, `.sessionState` and `.releaseSession`). */
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
