// A strict TypeScript consumer: uses the whole API, and the @ts-expect-error lines prove the
// public types are precise (an `any` would make them unused, which tsc reports).
import {
  AttachmentStoreError,
  openAttachmentStore,
  IndexedDbAttachmentStore,
  MemoryAttachmentStore,
  SessionScopedAttachmentStore,
  contentId,
  contentIdOf,
  reclaimOrphanedAttachments,
  resolveLlmRequestAttachments,
  type AttachmentManifestLike,
  type AttachmentRef,
  type AttachmentStoreLike,
  type ErrorCode,
  type ManifestEntry,
  type PutOptions,
  type ReclamationReport,
  type StoredAttachment,
  type VerifyReport,
} from "web-attachments";
// @ts-expect-error the browser entry's types do not declare the Durable Object store (`vite build` would fail on it)
import { DurableObjectAttachmentStore as OnlyInWorkerd } from "web-attachments";

class NullStore implements AttachmentStoreLike {
  async put(bytes: Uint8Array, meta: { mediaType: string }): Promise<AttachmentRef> {
    return { id: contentId(bytes), mediaType: meta.mediaType, byteLen: bytes.length };
  }
  async get(id: string): Promise<StoredAttachment> {
    throw new AttachmentStoreError("NotFound", id);
  }
  async head(): Promise<AttachmentRef | undefined> {
    return undefined;
  }
  async list(): Promise<AttachmentRef[]> {
    return [];
  }
  async delete(): Promise<void> {}
}

export async function example(file: Blob, manifest: AttachmentManifestLike): Promise<number> {
  const store: IndexedDbAttachmentStore = await IndexedDbAttachmentStore.open();
  const session: SessionScopedAttachmentStore = store.session("conversation");
  const ref: AttachmentRef = await session.put(file, { mediaType: file.type, label: "upload" });
  const batch: AttachmentRef[] = await session.putMany([{ bytes: file, meta: { mediaType: "image/png" } }]);
  const handOver: PutOptions = { transfer: true };
  const moved: AttachmentRef = await store.put(await file.arrayBuffer(), { mediaType: "image/png" }, handOver);
  await store.putMany([{ bytes: new Uint8Array(moved.byteLen), meta: { mediaType: "image/png" } }], { transfer: false });
  const ids: string[] = await session.commit();
  // Returned bytes go straight where users put them (TS2322 with a bare Uint8Array type).
  const blob = new Blob([(await store.get(ref.id)).bytes], { type: ref.mediaType });
  const response = new Response((await store.get(ref.id)).bytes);
  const digest: ArrayBuffer = await crypto.subtle.digest("SHA-256", (await store.get(ref.id)).bytes);
  // A File or Blob needs no meta: its type and name fill it in.
  const fromFile: AttachmentRef = await store.put(file);
  const typedFile: AttachmentRef = await store.put(file, { label: "renamed" });
  await store.putMany([{ bytes: file }, { bytes: new Uint8Array(1), meta: { mediaType: "application/octet-stream" } }]);
  const dataUrl: string = await store.getDataUrl(ref.id);
  const withState: string[] = await session.commit({ turns: ["hello"], attachments: ids });
  const pending: string[] = await session.pending();
  await session.discard(pending);
  const saved: unknown = await store.sessionState("conversation");
  // Integrity: a check of every attachment, reads that verify, and what the engine said it lost.
  const checked: VerifyReport = await store.verify({ signal: AbortSignal.timeout(60_000), onProgress: (done: number, total: number) => void [done, total] });
  const corruptIds: string[] = checked.corrupt;
  const verifying: IndexedDbAttachmentStore = await IndexedDbAttachmentStore.open("checked", { verifyReads: true, storeBlobs: false });
  const lost: string | undefined = verifying.dataLoss?.kind;
  // @ts-expect-error verifyReads is a boolean
  await IndexedDbAttachmentStore.open("x", { verifyReads: 1 });
  await store.releaseSession("conversation");
  try {
    await session.commit();
  } catch (error) {
    if (error instanceof AttachmentStoreError && error.code === "NotFound") {
      const missing: string[] | undefined = error.ids;
      void missing;
    }
  }
  const stored: StoredAttachment = await store.get(ref.id);
  const bytes: Uint8Array = stored.bytes;
  const width: number | undefined = stored.meta.width;
  const rows: ManifestEntry[] = await store.manifest.listUncommitted(Date.now());
  const committedAt: number | undefined = rows[0]?.committedAtEpochMs;
  const report: ReclamationReport = await reclaimOrphanedAttachments(store.manifest, store, Date.now() - 3_600_000, {
    signal: new AbortController().signal,
    onProgress: (done: number, total: number) => void [done, total],
  });
  const other = new SessionScopedAttachmentStore(new NullStore(), manifest, "s");
  const memory = new MemoryAttachmentStore();
  const request = await resolveLlmRequestAttachments({ model: "m", attachments: [{ mime: "image/png", reference: ref }] }, memory);
  const model: string = request.model;
  // A chat log keeps only ids; resolved items have data and mime.
  const fromLog = await resolveLlmRequestAttachments({ attachments: [{ reference: { id: ref.id } }] }, store);
  const loaded: Uint8Array = fromLog.attachments[0]!.data;
  const loadedType: string = fromLog.attachments[0]!.mime;
  const bodyFromLoaded = new Blob([fromLog.attachments[0]!.data]);
  const id: string = await contentIdOf(file);
  try {
    await store.get("missing");
  } catch (error) {
    if (error instanceof AttachmentStoreError) {
      const code: ErrorCode = error.code;
      void code;
    }
  }
  // @ts-expect-error mediaType is required
  await store.put(bytes, {});
  // @ts-expect-error bytes must be bytes
  await store.put("text", { mediaType: "text/plain" });
  // @ts-expect-error only a Blob may leave its meta out
  await store.put(new Uint8Array(1));
  // @ts-expect-error transfer is a boolean
  await store.put(bytes, { mediaType: "text/plain" }, { transfer: "yes" });
  // @ts-expect-error persistence is a closed union
  const p: "volatile" = store.persistence;
  // @ts-expect-error error codes are a closed union
  const c: ErrorCode = "Oops";
  const somewhere = await openAttachmentStore({ name: "x", verifyReads: true });
  const kind: "durable" | "ephemeral" = somewhere.persistence;
  // @ts-expect-error discard takes ids
  await session.discard("all");
  void [batch, ids, withState, saved, width, committedAt, report, other, model, id, p, c, kind, OnlyInWorkerd];
  void [blob, response, digest, fromFile, typedFile, dataUrl, loaded, loadedType, bodyFromLoaded, corruptIds, lost];
  return report.deletedCount;
}

