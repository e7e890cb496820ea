// Well-known accounts of anvil's default test mnemonic ("test test … junk"). Test keys only, never real funds.
import { privateKeyToAccount } from "viem/accounts";

export const DEPLOYER = privateKeyToAccount("0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80");
export const PAYER_PRIVATE_KEY = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d" as const;
export const PAYER = privateKeyToAccount(PAYER_PRIVATE_KEY);
export const FACILITATOR_PRIVATE_KEY = "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a" as const;
export const FACILITATOR_SIGNER = privateKeyToAccount(FACILITATOR_PRIVATE_KEY);
/** The local stack's second facilitator settles with its own key (anvil's sixth account). */
export const FACILITATOR_TWO_PRIVATE_KEY = "0x8b3a350cf5c34c9194ca85829a2df0ec3153be0318b5e2d3348e872092edffba" as const;
/** The seller: payTo of the demo rules. */
export const SELLER = privateKeyToAccount("0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6");
/** A second payee, for rules that route money elsewhere. */
export const SELLER_TWO = privateKeyToAccount("0x47e179ec197488593b187f80a00eb0da91f1b9d0b13f8733639f19c30a34926a");
/** The gateway's batch-settlement receiverAuthorizer (CHANNEL_AUTHORIZER_KEY): signs channel claims; needs no ETH. */
export const CHANNEL_AUTHORIZER_PRIVATE_KEY = "0x2a871d0798f97d79848a013d4936a73bf4cc922c825d33c1cf7073dff6d409c6" as const;
export const CHANNEL_AUTHORIZER = privateKeyToAccount(CHANNEL_AUTHORIZER_PRIVATE_KEY);
