// Node side, once per run: starts the fake origin and facilitator on 127.0.0.1 and stops them afterwards.
import type { TestProject } from "vitest/node";
import { startFakeFacilitator } from "../fixtures/fake-facilitator.js";
import { startFakeOrigin } from "../fixtures/fake-origin.js";

declare module "vitest" {
  export interface ProvidedContext {
    originUrl: string;
    facilitatorUrl: string;
    /** A loopback URL nothing listens on: "connection refused". */
    deadUrl: string;
  }
}

export default async function setup(project: TestProject) {
  const origin = await startFakeOrigin();
  const facilitator = await startFakeFacilitator();
  project.provide("originUrl", origin.url);
  project.provide("facilitatorUrl", facilitator.url);
  // Port 1 (tcpmux) is privileged and unused: reliably "connection refused", unlike a port the OS called free
  // a moment ago, which a parallel test's server may have taken since.
  project.provide("deadUrl", "http://127.0.0.1:1");
  return async () => {
    origin.server.closeAllConnections();
    facilitator.server.closeAllConnections();
    await Promise.all([new Promise((r) => origin.server.close(r)), new Promise((r) => facilitator.server.close(r))]);
  };
}
