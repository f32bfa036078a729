# Run from the repository root after `npm run build`:
#   npx workerd serve examples/workerd/config.capnp
# Serves http://127.0.0.1:8787; Durable Object storage lives on disk in examples/workerd/storage/.
using Workerd = import "/workerd/workerd.capnp";

const config :Workerd.Config = (
  services = [
    (name = "main", worker = .attachmentsWorker),
    (name = "storage", disk = (path = "examples/workerd/storage", writable = true)),
  ],
  sockets = [ (name = "http", address = "127.0.0.1:8787", http = (), service = "main") ],
);

const attachmentsWorker :Workerd.Worker = (
  modules = [
    (name = "worker.js", esModule = embed "worker.js"),
    (name = "http-api.js", esModule = embed "../http-api.js"),
    # The package, as its workerd entry and its files ("web-attachments" resolves to workerd.js).
    (name = "web-attachments", esModule = embed "../../dist/workerd.js"),
    (name = "api-workerd.js", esModule = embed "../../dist/api-workerd.js"),
    (name = "errors.js", esModule = embed "../../dist/errors.js"),
    (name = "wasm-workerd/web_attachments.js", esModule = embed "../../dist/wasm-workerd/web_attachments.js"),
    (name = "wasm-workerd/web_attachments_bg.wasm", wasm = embed "../../dist/wasm-workerd/web_attachments_bg.wasm"),
  ],
  compatibilityDate = "2025-01-01",
  durableObjectNamespaces = [ (className = "Attachments", uniqueKey = "web-attachments-example", enableSql = true) ],
  durableObjectStorage = (localDisk = "storage"),
  bindings = [ (name = "ATTACHMENTS", durableObjectNamespace = "Attachments") ],
);
