// Standard base64 (RFC 4648 §4) to and from bytes, strictly: no URL alphabet, no whitespace. Pure.
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

export function encodeBase64(bytes: Uint8Array): string {
  let binary = "";
  // In chunks: spreading a large array into fromCharCode overflows the call stack.
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(binary);
}

/** null when the text is not standard base64 (padding optional). */
export function decodeBase64(text: string): Uint8Array | null {
  const binary = decodeBase64Binary(text);
  return binary === null ? null : binaryBytes(binary);
}

/** The decoded bytes as char codes 0–255 (what atob gives); null when the text is not standard base64. */
export function decodeBase64Binary(text: string): string | null {
  if (!BASE64.test(text) || text.length % 4 === 1) return null;
  try {
    return atob(text);
  } catch {
    return null;
  }
}

/** A plain loop: `Uint8Array.from` with a mapping callback cost ~0.3 ms per payment header in workerd. */
export function binaryBytes(binary: string): Uint8Array {
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}
