// Base58 (Bitcoin alphabet), as Solana writes addresses and signatures. Pure.
const ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
const DIGIT = new Map([...ALPHABET].map((char, i) => [char, i]));

/** null when the text is not base58. */
export function decodeBase58(text: string): Uint8Array | null {
  if (text.length === 0) return null;
  const bytes: number[] = [];
  for (const char of text) {
    let carry = DIGIT.get(char);
    if (carry === undefined) return null;
    for (let i = 0; i < bytes.length; i++) {
      carry += bytes[i]! * 58;
      bytes[i] = carry & 0xff;
      carry >>= 8;
    }
    for (; carry > 0; carry >>= 8) bytes.push(carry & 0xff);
  }
  // Each leading "1" is a leading zero byte.
  for (let i = 0; i < text.length && text[i] === "1"; i++) bytes.push(0);
  return Uint8Array.from(bytes.reverse());
}

export function encodeBase58(bytes: Uint8Array): string {
  const digits: number[] = [];
  for (const byte of bytes) {
    let carry = byte;
    for (let i = 0; i < digits.length; i++) {
      carry += digits[i]! << 8;
      digits[i] = carry % 58;
      carry = Math.floor(carry / 58);
    }
    for (; carry > 0; carry = Math.floor(carry / 58)) digits.push(carry % 58);
  }
  let leadingZeros = "";
  for (let i = 0; i < bytes.length && bytes[i] === 0; i++) leadingZeros += "1";
  return (
    leadingZeros +
    digits
      .reverse()
      .map((d) => ALPHABET[d])
      .join("")
  );
}
