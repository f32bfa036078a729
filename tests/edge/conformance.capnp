# The conformance suite inside real workerd (used by tests/edge/run.mjs, which sets the socket
# and the storage directory on the command line).
using Workerd = import "/workerd/workerd.capnp";

const config :Workerd.Config = (
  services = [
    (name = "main", worker = .conformanceWorker),
    (name = "storage", disk = (writable = true)),
  ],
  sockets = [ (name = "http", http = (), service = "main") ],
);

const conformanceWorker :Workerd.Worker = (
  modules = [
    (name = "worker.js", esModule = embed "conformance-worker.js"),
    (name = "web-attachments", esModule = embed "../../target/dist-testing/workerd.js"),
    (name = "api-workerd.js", esModule = embed "../../target/dist-testing/api-workerd.js"),
    (name = "errors.js", esModule = embed "../../target/dist-testing/errors.js"),
    (name = "wasm-workerd/web_attachments.js", esModule = embed "../../target/dist-testing/wasm-workerd/web_attachments.js"),
    (name = "wasm-workerd/web_attachments_bg.wasm", wasm = embed "../../target/dist-testing/wasm-workerd/web_attachments_bg.wasm"),
  ],
  compatibilityDate = "2025-01-01",
  # For ctx.storage.sql.setMaxPageCountForTest (a real SQLITE_FULL); workerd runs with --experimental.
  compatibilityFlags = ["experimental"],
  durableObjectNamespaces = [ (className = "Conformance", uniqueKey = "web-attachments-conformance", enableSql = true) ],
  durableObjectStorage = (localDisk = "storage"),
  bindings = [ (name = "CONFORMANCE", durableObjectNamespace = "Conformance") ],
);
