/**
 * web-attachments: a content-addressed attachment store with a write-ahead manifest.
 *
 * Attachments are addressed by the SHA-256 of their bytes. A session records an intent before its
 * bytes land, commits the refs when it durably saves its own state, and a host-called reclaim
 * sweep deletes bytes whose intents were never committed after a grace period.
 */

/** 64 lowercase hex characters: the SHA-256 of the bytes. `sha256:<id>` is accepted wherever an id is. */
export type AttachmentId = string;

/** What a caller says about bytes it puts. */
export interface AttachmentCreateMeta {
  /** A MIME type `type/subtype`; trimmed, lowercased, aliases normalised; parameters rejected. */
  mediaType: string;
  /** Pixel width (whole number). */
  width?: number;
  /** Pixel height (whole number). */
  height?: number;
  /** A caller-chosen label, e.g. the file name. */
  label?: string;
}

/** A stored attachment's metadata. Absent optional fields are absent, never `null`. */
export interface AttachmentRef {
  id: AttachmentId;
  mediaType: string;
  byteLen: number;
  width?: number;
  height?: number;
  label?: string;
}

/** The contract's name for a stored attachment's metadata (same shape as {@link AttachmentRef}). */
export type AttachmentMeta = AttachmentRef;

/**
 * Bytes this package hands out: a fresh array over a fresh, exact-length `ArrayBuffer`, owned by
 * the caller (they go straight into `Blob`, `Response` and `crypto.subtle`). Needs TypeScript 5.7
 * or later (generic typed arrays); tested with 5.9 and 7.0.
 */
export type OwnedBytes = Uint8Array<ArrayBuffer>;

/** An attachment read back. `bytes` is a fresh array owned by the caller. */
export interface StoredAttachment {
  meta: AttachmentMeta;
  bytes: OwnedBytes;
}

/** What `recordIntent` takes. */
export interface AttachmentIntent {
  attachmentId: AttachmentId;
  sessionId: string;
  /** `sha256:<attachmentId>`. */
  canonicalUri: string;
  intentAtEpochMs: number;
}

/** One manifest row, keyed by `(sessionId, attachmentId)`. */
export interface ManifestEntry extends AttachmentIntent {
  committedAtEpochMs?: number;
}

/** What a reclaim sweep did. */
export interface ReclamationReport {
  /** Rows examined. */
  scannedIntentCount: number;
  /** Rows forgotten. */
  reclaimedCount: number;
  /** Attachments actually deleted. */
  deletedCount: number;
  /** Bytes of the attachments actually deleted. */
  deletedBytes: number;
}

/** IndexedDB stores are `"durable"`, memory stores `"ephemeral"`. */
export type AttachmentStorePersistence = "durable" | "ephemeral";

/**
 * Bytes a store accepts. Bytes passed in are copied (or moved, with {@link PutOptions.transfer}).
 * Blobs, Files and streams are hashed as they are read, in bounded memory; on IndexedDB large ones
 * are stored as Blobs, never read into the page to be stored.
 */
export type AttachmentBytes = Uint8Array | ArrayBuffer | Blob | ReadableStream<Uint8Array>;

/** A stretch of an attachment's bytes: `start` to `end` (exclusive; default and at most the end). */
export interface ByteRangeOption {
  start: number;
  end?: number;
}

/**
 * What a put of a `Blob` or `File` may say about it: everything is optional. A missing or empty
 * `mediaType` is the Blob's `type` without its parameters (`text/plain;charset=utf-8` ->
 * `text/plain`), or `application/octet-stream` where that is empty or not a media type; a missing
 * `label` is a File's `name`. An explicit `mediaType` is validated as always.
 */
export type BlobCreateMeta = Partial<AttachmentCreateMeta>;

/** One item of `putMany`: a Blob's meta may be left out, other bytes need one. */
export type PutItem = { bytes: Blob; meta?: BlobCreateMeta } | { bytes: Uint8Array | ArrayBuffer; meta: AttachmentCreateMeta };

