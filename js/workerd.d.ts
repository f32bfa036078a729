/**
 * web-attachments for Cloudflare workerd (the `workerd` export condition): the whole API, plus the
 * store over a Durable Object's storage, which only this entry exports.
 */
import type { AttachmentManifest, AttachmentStore, SessionScopedAttachmentStore } from "./index.js";

export * from "./index.js";

/** Frees the wasm-side object early (optional: the garbage collector does it too). */
interface WasmOwned {
  free(): void;
}

/**
 * A durable store in a Cloudflare Durable Object's storage; bytes are chunked below the 2 MB value limit.
 *
 * Exported by the package's `workerd` entry only (the `workerd` export condition, which Workers
 * tooling sets): the browser, worker, Node and Deno entries load a wasm without its code, and
 * their types do not declare it.
 */
export interface DurableObjectAttachmentStore extends AttachmentStore, WasmOwned {}
export declare class DurableObjectAttachmentStore {
  /**
   * A store over `ctx.storage` of a SQLite-backed class; `prefix` keeps several stores apart in
   * one object. A KV-backed class's storage (values capped at 128 KiB) throws `InvalidInput` here.
   * A write that fills the object's storage (`SQLITE_FULL`) rolls back whole and rejects
   * `QuotaExceeded`, though workerd may reset the object and fail the request first.
   */
  constructor(storage: DurableObjectStorageLike, options?: { prefix?: string });
  /** The manifest in the same storage (the same object on every access). */
  readonly manifest: DurableObjectAttachmentManifest;
  /** The session-scoped view of `sessionId` (the same object on every call): intent and bytes are written in one storage transaction. */
  session(sessionId: string): SessionScopedAttachmentStore;
}

/** The manifest in a {@link DurableObjectAttachmentStore}'s storage (`workerd` entry only). */
export interface DurableObjectAttachmentManifest extends AttachmentManifest, WasmOwned {}
export declare class DurableObjectAttachmentManifest {
  private constructor();
}

/** The reads and writes of a Durable Object's storage (or one of its transactions) the store uses. */
export interface DurableObjectStorageOps {
  get(key: string): Promise<unknown>;
  put(key: string, value: unknown): Promise<void>;
  delete(keys: string[]): Promise<unknown>;
  list(options: { prefix: string }): Promise<Map<string, unknown>>;
}

/** A Durable Object's `ctx.storage`, as far as the store uses it. */
export interface DurableObjectStorageLike extends DurableObjectStorageOps {
  transaction<T>(closure: (txn: DurableObjectStorageOps) => Promise<T>): Promise<T>;
}
