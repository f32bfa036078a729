// A module worker of the Vite-built app: the package imported by name there too. The package's
// top-level await runs before this module's body: a message posted before `onmessage` is set
// would be lost, so the worker says when it listens.
import { IndexedDbAttachmentStore } from "web-attachments";

self.onmessage = async ({ data }) => {
  const store = await IndexedDbAttachmentStore.open("vite-consumer");
  const { bytes } = await store.get(data.id);
  self.postMessage(new TextDecoder().decode(bytes));
};
self.postMessage("listening");