/** Options of `put` and `putMany`. */
export interface PutOptions {
  /**
   * Hand the buffers over instead of having them copied (like `postMessage`'s transfer list): an
   * `ArrayBuffer`, or a `Uint8Array` that fills its whole buffer, is moved into the store without
   * a copy and left detached (length 0) for the caller. A view of part of a buffer, a buffer two
   * items of one `putMany` share, a shared buffer, or an engine without
   * `ArrayBuffer.prototype.transferToFixedLength` falls back to the copy, leaving the caller's
   * buffer as it was. Blobs are read into a new buffer either way. Default `false`.
   */
  transfer?: boolean;
}

/** The methods a store implemented in JavaScript must have to be used with this package. */
export interface AttachmentStoreLike {
  put(bytes: Uint8Array, meta: AttachmentCreateMeta): Promise<AttachmentRef>;
  get(id: AttachmentId): Promise<StoredAttachment>;
  head(id: AttachmentId): Promise<AttachmentRef | undefined>;
  list(): Promise<AttachmentRef[]>;
  delete(id: AttachmentId): Promise<void>;
  readonly persistence?: AttachmentStorePersistence;
}

/** The members every store of this package has. */
export interface AttachmentStore extends AttachmentStoreLike {
  /**
   * Stores bytes under their SHA-256; a repeat put keeps the bytes and replaces the metadata.
   * `{ transfer: true }` moves the buffer in instead of copying it ({@link PutOptions}).
   */
  put(bytes: Uint8Array | ArrayBuffer | ReadableStream<Uint8Array>, meta: AttachmentCreateMeta, options?: PutOptions): Promise<AttachmentRef>;
  /** A `Blob` or `File`: its type and name fill what `meta` leaves out ({@link BlobCreateMeta}). */
  put(bytes: Blob, meta?: BlobCreateMeta, options?: PutOptions): Promise<AttachmentRef>;
  /**
   * Stores many attachments at once: one transaction on IndexedDB, so all land or none. Every item
   * is checked before anything is written. On a session store each item gets its intent.
   * `{ transfer: true }` moves every item's buffer in ({@link PutOptions}).
   */
  putMany(items: readonly PutItem[], options?: PutOptions): Promise<AttachmentRef[]>;
  /** Rejects `NotFound` for an id that names nothing (malformed ids included). */
  get(id: AttachmentId): Promise<StoredAttachment>;
  /**
   * The bytes (or a `range` of them) as a `Blob` whose `type` is the media type. Where they are
   * stored as a Blob (IndexedDB, large puts of Blobs, Files and streams) nothing is read until you
   * read it: `URL.createObjectURL(await store.getBlob(id))` shows a 1 GiB video without holding
   * it. Rejects `NotFound`.
   */
  getBlob(id: AttachmentId, range?: ByteRangeOption): Promise<Blob>;
  /** The bytes (or a `range` of them) as a stream, read in bounded memory. Rejects `NotFound` up front. */
  getStream(id: AttachmentId, range?: ByteRangeOption): Promise<ReadableStream<Uint8Array>>;
  /**
   * `data:<mediaType>;base64,...`: what model SDKs take for an image or a PDF. Rejects `NotFound`.
   * A data URL is a third larger than the bytes: for large attachments prefer `get`.
   */
  getDataUrl(id: AttachmentId): Promise<string>;
  /** Metadata only; no bytes are read. */
  head(id: AttachmentId): Promise<AttachmentRef | undefined>;
  /**
   * Every stored attachment, ordered by id; with `options`, a page of them: the ids after
   * `after`, at most `limit` (IndexedDB and Durable Objects read no more). Pass the last id of a
   * page as the next page's `after`.
   */
  list(options?: ListOptions): Promise<AttachmentRef[]>;
  /** Unconditional and idempotent (absent or malformed ids are fine). */
  delete(id: AttachmentId): Promise<void>;
  readonly persistence: AttachmentStorePersistence;
  /** Releases the store; later calls reject `Closed`. */
  close(): void;
  /**
   * Re-hashes every attachment, one at a time in bounded memory. A corrupt one (bytes that do not
   * hash to their id, or that the engine reports lost) loses its bytes and metadata, is reported in
   * `corrupt`, and keeps its manifest rows: its commits stay, and a re-put of the same content heals
   * it. `signal` stops it between attachments (rejects `Backend` with the reason as `cause`).
   */
  verify(options?: VerifyOptions): Promise<VerifyReport>;
  /**
   * The state the session last committed with `commit(state)` (a fresh copy each call), or
   * `undefined`. It survives reloads on durable stores.
   */
  sessionState(sessionId: string): Promise<unknown>;
  /**
   * A deleted conversation: in one transaction the session's rows lose their commits (they become
   * uncommitted, intended now) and its state is deleted, so a later sweep reclaims its attachments
   * once the grace period has passed, unless another session holds them.
   */
  releaseSession(sessionId: string): Promise<void>;
}

