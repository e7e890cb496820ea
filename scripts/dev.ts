// `npm run dev [-- --reset]`: the whole local stack (chain + token, two facilitators, demo origin or yours, gateway
// under wrangler dev), described in .dev/stack.json for `npm run pay` and the CLI. KV and D1 survive restarts
// (an earlier `rules push` stays) unless --reset. SIGINT, SIGTERM and SIGHUP stop everything.
//   ORIGIN_URL=http://127.0.0.1:3000   front your API instead of the demo origin
//   RULES=path/to/rules.json           seed your rules (checked first) instead of the demo rules
//   PORT=8787                          the gateway; the facilitators take PORT+1 and PORT+2, the demo origin PORT+3
//   CHAIN_ID=84532                     the chain under Base Sepolia's id, so x402 V1 clients (which name networks) can pay
//   STATE_DIR=.dev/wrangler-state      where local KV/D1 live;  STACK_FILE=.dev/stack.json  where the stack is described
//   STACK_VERBOSE=1                    echo every process, not just the gateway's log lines
import { readFileSync, rmSync } from "node:fs";
import { resolve } from "node:path";
import { startStack, type RunningStack } from "../stack/start-stack.js";
import { checkRulesText } from "./rules-check.js";

const args = process.argv.slice(2);
const unknown = args.filter((arg) => arg !== "--reset");
if (unknown.length > 0) {
  console.error(`unknown argument ${unknown.join(" ")}; usage: npm run dev [-- --reset]`);
  process.exit(2);
}
const reset = args.includes("--reset");
const port = Number(process.env.PORT || 8787);
const stateDir = resolve(process.env.STATE_DIR || ".dev/wrangler-state");
const originUrl = process.env.ORIGIN_URL || undefined;
if (originUrl && !/^https?:\/\/[^/]+/.test(originUrl)) fail(`ORIGIN_URL=${originUrl}: expected an http(s) URL`);
const rules = process.env.RULES ? readRules(process.env.RULES) : undefined;

if (reset) {
  rmSync(stateDir, { recursive: true, force: true });
  console.log(`reset: removed ${stateDir}`);
}

let stack: RunningStack | undefined;
let stopping = false;
const stop = async (signal: string) => {
  if (stopping) return;
  stopping = true;
  console.log(`\n${signal}: stopping…`);
  await stack?.stop();
  process.exit(0);
};
// Handlers go in before anything starts, so a signal during start-up also leaves nothing running.
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) process.on(signal, () => void stop(signal));
// npm forwards SIGINT and SIGTERM only: a SIGHUP (or SIGKILL) to `npm run dev` kills npm and leaves this process
// with a new parent. Seeing that is the one way to stop then, rather than leave the stack running unowned.
const parentPid = process.ppid;
setInterval(() => process.ppid !== parentPid && void stop("parent exited"), 500).unref();

console.log(`starting the local stack (state: ${stateDir})`);
const startedAt = Date.now();
let last = 0;
try {
  stack = await startStack({
    gatewayPort: port,
    persistDir: stateDir,
    writeStackFile: process.env.STACK_FILE || true,
    echo: process.env.STACK_VERBOSE === "1",
    echoGateway: true,
    ports: { facilitatorA: port + 1, facilitatorB: port + 2, origin: port + 3 },
    seed: rules ? "always" : "if-absent",
    ...(rules ? { rules } : {}),
    ...(originUrl ? { originUrl } : {}),
    ...(process.env.CHAIN_ID ? { chainId: Number(process.env.CHAIN_ID) } : {}),
    onProgress: (part, ms) => {
      console.log(`  ${part.padEnd(20)} ${String(ms - last).padStart(6)} ms`);
      last = ms;
    },
  });
} catch (error) {
  console.error(`the stack did not start: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
}
if (stopping) await new Promise(() => {});
const { info, keptKv } = stack;
const rulesSource = rules
  ? process.env.RULES
  : keptKv.includes("price-rules")
    ? `kept from the last run (npm run dev -- --reset for the demo rules)`
    : "demo rules";
console.log(`
x402 gateway stack is up (${Date.now() - startedAt} ms)
  gateway      ${info.gateway}
  origin       ${info.origin}${originUrl ? " (yours)" : " (demo)"}
  rules        ${rulesSource}
  facilitators ${info.facilitators.map((f) => `${f.id} ${f.url}`).join("\n               ")}
  chain        ${info.rpcUrl} (${info.network})
  token        ${info.token.address} (${info.token.name} v${info.token.version}, ${info.token.decimals} decimals)
  test payer   ${info.payer.address}
${rules || originUrl ? "" : `  priced       ${info.examples.priced}\n  free         ${info.examples.free}\n`}
Pay one request:  npm run pay -- ${rules ? `${info.gateway}/<a priced path>` : info.examples.priced}
Change rules:     npm run cli -- rules push FILE
Stack details:    ${process.env.STACK_FILE || ".dev/stack.json"}     Stop: Ctrl-C (or SIGTERM / SIGHUP)
One JSON line per request follows.
`);

function readRules(file: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    fail(`RULES=${file}: cannot read it (${(error as NodeJS.ErrnoException).code ?? String(error)})`);
  }
  const checked = checkRulesText(text);
  if (!checked.ok)
    fail(`RULES=${file}: ${checked.lines.length} problem(s), not started:\n${checked.lines.map((line) => `  - ${line}`).join("\n")}`);
  return JSON.parse(text) as unknown;
}

function fail(message: string): never {
  console.error(message);
  process.exit(2);
}
