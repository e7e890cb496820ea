// Sign-In With Solana message text, rebuilt from a proof's fields in the layout Solana wallets sign
// (the EIP-4361 layout with "Solana account"), so the Ed25519 signature can be checked. Pure.
import type { SiwxProof } from "./siwx-proof.js";

export function buildSiwsMessage(proof: SiwxProof, chainReference: string): string {
  const lines = [`${proof.domain} wants you to sign in with your Solana account:`, proof.address, ""];
  if (proof.statement) lines.push(proof.statement, "");
  lines.push(
    `URI: ${proof.uri}`,
    `Version: ${proof.version}`,
    `Chain ID: ${chainReference}`,
    `Nonce: ${proof.nonce}`,
    `Issued At: ${proof.issuedAt}`,
  );
  if (proof.expirationTime) lines.push(`Expiration Time: ${proof.expirationTime}`);
  if (proof.notBefore) lines.push(`Not Before: ${proof.notBefore}`);
  if (proof.requestId) lines.push(`Request ID: ${proof.requestId}`);
  if (proof.resources && proof.resources.length > 0) lines.push("Resources:", ...proof.resources.map((resource) => `- ${resource}`));
  return lines.join("\n");
}
