// Solana wire transactions, decoded just far enough to check an x402 `exact` payment: signatures, the signed
// message bytes, static account keys and compiled instructions (legacy and v0 messages). Pure.

export interface CompiledInstruction {
  programIdIndex: number;
  accountIndexes: number[];
  data: Uint8Array;
}

export interface SolanaTransaction {
  signatures: Uint8Array[];
  /** The exact bytes the signatures sign. */
  messageBytes: Uint8Array;
  version: "legacy" | 0;
  numRequiredSignatures: number;
  staticAccounts: Uint8Array[];
  recentBlockhash: Uint8Array;
  instructions: CompiledInstruction[];
  /** v0 address-table lookups (accounts not in the message itself). */
  lookupCount: number;
}

/** The largest transaction Solana accepts on the wire (IPv6 MTU minus headers). */
export const MAX_TRANSACTION_BYTES = 1232;

class Reader {
  offset = 0;
  constructor(readonly bytes: Uint8Array) {}

  byte(): number {
    if (this.offset >= this.bytes.length) throw new RangeError("truncated");
    return this.bytes[this.offset++]!;
  }

  take(length: number): Uint8Array {
    if (this.offset + length > this.bytes.length) throw new RangeError("truncated");
    const slice = this.bytes.subarray(this.offset, this.offset + length);
    this.offset += length;
    return slice;
  }

  /** compact-u16 ("shortvec"): 7 bits per byte, at most 3 bytes, no redundant trailing zero byte. */
  length(): number {
    let value = 0;
    for (let i = 0; i < 3; i++) {
      const byte = this.byte();
      value |= (byte & 0x7f) << (7 * i);
      if ((byte & 0x80) === 0) {
        if (i > 0 && byte === 0) throw new RangeError("non-canonical length");
        if (value > 0xffff) throw new RangeError("length out of range");
        return value;
      }
    }
    throw new RangeError("length too long");
  }
}

/** null when the bytes are not one well-formed transaction (trailing bytes included). */
export function decodeSolanaTransaction(bytes: Uint8Array): SolanaTransaction | null {
  if (bytes.length > MAX_TRANSACTION_BYTES) return null;
  try {
    const reader = new Reader(bytes);
    const signatures = Array.from({ length: reader.length() }, () => reader.take(64));
    const messageStart = reader.offset;
    const prefix = reader.bytes[reader.offset];
    let version: SolanaTransaction["version"] = "legacy";
    if (prefix !== undefined && prefix & 0x80) {
      if ((prefix & 0x7f) !== 0) return null;
      version = 0;
      reader.byte();
    }
    const numRequiredSignatures = reader.byte();
    reader.byte(); // read-only signed accounts
    reader.byte(); // read-only unsigned accounts
    const staticAccounts = Array.from({ length: reader.length() }, () => reader.take(32));
    const recentBlockhash = reader.take(32);
    const instructions = Array.from({ length: reader.length() }, () => ({
      programIdIndex: reader.byte(),
      accountIndexes: Array.from({ length: reader.length() }, () => reader.byte()),
      data: reader.take(reader.length()),
    }));
    let lookupCount = 0;
    if (version === 0) {
      lookupCount = reader.length();
      for (let i = 0; i < lookupCount; i++) {
        reader.take(32);
        reader.take(reader.length());
        reader.take(reader.length());
      }
    }
    if (reader.offset !== bytes.length) return null;
    if (signatures.length !== numRequiredSignatures || numRequiredSignatures === 0 || numRequiredSignatures > staticAccounts.length)
      return null;
    return {
      signatures,
      messageBytes: bytes.subarray(messageStart),
      version,
      numRequiredSignatures,
      staticAccounts,
      recentBlockhash,
      instructions,
      lookupCount,
    };
  } catch {
    return null;
  }
}
