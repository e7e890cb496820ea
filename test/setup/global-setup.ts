// Node side, once per run: starts the fake origin and facilitator on 127.0.0.1 and stops them afterwards.
import { createServer } from "node:net";
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

async function findClosedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  if (!address || typeof address === "string") throw new Error("no port");
  return address.port;
}

export default async function setup(project: TestProject) {
  const origin = await startFakeOrigin();
  const facilitator = await startFakeFacilitator();
  project.provide("originUrl", origin.url);
  project.provide("facilitatorUrl", facilitator.url);
  project.provide("deadUrl", `http://127.0.0.1:${await findClosedPort()}`);
  return async () => {
    origin.server.closeAllConnections();
    facilitator.server.closeAllConnections();
    await Promise.all([new Promise((r) => origin.server.close(r)), new Promise((r) => facilitator.server.close(r))]);
  };
}