/** A page of `manifest.listUncommitted`. */
export interface UncommittedPageOptions {
  /** The last row of the previous page: this page starts after it. Omitted: the first page. */
  after?: ManifestEntry;
  /** At most this many rows (a whole number from 1). Omitted: every row after `after`. */
  limit?: number;
}

/** Options of {@link AttachmentStore.list}: a page. */
export interface ListOptions {
  /** Only ids that sort after this one (it need not be stored). */
  after?: AttachmentId;
  /** At most this many (a whole number from 1). */
  limit?: number;
}

/** Options of {@link AttachmentStore.verify}. */
export interface VerifyOptions {
  /** Stops the check between attachments; it then rejects `Backend` with the signal's reason as `cause`. */
  signal?: AbortSignal;
  /** Called after each attachment with how many are done of how many there are. */
  onProgress?(done: number, total: number): void;
}

/** What {@link AttachmentStore.verify} found. */
export interface VerifyReport {
  /** Attachments re-hashed. */
  checkedCount: number;
  /** Their bytes, in all. */
  checkedBytes: number;
  /** Those found corrupt, now removed (their manifest rows kept). */
  corrupt: AttachmentId[];
}

/** Options of {@link IndexedDbAttachmentStore.open}. */
export interface IndexedDbOpenOptions {
  /**
   * `false` keeps large Blobs as chunked buffers, as on engines that do not keep Blobs reliably (by
   * default a probe decides, once per connection).
   */
  storeBlobs?: boolean;
  /**
   * Every read checks the bytes' hash before it returns (a stream errors at its end): a damaged
   * attachment rejects `Corrupt` and is removed, never handed back. Default `false`.
   */
  verifyReads?: boolean;
}

/** What the engine said on open when it had discarded the database (Chromium `dataLoss`). */
export interface DataLoss {
  /** The engine's kind of loss, as it says it (`"total"`). */
  kind: string;
  /** The engine's message, possibly empty. */
  message: string;
}

/**
 * The methods a manifest implemented in JavaScript must have. `entriesFor` goes beyond the four
 * manifest rules: the reclaim sweep needs every row of a content (committed ones too) before it
 * may delete shared bytes. The optional ones give sessions their whole lifecycle over it.
 */
export interface AttachmentManifestLike {
  recordIntent(intent: AttachmentIntent): Promise<void>;
  commitRefs(sessionId: string, ids: readonly AttachmentId[]): Promise<void>;
  /**
   * The sweep calls it with `{ after, limit }` to read its candidates a page at a time; one that
   * ignores the options and returns every row still works (the sweep then holds them all).
   */
  listUncommitted(olderThanEpochMs: number, options?: UncommittedPageOptions): Promise<ManifestEntry[]>;
  forget(attachmentId: AttachmentId, sessionId?: string): Promise<void>;
  entriesFor(attachmentId: AttachmentId): Promise<ManifestEntry[]>;
  /**
   * Stamps the session's rows of `ids` (as `commitRefs`) and saves `state` as its state, in one
   * write. Called by `session.commit(state)` (always with a state: `commit()` calls `commitRefs`);
   * without it, only `commit()` works.
   */
  commitSession?(sessionId: string, ids: readonly AttachmentId[], state: unknown): Promise<void>;
  /** The state `commitSession` last saved for the session, or `undefined`. */
  sessionState?(sessionId: string): Promise<unknown>;
  /** Drops the commits of the session's rows (intended now) and deletes its state, in one write. */
  releaseSession?(sessionId: string): Promise<void>;
}

