// `npm run dev` as a newcomer runs it: their own origin and rules, state kept across restarts, --reset, progress
// while starting, one log line per request, and nothing left running after SIGTERM, SIGHUP or SIGINT to npm.
import { spawn, type ChildProcess } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { createServer as createNetServer } from "node:net";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PAYER, SELLER_TWO } from "../../stack/accounts.js";
import { createPayingFetch } from "../../stack/pay.js";
import type { StackInfo } from "../../stack/start-stack.js";
import { tempDir } from "../fixtures/temp-dir.js";

/** The local TestUSDC: the first contract anvil's deployer makes, so its address is the same on every start. */
const LOCAL_TOKEN = "0x5FbDB2315678afecb367f032d93F642f64180aa3";
const dir = tempDir("dev-command-");
const stateDir = join(dir, "state");
const stackFile = join(dir, "stack.json");
const rulesFile = join(dir, "my-rules.json");

let origin: Server;
let originUrl: string;
let basePort: number;

beforeAll(async () => {
  origin = createServer((req, res) => {
    res.setHeader("content-type", "application/json");
    res.end(JSON.stringify({ mine: true, path: req.url }));
  });
  await new Promise<void>((resolve) => origin.listen(0, "127.0.0.1", resolve));
  originUrl = `http://127.0.0.1:${(origin.address() as { port: number }).port}`;
  basePort = await findFreePortRun(4);
  writeFileSync(
    rulesFile,
    JSON.stringify({
      version: 1,
      assets: [
        { network: "eip155:31337", address: LOCAL_TOKEN, decimals: 6, name: "USD Coin", version: "2", symbol: "USDC", default: true },
      ],
      rules: [
        {
          id: "mine",
          methods: ["GET"],
          path: "/paid/:item",
          price: "$0.02",
          accepts: [{ network: "eip155:31337" }],
          payTo: SELLER_TWO.address,
        },
      ],
    }),
  );
});
afterAll(() => new Promise<void>((resolve) => origin.close(() => resolve())));

describe("npm run dev", () => {
  it("fronts your origin with your rules, keeps them across a restart, and --reset brings the demo back", async () => {
    const first = await startDev({ ORIGIN_URL: originUrl, RULES: rulesFile });
    // Progress while starting: each part with its time.
    for (const part of ["chain", "contracts", "facilitators", "seed", "gateway"])
      expect(first.output()).toMatch(new RegExp(`^  ${part}\\s+\\d+ ms$`, "m"));
    expect(first.output()).toContain(`rules        ${rulesFile}`);
    const info = first.info();
    const free = await fetch(`${info.gateway}/anything?x=1`);
    expect(await free.json()).toEqual({ mine: true, path: "/anything?x=1" });
    const challenge = await fetch(`${info.gateway}/paid/one`);
    expect(challenge.status).toBe(402);
    // Your rules, paid with the official client (TestUSDC is not one of its built-in assets: allowedAssets names it).
    const paid = await createPayingFetch(PAYER, { network: info.network, address: info.token.address })(`${info.gateway}/paid/one`);
    expect(paid.status).toBe(200);
    expect(await paid.json()).toEqual({ mine: true, path: "/paid/one" });
    // One JSON line per request in the dev output.
    await until(() => /"outcome":"settled"/.test(first.output()));
    const lines = first
      .output()
      .split("\n")
      .filter((line) => line.includes('{"event":"request"'))
      .map((line) => JSON.parse(line.slice(line.indexOf("{"))));
    expect(lines).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ path: "/anything", outcome: "free", status: 200 }),
        expect.objectContaining({ path: "/paid/one", rule: "mine", outcome: "payment_required", status: 402 }),
        expect.objectContaining({
          path: "/paid/one",
          rule: "mine",
          outcome: "settled",
          status: 200,
          payTo: SELLER_TWO.address,
          amount: "20000",
        }),
      ]),
    );
    await first.signal("SIGTERM");

    // No RULES this time: the state keeps the rules from the last run.
    const second = await startDev({ ORIGIN_URL: originUrl });
    expect(second.output()).toContain("rules        kept from the last run");
    expect((await fetch(`${second.info().gateway}/paid/one`)).status).toBe(402);
    await second.signal("SIGHUP");

    const third = await startDev({}, ["--", "--reset"]);
    expect(third.output()).toContain("rules        demo rules");
    expect((await fetch(`${third.info().gateway}/paid/one`)).status).toBe(404);
    expect((await fetch(`${third.info().gateway}/api/weather/paris`)).status).toBe(402);
    await third.signal("SIGINT");
  }, 240_000);

  it("refuses to start with a RULES file the gateway would refuse, listing the problems", async () => {
    const bad = join(dir, "bad.json");
    writeFileSync(bad, JSON.stringify({ rules: [{ id: "x", path: "/x", prise: "$1", accepts: [{ network: "eip155:31337" }] }] }));
    const child = spawn("npm", ["run", "dev"], {
      env: { ...process.env, PORT: String(basePort), STATE_DIR: stateDir, STACK_FILE: stackFile, RULES: bad },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    child.stdout!.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.stderr!.on("data", (chunk: Buffer) => (output += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.once("exit", resolve));
    expect(code).toBe(2);
    expect(output).toMatch(/RULES=.*bad\.json: \d+ problem\(s\), not started/);
    expect(output).toContain("prise");
  }, 60_000);
});

interface DevRun {
  output(): string;
  info(): StackInfo;
  /** Sends the signal to npm, then checks every part of the stack is gone and its ports are free. */
  signal(signal: NodeJS.Signals): Promise<void>;
}

async function startDev(env: Record<string, string>, extraArgs: string[] = []): Promise<DevRun> {
  const child: ChildProcess = spawn("npm", ["run", "dev", ...extraArgs], {
    env: { ...process.env, PORT: String(basePort), STATE_DIR: stateDir, STACK_FILE: stackFile, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout!.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  try {
    await until(() => output.includes("x402 gateway stack is up") || child.exitCode !== null, 120_000);
  } finally {
    if (!output.includes("x402 gateway stack is up")) child.kill("SIGINT");
  }
  expect(output).toContain("x402 gateway stack is up");
  const info = JSON.parse(readFileSync(stackFile, "utf8")) as StackInfo;
  return {
    output: () => output,
    info: () => info,
    async signal(signal) {
      child.kill(signal);
      await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 15_000))]);
      // The dev process itself may outlive npm by a moment (SIGHUP: it notices its parent is gone).
      await until(() => Object.values(info.pids).every((pid) => pid === undefined || !alive(pid)), 15_000);
      const left = Object.fromEntries(Object.entries(info.pids).filter(([, pid]) => pid !== undefined && alive(pid)));
      expect(left, `still running after ${signal}:\n${output.slice(-3000)}`).toEqual({});
      for (const port of [basePort, basePort + 1, basePort + 2]) expect(await isFree(port)).toBe(true);
    },
  };
}

function alive(pid: number): boolean {
  try {
    // The whole process group: wrangler's workerd children count too.
    process.kill(-pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function until(check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
}

function isFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createNetServer();
    server.once("error", () => resolve(false));
    server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
  });
}

/** A port where it and the next `count - 1` are free (the dev stack takes PORT … PORT+3). */
async function findFreePortRun(count: number): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = 20_000 + Math.floor(Math.random() * 30_000);
    const free = await Promise.all(Array.from({ length: count }, (_, i) => isFree(base + i)));
    if (free.every(Boolean)) return base;
  }
  throw new Error("no run of free ports");
}
