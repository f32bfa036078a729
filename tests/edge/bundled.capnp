# The example worker bundled from the installed tarball the way Workers tooling does it (esbuild
# with the `workerd` condition, .wasm left as a module): proves the exports map's workerd entry.
using Workerd = import "/workerd/workerd.capnp";

const config :Workerd.Config = (
  services = [ (name = "main", worker = .bundled), (name = "storage", disk = (writable = true)) ],
  sockets = [ (name = "http", http = (), service = "main") ],
);

const bundled :Workerd.Worker = (
  modules = [
    (name = "worker.js", esModule = embed "../../target/edge-tests/consumer/bundle/worker.js"),
    (name = "web_attachments_bg.wasm", wasm = embed "../../target/edge-tests/consumer/node_modules/web-attachments/dist/wasm-workerd/web_attachments_bg.wasm"),
  ],
  compatibilityDate = "2025-01-01",
  durableObjectNamespaces = [ (className = "Attachments", uniqueKey = "web-attachments-bundled", enableSql = true) ],
  durableObjectStorage = (localDisk = "storage"),
  bindings = [ (name = "ATTACHMENTS", durableObjectNamespace = "Attachments") ],
);
