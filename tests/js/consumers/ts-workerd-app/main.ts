// A strict TypeScript consumer built for Cloudflare workerd (`customConditions: ["workerd"]`, as
// Workers tooling resolves): the workerd entry's types declare the Durable Object store.
import { DurableObjectAttachmentStore, type DurableObjectStorageLike, type SessionScopedAttachmentStore } from "web-attachments";

/** A Durable Object using the store over its storage. */
export class AttachmentsObject {
  readonly store: DurableObjectAttachmentStore;
  constructor(ctx: { storage: DurableObjectStorageLike }) {
    this.store = new DurableObjectAttachmentStore(ctx.storage, { prefix: "agent/" });
  }
  async committed(sessionId: string): Promise<string[]> {
    const session: SessionScopedAttachmentStore = this.store.session(sessionId);
    return session.commit({ savedAt: Date.now() });
  }
  async serve(id: string): Promise<Response> {
    const { meta, bytes } = await this.store.get(id);
    return new Response(bytes, { headers: { "content-type": meta.mediaType } });
  }
}
