// Where an SPL payment must land: the payee's associated token account (ATA) for the mint, a program-derived
// address of the Associated Token program. Pure apart from WebCrypto's SHA-256.
import { decodeBase58, encodeBase58 } from "../../encoding/base58.js";
import { isOnEd25519Curve } from "../../encoding/ed25519.js";
import { concatBytes } from "../../encoding/bytes.js";

export const TOKEN_PROGRAM = "TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA";
export const TOKEN_2022_PROGRAM = "TokenzQdBNbLqP5VEhdkAS6EPFLC1PHnBqCXEpPxuEb";
const ASSOCIATED_TOKEN_PROGRAM = "ATokenGPvbdGVxr1b2hvZbsiqW5xWH25efTNsLJA8knL";

const PDA_MARKER = new TextEncoder().encode("ProgramDerivedAddress");

/** sha256(seeds ‖ bump ‖ program ‖ "ProgramDerivedAddress"), bump from 255 down; the first hash off the curve. */
async function findProgramAddress(seeds: Uint8Array[], program: Uint8Array): Promise<Uint8Array> {
  for (let bump = 255; bump >= 0; bump--) {
    const input = concatBytes([...seeds, Uint8Array.of(bump), program, PDA_MARKER]);
    const hash = new Uint8Array(await crypto.subtle.digest("SHA-256", input));
    if (!isOnEd25519Curve(hash)) return hash;
  }
  throw new Error("no program address for these seeds");
}

/** The ATA of `owner` for `mint` under `tokenProgram` (all base58). */
export async function associatedTokenAddress(owner: string, mint: string, tokenProgram: string): Promise<string> {
  const [ownerKey, mintKey, programKey, ataProgram] = [owner, mint, tokenProgram, ASSOCIATED_TOKEN_PROGRAM].map(decodeBase58);
  if (ownerKey?.length !== 32 || mintKey?.length !== 32 || programKey?.length !== 32 || ataProgram?.length !== 32) {
    throw new Error("associatedTokenAddress: not 32-byte base58 keys");
  }
  return encodeBase58(await findProgramAddress([ownerKey, programKey, mintKey], ataProgram));
}
