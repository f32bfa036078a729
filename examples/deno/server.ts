// The same attachment service on Deno, over the memory store (attachments live as long as the
// process). Run from the repository root after `npm run build`:
//   npx deno run --allow-net --allow-read --allow-env=PORT --config examples/deno/deno.json examples/deno/server.ts
// Serves http://127.0.0.1:8788 (PORT overrides the port).
import { MemoryAttachmentStore } from "web-attachments";
import { handleAttachmentRequest } from "../http-api.js";

const store = new MemoryAttachmentStore();
const port = Number(Deno.env.get("PORT") ?? 8788);

Deno.serve({ hostname: "127.0.0.1", port, onListen: ({ port }) => console.log(`web-attachments on Deno: http://127.0.0.1:${port}/`) }, (request) =>
  handleAttachmentRequest(request, store));
