// The example services' HTTP API, checked over loopback (the same checks for workerd and Deno).
import { createHash } from "node:crypto";
import { collector, expect } from "../support/results.mjs";

const sha256 = (bytes) => createHash("sha256").update(bytes).digest("hex");

export async function checkHttpApi(base) {
  const { results, check } = collector();
  const call = (method, path, init = {}) => fetch(base + path, { method, ...init });
  const put = (session, bytes, headers) => call("PUT", `/sessions/${encodeURIComponent(session)}/attachments`, { body: bytes, headers });

  const photo = new Uint8Array(3 * 1024 * 1024 + 17).map((_, i) => (i * 31) & 255); // chunked on Durable Objects
  const draft = new TextEncoder().encode("a draft nobody committed");
  let photoRef;

  await check("PUT stores bytes and answers 201 with the AttachmentRef", async () => {
    const response = await put("chat/1", photo, { "content-type": "Image/JPG", "x-attachment-label": encodeURIComponent("cat photo.jpg") });
    expect(response.status === 201, `status ${response.status}`);
    photoRef = await response.json();
    expect(photoRef.id === sha256(photo) && photoRef.mediaType === "image/jpeg" && photoRef.byteLen === photo.length, JSON.stringify(photoRef));
    expect(photoRef.label === "cat photo.jpg", `label ${photoRef.label}`);
  });
  await check("GET returns the bytes with their media type; sha256: ids work", async () => {
    for (const id of [photoRef.id, `sha256:${photoRef.id}`]) {
      const response = await call("GET", `/attachments/${id}`);
      expect(response.status === 200 && response.headers.get("content-type") === "image/jpeg", `status ${response.status}`);
      expect(sha256(new Uint8Array(await response.arrayBuffer())) === photoRef.id, "bytes differ");
    }
  });
  await check("GET answers ranges (206, 416), ETag and If-None-Match (304), as serveAttachment does", async () => {
    const tag = `"${photoRef.id}"`;
    const first = await call("GET", `/attachments/${photoRef.id}`, { headers: { range: "bytes=0-9" } });
    expect(first.status === 206 && first.headers.get("content-range") === `bytes 0-9/${photo.length}`, `status ${first.status}`);
    expect(sha256(new Uint8Array(await first.arrayBuffer())) === sha256(photo.subarray(0, 10)), "first ten bytes");
    // Across the Durable Object's 1 MiB chunks.
    const across = await call("GET", `/attachments/${photoRef.id}`, { headers: { range: `bytes=${(1 << 20) - 5}-${(1 << 20) + 4}` } });
    expect(sha256(new Uint8Array(await across.arrayBuffer())) === sha256(photo.subarray((1 << 20) - 5, (1 << 20) + 5)), "a range across chunks");
    const last = await call("GET", `/attachments/${photoRef.id}`, { headers: { range: "bytes=-3" } });
    expect(last.status === 206 && sha256(new Uint8Array(await last.arrayBuffer())) === sha256(photo.subarray(-3)), "suffix");
    expect((await call("GET", `/attachments/${photoRef.id}`, { headers: { range: `bytes=${photo.length}-` } })).status === 416, "past the end");
    const whole = await call("GET", `/attachments/${photoRef.id}`);
    expect(whole.headers.get("etag") === tag && whole.headers.get("accept-ranges") === "bytes" && /immutable/.test(whole.headers.get("cache-control")), "headers");
    await whole.arrayBuffer();
    const cached = await call("GET", `/attachments/${photoRef.id}`, { headers: { "if-none-match": tag } });
    expect(cached.status === 304, `If-None-Match: ${cached.status}`);
  });
  await check("HEAD answers headers only", async () => {
    const response = await call("HEAD", `/attachments/${photoRef.id}`);
    expect(response.status === 200 && response.headers.get("content-length") === String(photo.length), `status ${response.status}`);
    expect((await call("HEAD", `/attachments/${sha256(draft)}`)).status === 404, "HEAD of nothing is 404");
  });
  await check("GET /attachments lists what is stored", async () => {
    const list = await (await call("GET", "/attachments")).json();
    expect(list.some((ref) => ref.id === photoRef.id), JSON.stringify(list));
  });
  await check("commit returns the session's pending ids, once", async () => {
    const first = await (await call("POST", "/sessions/chat%2F1/commit")).json();
    expect(JSON.stringify(first) === JSON.stringify({ committed: [photoRef.id] }), JSON.stringify(first));
    const again = await (await call("POST", "/sessions/chat%2F1/commit")).json();
    expect(again.committed.length === 0, JSON.stringify(again));
  });
  await check("a commit saves a JSON state with the stamps; GET state reads it back", async () => {
    const note = await (await put("chat/2", new TextEncoder().encode("a note"), { "content-type": "text/plain" })).json();
    const committed = await (await call("POST", "/sessions/chat%2F2/commit", { body: JSON.stringify({ title: "Notes", attachments: [note.id] }) })).json();
    expect(JSON.stringify(committed) === JSON.stringify({ committed: [note.id] }), JSON.stringify(committed));
    const state = await (await call("GET", "/sessions/chat%2F2/state")).json();
    expect(state.title === "Notes" && state.attachments[0] === note.id, JSON.stringify(state));
    expect((await call("GET", "/sessions/nobody/state")).status === 404, "no state: 404");
    const bad = await call("POST", "/sessions/chat%2F2/commit", { body: "{not json" });
    expect(bad.status === 400 && (await bad.json()).code === "InvalidInput", `bad JSON: ${bad.status}`);
  });
  await check("a commit whose attachment was deleted answers 409 naming it, and writes nothing", async () => {
    const doomed = await (await put("chat/3", new TextEncoder().encode("deleted before the commit"), { "content-type": "text/plain" })).json();
    await call("DELETE", `/attachments/${doomed.id}`);
    const response = await call("POST", "/sessions/chat%2F3/commit", { body: JSON.stringify({ v: 1 }) });
    const body = await response.json();
    expect(response.status === 409 && body.code === "NotFound" && body.ids?.[0] === doomed.id, `${response.status} ${JSON.stringify(body)}`);
    expect((await call("GET", "/sessions/chat%2F3/state")).status === 404, "no state was saved");
    await put("chat/3", new TextEncoder().encode("deleted before the commit"), { "content-type": "text/plain" });
    expect((await call("POST", "/sessions/chat%2F3/commit")).status === 200, "a re-put heals it");
  });
  await check("DELETE /sessions/:id releases the conversation: a later sweep reclaims it", async () => {
    const kept = await (await put("chat/4", new TextEncoder().encode("released with its conversation"), { "content-type": "text/plain" })).json();
    await call("POST", "/sessions/chat%2F4/commit", { body: "{}" });
    expect((await call("DELETE", "/sessions/chat%2F4")).status === 204, "release");
    expect((await call("GET", "/sessions/chat%2F4/state")).status === 404, "its state is gone");
    const report = await (await call("POST", `/reclaim?olderThanEpochMs=${Date.now() + 60_000}`)).json();
    expect(report.deletedCount >= 1 && (await call("GET", `/attachments/${kept.id}`)).status === 404, JSON.stringify(report));
  });
  await check("reclaim deletes the uncommitted and keeps the committed", async () => {
    expect((await put("abandoned", draft, { "content-type": "text/plain" })).status === 201, "draft stored");
    const report = await (await call("POST", `/reclaim?olderThanEpochMs=${Date.now() + 60_000}`)).json();
    expect(report.scannedIntentCount === 1 && report.deletedCount === 1 && report.deletedBytes === draft.length, JSON.stringify(report));
    expect((await call("GET", `/attachments/${sha256(draft)}`)).status === 404, "draft gone");
    expect((await call("GET", `/attachments/${photoRef.id}`)).status === 200, "committed kept");
  });
  await check("unknown ids are 404 { code: NotFound }", async () => {
    for (const id of [sha256(new Uint8Array([9])), "not-an-id"]) {
      const response = await call("GET", `/attachments/${id}`);
      expect(response.status === 404 && (await response.json()).code === "NotFound", `status ${response.status}`);
    }
  });
  await check("client mistakes are 400 { code: InvalidInput, message }", async () => {
    const cases = [
      () => put("s", new Uint8Array([1])),
      () => put("s", new Uint8Array([1]), { "content-type": "text/plain; charset=utf-8" }),
      () => put("s", new Uint8Array([1]), { "content-type": "nonsense" }),
      () => call("POST", "/reclaim"),
      () => call("POST", "/reclaim?olderThanEpochMs=soon"),
    ];
    for (const make of cases) {
      const response = await make();
      const body = await response.json();
      expect(response.status === 400 && body.code === "InvalidInput" && body.message, `${response.status} ${JSON.stringify(body)}`);
    }
  });
  await check("DELETE answers 204 and is idempotent", async () => {
    const scratch = await (await put("s", new TextEncoder().encode("scratch"), { "content-type": "text/plain" })).json();
    expect((await call("DELETE", `/attachments/${scratch.id}`)).status === 204, "delete");
    expect((await call("DELETE", `/attachments/${scratch.id}`)).status === 204, "delete again");
    expect((await call("GET", `/attachments/${scratch.id}`)).status === 404, "gone");
  });
  await check("no junk request gets a 500", async () => {
    const junk = [
      ["GET", "/"], ["PATCH", "/attachments"], ["POST", "/attachments/x"], ["GET", "/sessions/s/commit"], ["PUT", "/sessions//attachments"],
      ["GET", "/attachments/%E0%A4%A"], ["PUT", "/sessions/%ZZ/attachments"], ["POST", "/reclaim?olderThanEpochMs=1e400"], ["DELETE", "/attachments/sha256:"], ["GET", "/nope/nope/nope"],
    ];
    for (const [method, path] of junk) {
      const response = await call(method, path).catch((error) => ({ status: `network error ${error.message}` }));
      expect(typeof response.status === "number" && response.status < 500, `${method} ${path} -> ${response.status}`);
    }
  });
  return results;
}
