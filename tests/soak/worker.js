// The soak's dedicated worker: runs one actor when the page says so, and sends back its log.
import * as api from "/dist/index.js";
import { act } from "./actor.js";

self.onmessage = async ({ data }) => {
  try {
    self.postMessage({ log: await act({ api, ...data }) });
  } catch (error) {
    self.postMessage({ error: `${error?.stack ?? error}` });
  }
};
self.postMessage({ ready: true });
