// An edge attachment service on Cloudflare workerd: every request goes to one Durable Object,
// whose storage holds the attachments (chunked), the metadata and the manifest.
import { DurableObjectAttachmentStore } from "web-attachments";
import { handleAttachmentRequest } from "./http-api.js";

export class Attachments {
  constructor(ctx) {
    this.store = new DurableObjectAttachmentStore(ctx.storage);
  }

  fetch(request) {
    return handleAttachmentRequest(request, this.store);
  }
}

export default {
  fetch(request, env) {
    return env.ATTACHMENTS.get(env.ATTACHMENTS.idFromName("attachments")).fetch(request);
  },
};
