// The error class every rejection of web-attachments uses. It lives in plain JavaScript (wasm
// cannot subclass Error) and is imported by the wasm glue, so there is exactly one class.

/** The contract's error codes. */
export const ERROR_CODES = Object.freeze([
  "NotFound",
  "MissingMeta",
  "MetadataDecode",
  "ManifestRecordFailed",
  "QuotaExceeded",
  "InvalidInput",
  "Closed",
  "Backend",
  "Corrupt",
]);

/**
 * A failed web-attachments operation; `code` says why, `cause` holds the underlying value, and
 * `ids` (a rejected commit) the attachments that are gone.
 */
export class AttachmentStoreError extends Error {
  constructor(code, message, options) {
    super(message, options);
    this.name = "AttachmentStoreError";
    this.code = ERROR_CODES.includes(code) ? code : "Backend";
    if (options?.ids !== undefined) this.ids = options.ids;
  }
}

/** Called from wasm: builds the error with a cause and ids only when there are some. */
export function createAttachmentStoreError(code, message, cause, ids) {
  const options = {};
  if (cause !== undefined) options.cause = cause;
  if (ids !== undefined) options.ids = ids;
  return new AttachmentStoreError(code, message, options);
}
