// Session tokens with 1 / 1,000 / 100,000 wallets holding sessions. Each wallet is its own WalletSession Durable
// Object, seeded through the admin API's operator grant; the timed requests take turns with the bare Worker and
// each names a different wallet (a stride prime to the count), so at large counts every request meets an object
// that has been idle since it was seeded, as a real spread of buyers would. Tokens are minted here with the local
// stack's session secret, as the gateway would mint them after a sign-in.
import { decodeJwt } from "jose";
import { SessionKeysSchema } from "../src/sessions/session-keys.js";
import { issueSessionToken } from "../src/sessions/session-token.js";
import { walletKey } from "../src/sessions/wallet-key.js";
import { DEV_SESSION_KEYS, type RunningStack } from "../stack/start-stack.js";
import { measureInterleaved, type Stats } from "./measure.js";

export interface SessionsFigure {
  wallets: number;
  /** Seeding this size's new wallets through the admin API (16 at a time), ms per wallet. */
  seedMsPerWallet: number;
  bare: Stats;
  token: Stats;
}

const SEED_CONCURRENCY = 16;
const STRIDE = 7919;

/** A synthetic wallet address per index: sessions are keyed by address alone, nothing is signed with it. */
const walletAddress = (index: number) => `0x5e55${index.toString(16).padStart(36, "0")}`;

export async function measureSessionsScale(options: {
  stack: RunningStack;
  bareUrl: string;
  /** A path under the session rule, and a token the gateway issued for it (its audience and scope are reused). */
  sessionUrl: string;
  issuedToken: string;
  sizes: number[];
  rounds: number;
}): Promise<SessionsFigure[]> {
  const { stack, sizes, rounds } = options;
  const { aud, scope } = decodeJwt(options.issuedToken) as { aud: string; scope: string };
  const keys = SessionKeysSchema.parse(DEV_SESSION_KEYS);
  const network = stack.info.network;
  const tokenFor = (index: number) =>
    issueSessionToken({
      keys,
      audience: aud,
      scope,
      wallet: walletKey(network, walletAddress(index)),
      nowSeconds: Math.floor(Date.now() / 1000),
      expiresAtSeconds: Math.floor(Date.now() / 1000) + 3600,
    });

  const figures: SessionsFigure[] = [];
  let seeded = 0;
  for (const wallets of sizes) {
    const seedStart = performance.now();
    const added = wallets - seeded;
    await seed(stack, scope, seeded, wallets);
    const seedMsPerWallet = added > 0 ? (performance.now() - seedStart) / added : 0;
    seeded = Math.max(seeded, wallets);

    const warmUp = 20;
    const tokens: string[] = [];
    for (let k = 0; k < rounds + warmUp; k++) tokens.push(await tokenFor((k * STRIDE) % wallets));
    let next = 0;
    const [bare, token] = await measureInterleaved(
      [
        { name: "bare", once: () => fetch(`${options.bareUrl}/api/health`), expectStatus: 200 },
        {
          name: `token, ${wallets} wallets`,
          once: () => fetch(options.sessionUrl, { headers: { "X402-SESSION": tokens[next++]! } }),
          expectStatus: 200,
        },
      ],
      rounds,
      warmUp,
    );
    figures.push({ wallets, seedMsPerWallet, bare: bare!, token: token! });
  }
  return figures;
}

/** Grants wallets [from, to) a session in `scope` through the admin API, as an operator would. */
async function seed(stack: RunningStack, scope: string, from: number, to: number): Promise<void> {
  const { gateway, admin, network } = stack.info;
  let index = from;
  const worker = async () => {
    while (index < to) {
      const i = index++;
      const body = { wallet: `${network}:${walletAddress(i)}`, scope, requests: 1000, ttlSeconds: 3600, reference: `bench-${i}` };
      const grant = () =>
        fetch(`${gateway}${admin.prefix}/sessions/grant`, {
          method: "POST",
          headers: { Authorization: `Bearer ${admin.token}`, "Content-Type": "application/json" },
          body: JSON.stringify(body),
        });
      let response = await grant();
      // A grant is idempotent per reference: one the local runtime dropped (503) is simply sent again.
      for (let retry = 0; retry < 3 && response.status === 503; retry++) response = await grant();
      if (response.status !== 200) throw new Error(`seeding wallet ${i}: ${response.status} ${await response.text()}`);
    }
  };
  await Promise.all(Array.from({ length: SEED_CONCURRENCY }, worker));
}
