// `exact` on Solana (specs/schemes/exact/scheme_exact_svm.md): the client sends a partially signed transaction
// whose fee payer is the facilitator. Checked here as the facilitator will, short of simulating it.
import * as z from "zod";
import { decodeBase58, encodeBase58 } from "../encoding/base58.js";
import { decodeBase64 } from "../encoding/base64.js";
import { verifyEd25519 } from "../encoding/ed25519.js";
import type { PaymentRequirements } from "../x402/schemas.js";
import type { PluginResult, SchemePlugin } from "./scheme-plugin.js";
import { decodeSolanaTransaction, MAX_TRANSACTION_BYTES, type SolanaTransaction } from "./svm/solana-transaction.js";
import { associatedTokenAddress, TOKEN_2022_PROGRAM, TOKEN_PROGRAM } from "./svm/token-account.js";

const COMPUTE_BUDGET_PROGRAM = "ComputeBudget111111111111111111111111111111";
const MEMO_PROGRAM = "MemoSq4gqABAXKb96qnH8TysNcWxMyWCqXgDLGmfcHr";
const LIGHTHOUSE_PROGRAM = "L2TExMFKdjpN9kozasaurPirfHy9P8sbXoAN1qA3S95";
/** The facilitator pays the fee, so it caps the priority fee it accepts (µlamports per compute unit). */
const MAX_COMPUTE_UNIT_PRICE = 5_000_000n;
const MAX_MEMO_BYTES = 256;
/**
 * The first instruction must be a compute-budget one, so no durable nonce (which must come first) can keep the
 * transaction alive: its blockhash expires after ~150 slots (about a minute). The replay lock outlives that.
 */
const REPLAY_WINDOW_SECONDS = 300;
const ORDINALS = ["fourth", "fifth", "sixth", "seventh"];

const SvmPayloadSchema = z.object({
  transaction: z
    .string()
    .min(1)
    .max(Math.ceil(MAX_TRANSACTION_BYTES / 3) * 4),
});
const Base58Key = z.string().refine((text) => parseSolanaAddress(text) !== undefined, "not a base58 Solana address");
const SvmExtraSchema = z
  .object({
    feePayer: Base58Key.optional(),
    memo: z
      .string()
      .refine((m) => new TextEncoder().encode(m).length <= MAX_MEMO_BYTES)
      .optional(),
  })
  .loose();

export const exactSvmScheme: SchemePlugin = {
  scheme: "exact",
  namespace: "solana",

  parseAddress(address) {
    const parsed = parseSolanaAddress(address);
    return parsed ? { ok: true, value: parsed } : { ok: false, reason: `"${address}" is not a Solana address (32 bytes, base58)` };
  },

  buildExtra(_asset, configured) {
    if (configured === undefined) return { ok: true, value: undefined };
    const parsed = SvmExtraSchema.safeParse(configured);
    if (!parsed.success)
      return {
        ok: false,
        reason: `extra: ${parsed.error.issues[0]?.message ?? "invalid"} (feePayer: a Solana address; memo: ≤ ${MAX_MEMO_BYTES} bytes)`,
      };
    return { ok: true, value: parsed.data };
  },

  /** A configured feePayer wins; otherwise the facilitator's own, from its `/supported` (cached there). */
  async completeOffer(offer, facilitator) {
    if (typeof offer.extra?.feePayer === "string") return { ok: true, value: offer };
    const kinds = await facilitator.supportedKinds();
    const kind = kinds.find(
      (k) => k.x402Version === 2 && k.scheme === offer.scheme && k.network === offer.network && typeof k.extra?.feePayer === "string",
    );
    const feePayer = kind && parseSolanaAddress(String(kind.extra!.feePayer));
    if (!feePayer) return { ok: false, reason: `the facilitator lists no ${offer.scheme} payments with a feePayer on ${offer.network}` };
    return { ok: true, value: { ...offer, extra: { ...offer.extra, feePayer } } };
  },

  async checkPayload(payload, requirements, context) {
    const parsed = SvmPayloadSchema.safeParse(payload.payload);
    if (!parsed.success) return { ok: false, reason: "invalid_payload" };
    const transaction = decodeTransactionText(parsed.data.transaction);
    if (!transaction) return { ok: false, reason: "invalid_exact_svm_payload_transaction_could_not_be_decoded" };
    const feePayer = requirements.extra?.feePayer;
    if (typeof feePayer !== "string") return { ok: false, reason: "invalid_exact_svm_payload_missing_fee_payer" };

    const layout = await checkLayout(transaction, requirements, feePayer);
    if (!layout.ok) return layout;
    // Slot 0 is the facilitator's, still empty; every other required signature must be there and valid.
    for (let i = 1; i < transaction.numRequiredSignatures; i++) {
      if (!(await verifyEd25519(transaction.staticAccounts[i]!, transaction.signatures[i]!, transaction.messageBytes))) {
        return { ok: false, reason: "invalid_exact_svm_payload_signature_invalid" };
      }
    }
    // Asked last, once everything free to check passed: it is a round trip to the RPC.
    const blockhash = await context.blockhashStatus(requirements.network, encodeBase58(transaction.recentBlockhash));
    if (blockhash?.valid === false) return { ok: false, reason: "invalid_exact_svm_payload_blockhash_expired" };
    // Valid, but perhaps not through the origin's run: then the money moves first (docs/x402.md "Validity window").
    const settleBy = blockhash?.expiresAtSeconds;
    const settleBeforeOrigin = blockhash !== undefined && settleBy === undefined;
    // The message, not the wire bytes: the empty fee-payer slot could be filled with anything.
    const messageHash = new Uint8Array(await crypto.subtle.digest("SHA-256", transaction.messageBytes));
    return {
      ok: true,
      value: {
        ...(settleBeforeOrigin ? { settleBeforeOrigin } : {}),
        ...(settleBy !== undefined ? { settleBySeconds: settleBy } : {}),
        payer: layout.value,
        paymentKey: `${requirements.network}:${encodeBase58(messageHash)}`,
        // The message names its transfer authority, so one paymentKey always has one payer.
        lockGroup: `${requirements.network}:${layout.value}`,
        expiresAtSeconds: context.nowSeconds + REPLAY_WINDOW_SECONDS,
      },
    };
  },
};

