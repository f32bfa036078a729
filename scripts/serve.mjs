// A small static file server for the demo and the browser tests: loopback only, correct MIME
// types (application/wasm matters for streaming compilation), no caching.
//   node scripts/serve.mjs [--port 8080] [/prefix=dir ...]     (default: /=www /dist=dist)
import { createServer } from "node:http";
import { readFile, stat } from "node:fs/promises";
import { extname, join, normalize, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const TYPES = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json",
  ".webmanifest": "application/manifest+json",
  ".wasm": "application/wasm",
  ".png": "image/png",
  ".svg": "image/svg+xml",
  ".ico": "image/x-icon",
  ".ts": "text/plain; charset=utf-8",
};

/** Serves `mounts` ({ "/prefix": "dir" }, longest prefix wins) on 127.0.0.1:`port` (0: any free port). */
export function serve({ port = 0, mounts }) {
  const table = Object.entries(mounts)
    .map(([prefix, dir]) => [prefix.replace(/\/$/, ""), resolve(dir)])
    .sort((a, b) => b[0].length - a[0].length);
  const server = createServer(async (request, response) => {
    const path = decodeURIComponent(new URL(request.url, "http://x").pathname);
    const mount = table.find(([prefix]) => path === prefix || path.startsWith(prefix + "/"));
    if (!mount) return notFound(response);
    let file = normalize(join(mount[1], path.slice(mount[0].length)));
    if (!file.startsWith(mount[1])) return notFound(response);
    try {
      if ((await stat(file)).isDirectory()) file = join(file, "index.html");
      const body = await readFile(file);
      response.writeHead(200, { "content-type": TYPES[extname(file)] ?? "application/octet-stream", "cache-control": "no-store" });
      response.end(body);
    } catch {
      notFound(response);
    }
  });
  return new Promise((ready) => server.listen(port, "127.0.0.1", () => ready(server)));
}

function notFound(response) {
  response.writeHead(404, { "content-type": "text/plain" });
  response.end("not found");
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  let port = 8080;
  const mounts = {};
  for (let i = 0; i < args.length; i++) {
    if (args[i] === "--port") port = Number(args[++i]);
    else {
      const [prefix, dir] = args[i].split("=");
      mounts[prefix] = dir;
    }
  }
  if (Object.keys(mounts).length === 0) Object.assign(mounts, { "/": "www", "/dist": "dist" });
  const server = await serve({ port, mounts });
  console.log(`web-attachments demo: http://127.0.0.1:${server.address().port}/`);
}
