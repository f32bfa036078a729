// Seeded incompressible bytes, the same in the page (lab.js) and in the runner (run.mjs), which
// finds them in an engine's files to damage stored values and nothing else.

/** `length` bytes of a seeded generator (xorshift): incompressible, and the same again for a re-put. */
export function seededBytes(length, seed) {
  const bytes = new Uint8Array(length);
  const words = new Uint32Array(bytes.buffer, 0, length >> 2);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < words.length; i++) {
    x ^= x << 13; x ^= x >>> 17; x ^= x << 5;
    words[i] = x >>> 0;
  }
  return bytes;
}