/** The members every manifest of this package has. */
export interface AttachmentManifest extends AttachmentManifestLike {
  /** Inserts that session's row, or refreshes its intent time and URI; an existing commit is kept. */
  recordIntent(intent: AttachmentIntent): Promise<void>;
  /** Stamps `committedAtEpochMs = now` on that session's rows that have none; never inserts. */
  commitRefs(sessionId: string, ids: readonly AttachmentId[]): Promise<void>;
  /**
   * Rows with no commit and `intentAtEpochMs <= olderThanEpochMs`, oldest first (ties by session,
   * then id); with `options`, a page of them. IndexedDB reads the page from an index that holds
   * only uncommitted rows.
   */
  listUncommitted(olderThanEpochMs: number, options?: UncommittedPageOptions): Promise<ManifestEntry[]>;
  /** Drops that session's row, or every row of the id when `sessionId` is omitted. */
  forget(attachmentId: AttachmentId, sessionId?: string): Promise<void>;
  /** Every row of an attachment, whatever its session. */
  entriesFor(attachmentId: AttachmentId): Promise<ManifestEntry[]>;
  /** Releases the manifest; later calls reject `Closed`. */
  close(): void;
}

// Each class below declares only its own members; the store or manifest members come from the
// interface of the same name (declaration merging), so they are written once, above.

/** Frees the wasm-side object early (optional: the garbage collector does it too). */
interface WasmOwned {
  free(): void;
}

/** A durable store in IndexedDB (windows and workers). */
export interface IndexedDbAttachmentStore extends AttachmentStore, WasmOwned {}
export declare class IndexedDbAttachmentStore {
  private constructor();
  /**
   * Opens (creating or upgrading) the database; default name `"web-attachments"`. A connection
   * that the engine closes underneath (a crashed storage process, a lost server) is reopened by
   * itself and the operation retried; only `close()` and another connection's upgrade give `Closed`.
   */
  static open(name?: string, options?: IndexedDbOpenOptions): Promise<IndexedDbAttachmentStore>;
  /** Deletes a database and everything in it. */
  static deleteDatabase(name: string): Promise<void>;
  /**
   * Whether large Blobs, Files and streams are stored as Blobs on this connection: a probe decides
   * once, unless `open`'s `storeBlobs` did; never in WebKit (on a full disk it commits Blob records
   * whose files stay empty). Elsewhere they are stored as chunked buffers.
   */
  storesBlobs(): Promise<boolean>;
  /** The database name. */
  readonly name: string;
  /**
   * Set when the engine reported on open that it had discarded the database (its contents are
   * gone: an emptied store, not a new one); `undefined` otherwise.
   */
  readonly dataLoss: DataLoss | undefined;
  /** The manifest in the same database (the same object on every access). */
  readonly manifest: IndexedDbAttachmentManifest;
  /**
   * The session-scoped view of `sessionId`, the same object on every call: intent, bytes and
   * metadata are written in one transaction per put.
   */
  session(sessionId: string): SessionScopedAttachmentStore;
}

/** The manifest in an {@link IndexedDbAttachmentStore}'s database. */
export interface IndexedDbAttachmentManifest extends AttachmentManifest, WasmOwned {}
export declare class IndexedDbAttachmentManifest {
  private constructor();
}

