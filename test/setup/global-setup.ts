// Node side, once per run: starts the fake origin and facilitator on 127.0.0.1 and stops them afterwards, and
// makes the CDP API keys (one Ed25519, one EC P-256) the gateway signs with and the fake facilitator checks.
import { generateKeyPairSync } from "node:crypto";
import type { TestProject } from "vitest/node";
import { startFakeFacilitator } from "../fixtures/fake-facilitator.js";
import { startFakeOrigin } from "../fixtures/fake-origin.js";

declare module "vitest" {
  export interface ProvidedContext {
    originUrl: string;
    facilitatorUrl: string;
    /** A loopback URL nothing listens on: "connection refused". */
    deadUrl: string;
    /** CDP key secrets in the forms CDP hands out: base64 Ed25519 (seed ‖ public key) and SEC1 PEM. */
    cdpEd25519Secret: string;
    cdpEcSecret: string;
  }
}

export const CDP_ED25519_KEY_ID = "organizations/test-org/apiKeys/ed25519-key";
export const CDP_EC_KEY_ID = "organizations/test-org/apiKeys/ec-key";

function cdpKeys() {
  const ed = generateKeyPairSync("ed25519");
  const edJwk = ed.privateKey.export({ format: "jwk" });
  const edSecret = Buffer.concat([Buffer.from(edJwk.d!, "base64url"), Buffer.from(edJwk.x!, "base64url")]).toString("base64");
  const ec = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const ecSecret = ec.privateKey.export({ type: "sec1", format: "pem" }).toString();
  return {
    secrets: { ed: edSecret, ec: ecSecret },
    publicKeys: {
      [CDP_ED25519_KEY_ID]: ed.publicKey.export({ type: "spki", format: "pem" }).toString(),
      [CDP_EC_KEY_ID]: ec.publicKey.export({ type: "spki", format: "pem" }).toString(),
    },
  };
}

export default async function setup(project: TestProject) {
  const keys = cdpKeys();
  const origin = await startFakeOrigin();
  const facilitator = await startFakeFacilitator({ cdpKeys: keys.publicKeys });
  project.provide("originUrl", origin.url);
  project.provide("facilitatorUrl", facilitator.url);
  // Port 1 (tcpmux) is privileged and unused: reliably "connection refused", unlike a port the OS called free
  // a moment ago, which a parallel test's server may have taken since.
  project.provide("deadUrl", "http://127.0.0.1:1");
  project.provide("cdpEd25519Secret", keys.secrets.ed);
  project.provide("cdpEcSecret", keys.secrets.ec);
  return async () => {
    origin.server.closeAllConnections();
    facilitator.server.closeAllConnections();
    await Promise.all([new Promise((r) => origin.server.close(r)), new Promise((r) => facilitator.server.close(r))]);
  };
}
