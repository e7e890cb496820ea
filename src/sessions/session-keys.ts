// The gateway's session secrets (env SESSION_KEYS): sign session tokens and SIWX nonces. Rotation: the
// first key signs; every listed key still verifies, so a key can be retired once its tokens have expired.
import * as z from "zod";

export interface SessionKey {
  kid: string;
  secret: Uint8Array;
}

export interface SessionKeys {
  /** Signs new tokens and nonces. */
  signing: SessionKey;
  byKid: ReadonlyMap<string, SessionKey>;
}

const KID = /^[A-Za-z0-9._-]{1,64}$/;
/** Below this a secret is guessable offline from one token. */
const MIN_SECRET_CHARS = 32;

/** `kid:secret[,kid:secret…]`, newest first. */
export const SessionKeysSchema = z.string().transform((value, ctx): SessionKeys => {
  const keys: SessionKey[] = [];
  for (const entry of value.split(",")) {
    const colon = entry.indexOf(":");
    const kid = entry.slice(0, colon).trim();
    const secret = entry.slice(colon + 1).trim();
    if (colon < 0 || !KID.test(kid)) {
      ctx.addIssue({ code: "custom", message: "expected kid:secret pairs, kid of [A-Za-z0-9._-]" });
      return z.NEVER;
    }
    if (secret.length < MIN_SECRET_CHARS) {
      ctx.addIssue({ code: "custom", message: `the secret of key "${kid}" is shorter than ${MIN_SECRET_CHARS} characters` });
      return z.NEVER;
    }
    if (keys.some((key) => key.kid === kid)) {
      ctx.addIssue({ code: "custom", message: `key id "${kid}" is listed twice` });
      return z.NEVER;
    }
    keys.push({ kid, secret: new TextEncoder().encode(secret) });
  }
  return { signing: keys[0]!, byKid: new Map(keys.map((key) => [key.kid, key])) };
});
