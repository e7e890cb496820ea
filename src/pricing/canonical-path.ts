// Reduces a request path to the segments rules are matched against. Pure.
//
// Matching must not be bypassable by spelling one resource several ways, so the canonical form is the
// *most collapsed* reading any origin might give the path: percent-decoding repeated (double-encoded
// `%252F` included), `\` read as `/`, empty segments (`//`, trailing `/`) dropped, `;params` dropped,
// `.`/`..` resolved after decoding, and letters lower-cased. A request that is paid under some reading is
// paid; the path forwarded to the origin is left as the client sent it.

export type CanonicalPath = { ok: true; segments: string[] } | { ok: false; reason: string };

/** Decoding rounds before a still-encoded path is refused as an evasion attempt. */
const MAX_DECODE_ROUNDS = 3;

export function canonicalizePath(pathname: string): CanonicalPath {
  let path = pathname;
  for (let round = 0; path.includes("%"); round++) {
    if (round === MAX_DECODE_ROUNDS) return { ok: false, reason: "too many levels of percent-encoding" };
    try {
      path = decodeURIComponent(path);
    } catch {
      return { ok: false, reason: "invalid percent-encoding" };
    }
  }
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is refused here
  if (/[\u0000-\u001f\u007f]/.test(path)) return { ok: false, reason: "control character in path" };
  const segments: string[] = [];
  for (const rawSegment of path.replaceAll("\\", "/").split("/")) {
    const segment = (rawSegment.split(";")[0] ?? "").toLowerCase();
    if (segment === "" || segment === ".") continue;
    if (segment === "..") {
      segments.pop();
      continue;
    }
    segments.push(segment);
  }
  return { ok: true, segments };
}