/** Instruction by instruction, as the facilitator's verify reads them; returns the payer (the transfer's authority). */
async function checkLayout(tx: SolanaTransaction, requirements: PaymentRequirements, feePayer: string): Promise<PluginResult<string>> {
  const fail = (reason: string): PluginResult<string> => ({ ok: false, reason: `invalid_exact_svm_${reason}` });
  // Lookup tables would hide accounts behind on-chain state; the exact client never uses them.
  if (tx.lookupCount > 0) return fail("payload_address_lookup_tables_unsupported");
  const key = (index: number): string | undefined =>
    index < tx.staticAccounts.length ? encodeBase58(tx.staticAccounts[index]!) : undefined;
  const instructions = tx.instructions.map((ix) => ({
    program: key(ix.programIdIndex),
    accounts: ix.accountIndexes.map(key),
    data: ix.data,
  }));
  if (instructions.some((ix) => ix.program === undefined || ix.accounts.includes(undefined)))
    return fail("payload_transaction_could_not_be_decoded");
  if (key(0) !== feePayer) return fail("fee_payer_mismatch");
  if (instructions.length < 3 || instructions.length > 7) return fail("payload_transaction_instructions_length");

  const [limit, price, transfer] = instructions as [Ix, Ix, Ix];
  if (limit.program !== COMPUTE_BUDGET_PROGRAM || limit.data.length !== 5 || limit.data[0] !== 2)
    return fail("payload_transaction_instructions_compute_limit_instruction");
  if (price.program !== COMPUTE_BUDGET_PROGRAM || price.data.length !== 9 || price.data[0] !== 3)
    return fail("payload_transaction_instructions_compute_price_instruction");
  if (readU64(price.data, 1) > MAX_COMPUTE_UNIT_PRICE) return fail("payload_transaction_instructions_compute_price_instruction_too_high");

  const isToken = transfer.program === TOKEN_PROGRAM || transfer.program === TOKEN_2022_PROGRAM;
  if (!isToken || transfer.data.length !== 10 || transfer.data[0] !== 12 || transfer.accounts.length < 4)
    return fail("payload_no_transfer_instruction");
  const [, mint, destination, authority] = transfer.accounts as string[];
  // The facilitator signs as fee payer; it must not also be moving or spending anything.
  if (authority === feePayer || instructions.some((ix) => ix.accounts.includes(feePayer)))
    return fail("payload_transaction_fee_payer_transferring_funds");
  if (mint !== requirements.asset) return fail("payload_mint_mismatch");
  if (destination !== (await associatedTokenAddress(requirements.payTo, requirements.asset, transfer.program!)))
    return fail("payload_recipient_mismatch");
  if (readU64(transfer.data, 1) !== BigInt(requirements.amount)) return fail("payload_amount_mismatch");

  const optional = instructions.slice(3);
  const unknown = optional.findIndex((ix) => ix.program !== MEMO_PROGRAM && ix.program !== LIGHTHOUSE_PROGRAM);
  if (unknown >= 0) return fail(`payload_unknown_${ORDINALS[unknown]}_instruction`);
  const memo = requirements.extra?.memo;
  if (typeof memo === "string") {
    const memos = optional.filter((ix) => ix.program === MEMO_PROGRAM);
    if (memos.length !== 1) return fail("payload_memo_count");
    if (new TextDecoder().decode(memos[0]!.data) !== memo) return fail("payload_memo_mismatch");
  }
  return { ok: true, value: authority! };
}

type Ix = { program: string | undefined; accounts: (string | undefined)[]; data: Uint8Array };

function readU64(data: Uint8Array, offset: number): bigint {
  let value = 0n;
  for (let i = 7; i >= 0; i--) value = (value << 8n) | BigInt(data[offset + i]!);
  return value;
}

/** Padded base64 only, as clients send it. */
function decodeTransactionText(text: string): SolanaTransaction | null {
  const bytes = text.length % 4 === 0 ? decodeBase64(text) : null;
  return bytes && decodeSolanaTransaction(bytes);
}

/** The canonical base58 text of a 32-byte key, or undefined. */
function parseSolanaAddress(text: string): string | undefined {
  const bytes = decodeBase58(text);
  return bytes?.length === 32 && encodeBase58(bytes) === text ? text : undefined;
}
