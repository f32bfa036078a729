// The one setting Vite needs for module workers that import the package: Vite bundles workers as
// `iife` by default, which cannot hold the entry's top-level await (INVALID_TLA_FORMAT).
export default { base: "./", build: { outDir: "dist", emptyOutDir: true }, worker: { format: "es" } };
