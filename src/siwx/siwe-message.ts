// EIP-4361 (Sign-In with Ethereum) message text, rebuilt from a proof's fields exactly as EIP-4361 clients
// lay it out, so the signature can be checked against what the wallet showed. Pure.
import type { SiwxProof } from "./siwx-proof.js";

export function buildSiweMessage(proof: SiwxProof, chainReference: string): string {
  const header = `${proof.domain} wants you to sign in with your Ethereum account:\n${proof.address}`;
  const fields = [
    `URI: ${proof.uri}`,
    `Version: ${proof.version}`,
    `Chain ID: ${chainReference}`,
    `Nonce: ${proof.nonce}`,
    `Issued At: ${proof.issuedAt}`,
  ];
  if (proof.expirationTime) fields.push(`Expiration Time: ${proof.expirationTime}`);
  if (proof.notBefore) fields.push(`Not Before: ${proof.notBefore}`);
  if (proof.requestId !== undefined) fields.push(`Request ID: ${proof.requestId}`);
  if (proof.resources) fields.push(["Resources:", ...proof.resources.map((resource) => `- ${resource}`)].join("\n"));
  // EIP-4361: an empty line after the address, then the optional statement followed by an empty line.
  const preamble = proof.statement === undefined ? `${header}\n\n` : `${header}\n\n${proof.statement}\n`;
  return `${preamble}\n${fields.join("\n")}`;
}