/** An ephemeral store in memory, with its own manifest. */
export interface MemoryAttachmentStore extends AttachmentStore, WasmOwned {}
export declare class MemoryAttachmentStore {
  constructor();
  /** The manifest that goes with this store (the same object on every access). */
  readonly manifest: MemoryAttachmentManifest;
  /** The session-scoped view of `sessionId` over this store and its manifest (the same object on every call). */
  session(sessionId: string): SessionScopedAttachmentStore;
}

/** An ephemeral manifest in memory. */
export interface MemoryAttachmentManifest extends AttachmentManifest, WasmOwned {}
export declare class MemoryAttachmentManifest {
  constructor();
}

/**
 * A store for one session (one conversation): `put` records the session's intent before the
 * bytes land and tracks the id as pending until {@link SessionScopedAttachmentStore.commit}.
 * `get`, `head`, `list` and `delete` forward to the inner store.
 *
 * The view need not live long: a commit covers the *session*, so a view made after a reload, or in
 * another tab or worker, commits what the session put before it.
 */
export interface SessionScopedAttachmentStore extends AttachmentStore, WasmOwned {}
export declare class SessionScopedAttachmentStore {
  /** A session view over any store and manifest, JavaScript-implemented ones included. */
  constructor(store: AttachmentStoreLike, manifest: AttachmentManifestLike, sessionId: string);
  readonly sessionId: string;
  /** Ids put through this view and not yet committed, in put order (see {@link SessionScopedAttachmentStore.pending} for the session's). */
  pendingManifestCommitIds(): AttachmentId[];
  /** Forgets ids from this view's pending list. */
  markManifestCommitted(ids: readonly AttachmentId[]): void;
  /**
   * Commits the session: this view's pending ids and every uncommitted row the session has,
   * whoever put them. In one transaction it checks that each still has the session's row and its
   * bytes, then stamps them all and, when `state` is given, saves it as the session's state
   * (read it back with `store.sessionState(sessionId)`). Resolves with the ids: they are kept.
   *
   * If any is gone (a sweep reclaimed it, another tab deleted it), **nothing** is written and it
   * rejects `NotFound` with `error.ids` = the missing ids. They stay pending: put the same content
   * again (that makes it whole) or {@link SessionScopedAttachmentStore.discard} them, then commit again.
   *
   * `state` is any structured-cloneable value (a function in it rejects `InvalidInput`, writing
   * nothing). Over a JavaScript-implemented manifest, `commit(state)` needs its `commitSession`.
   */
  commit(state?: unknown): Promise<AttachmentId[]>;
  /**
   * Drops `ids` from pending and, in one transaction, forgets this session's uncommitted rows of
   * them and deletes their bytes unless another row of the attachment exists or a plain put holds
   * them. A committed row is kept (release the session to give it up).
   */
  discard(ids: readonly AttachmentId[]): Promise<void>;
  /** The ids of the session's uncommitted rows, whichever page, tab or worker put them. */
  pending(): Promise<AttachmentId[]>;
}

/**
 * The durable IndexedDB store where `indexedDB` exists (windows, workers), else a memory store
 * (Node, Deno, workerd outside a Durable Object). `persistence` says which.
 */
export declare function openAttachmentStore(options?: { name?: string } & IndexedDbOpenOptions): Promise<IndexedDbAttachmentStore | MemoryAttachmentStore>;

/** Options of {@link reclaimOrphanedAttachments}. */
export interface ReclaimOptions {
  /**
   * Stops the sweep between batches; it then rejects `Backend` with the signal's reason as `cause`.
   * An already-aborted signal rejects before anything is read.
   */
  signal?: AbortSignal;
  /** Called with `(0, total)` first, then after each batch of rows (up to 256 on IndexedDB, 64 in memory, one for your own stores and Durable Objects). */
  onProgress?: (done: number, total: number) => void;
}

/**
 * Forgets every row intended at or before `olderThanEpochMs` and never committed, and deletes its
 * bytes unless another row of the same attachment is committed or newer. Never deletes a committed
 * attachment: where manifest and bytes share a database each step is one transaction.
 */
