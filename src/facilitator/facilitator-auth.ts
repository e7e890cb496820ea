// The Authorization header of one facilitator call, from the facilitator's `auth` and the Worker's secrets.
import { GatewayFailure } from "../errors.js";
import { envValue } from "../gateway-config.js";
import { buildCdpJwt, importCdpKey } from "./cdp-jwt.js";
import type { FacilitatorAuth } from "./facilitator-config.js";

export type Authorize = (method: string, url: string) => Promise<string | undefined>;

/** A named secret that is unset is a configuration fault of this facilitator only (`config_invalid`). */
export function buildAuthorize(auth: FacilitatorAuth, secrets: object, facilitatorId: string, nowMs: () => number): Authorize {
  const secret = (name: string): string => {
    const value = envValue(secrets, name);
    if (typeof value !== "string" || value.length === 0) {
      throw new GatewayFailure({ kind: "config_invalid", detail: `facilitator ${facilitatorId}: secret ${name} is not set` });
    }
    return value;
  };
  switch (auth.kind) {
    case "none":
      return async () => undefined;
    case "bearer":
      return async () => `Bearer ${secret(auth.tokenSecret)}`;
    case "cdp-jwt":
      return async (method, url) => {
        const keyId = secret(auth.keyIdSecret);
        let signing: Awaited<ReturnType<typeof importCdpKey>>;
        try {
          signing = await importCdpKey(secret(auth.keySecret));
        } catch (cause) {
          throw new GatewayFailure(
            { kind: "config_invalid", detail: `facilitator ${facilitatorId}: ${auth.keySecret}: ${String(cause)}` },
            { cause },
          );
        }
        const jwt = await buildCdpJwt(signing, {
          keyId,
          method,
          url,
          nowSeconds: Math.floor(nowMs() / 1000),
          expiresInSeconds: auth.expiresInSeconds,
          audience: auth.audience,
        });
        return `Bearer ${jwt}`;
      };
  }
}