export declare function reclaimOrphanedAttachments(
  manifest: AttachmentManifestLike,
  store: AttachmentStoreLike,
  olderThanEpochMs: number,
  options?: ReclaimOptions,
): Promise<ReclamationReport>;

/** The SHA-256 of bytes, as an {@link AttachmentId}. Synchronous, so hashed in wasm. */
export declare function contentId(bytes: Uint8Array | ArrayBuffer): AttachmentId;

/**
 * The SHA-256 of a Blob. Up to 32 MiB it is read whole and hashed with WebCrypto where available;
 * larger Blobs are read in 4 MiB chunks, so memory stays bounded.
 */
export declare function contentIdOf(blob: Blob): Promise<AttachmentId>;

/**
 * One attachment of an LLM request. A `reference` needs only the `id` (a chat log may keep just
 * that); `mime` may be left for the store to fill.
 */
export interface LlmRequestAttachment {
  mime?: string;
  data?: Uint8Array;
  reference?: { id: AttachmentId } & Partial<AttachmentRef>;
}

/** An attachment after {@link resolveLlmRequestAttachments}: one with a reference has `data` and `mime`. */
export type ResolvedLlmRequestAttachment<A extends LlmRequestAttachment> = A extends { reference: { id: AttachmentId } }
  ? Omit<A, "data" | "mime"> & { data: ("data" extends keyof A ? NonNullable<A["data"]> : never) | OwnedBytes; mime: string }
  : A;

/** A request after {@link resolveLlmRequestAttachments}: the same object, its attachments resolved. */
export type ResolvedLlmRequest<R extends { attachments: readonly LlmRequestAttachment[] }> = Omit<R, "attachments"> & {
  attachments: ResolvedLlmRequestAttachment<R["attachments"][number]>[];
};

/**
 * For each `request.attachments` item with a `reference` and no (or empty) `data`, loads the bytes
 * and sets `data` and `mime` (the stored media type). On failure (the first one rejects) nothing
 * is changed. Resolves with the same request object.
 */
export declare function resolveLlmRequestAttachments<R extends { attachments: readonly LlmRequestAttachment[] }>(
  request: R,
  store: AttachmentStoreLike,
): Promise<ResolvedLlmRequest<R>>;

/** Options of {@link serveAttachment}. */
export interface ServeOptions {
  /** The path attachments are served under; default `/attachments/`. */
  prefix?: string;
}

/**
 * Answers `GET`/`HEAD <prefix><id>` from `store`, as a service worker, workerd or Deno route:
 * 200 with `Content-Type`, `Content-Length`, `ETag: "<id>"`, `Accept-Ranges: bytes` and
 * `Cache-Control: public, max-age=31536000, immutable`; 206 for `Range: bytes=a-b` (also `a-`, `-n`)
 * with `Content-Range`; 416 past the end; 304 when `If-None-Match` names it; 404
 * `{ code: "NotFound" }` for an unknown or malformed id; 405 for other methods. Resolves
 * `undefined` for URLs outside the prefix, so the handler can fall through.
 */
export declare function serveAttachment(request: Request, store: AttachmentStoreLike, options?: ServeOptions): Promise<Response | undefined>;

/** The contract's error codes. */
export type ErrorCode =
  | "NotFound"
  | "MissingMeta"
  | "MetadataDecode"
  | "ManifestRecordFailed"
  | "QuotaExceeded"
  | "InvalidInput"
  | "Closed"
  | "Backend"
  | "Corrupt";

/** Every code, for exhaustive handling. */
export declare const ERROR_CODES: readonly ErrorCode[];

/** Every rejection of this package. `cause` holds the underlying `DOMException` or value. */
export declare class AttachmentStoreError extends Error {
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown; ids?: AttachmentId[] });
  readonly name: "AttachmentStoreError";
  readonly code: ErrorCode;
  readonly cause?: unknown;
  /** The attachments the error is about: for a rejected commit, the ids that are gone. */
  readonly ids?: AttachmentId[];
}
