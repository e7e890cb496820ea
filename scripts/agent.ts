// `npm run agent -- "weather in paris" --budget 0.50`: the agent buyer (docs/agent.md) from the command line.
// Against the running local stack (.dev/stack.json, written by `npm run dev`) it needs nothing else: it reads the
// gateway's listing, pays with the stack's funded payer in the local TestUSDC. Elsewhere: --gateway URL, the key in
// X402_AGENT_PRIVATE_KEY, and --asset network:address:decimals for any stablecoin beyond USDC on Base.
import { existsSync, readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { privateKeyToAccount } from "viem/accounts";
import type { Hex } from "viem";
import { AgentRefusal, createAgent, type CallResult } from "../agent/agent.js";
import type { KnownAsset } from "../agent/choose-offer.js";
import type { Task } from "../agent/match-task.js";
import { AgentConfigError, formatUsd, parseUsd } from "../agent/money.js";
import type { StackInfo } from "../stack/start-stack.js";

const USAGE = `usage: npm run agent -- "TASK" --budget USD [options]
  --max-per-call USD     the most one call may cost (a session counts as the calls it buys); default: the budget
  --calls N              calls to make (default 1); a session's price is spread over them
  --concurrency N        calls in flight at once (default 1)
  --gateway URL          a gateway to read /.well-known/x402 from (repeatable; default: the local stack's)
  --facilitator URL      a facilitator catalog to read (repeatable)
  --network CAIP2        pay only on these networks (repeatable)
  --asset NET:ADDR:DEC   a stablecoin the agent may pay with (repeatable; USDC on Base and Base Sepolia are known)
  --param NAME=VALUE     a route parameter (repeatable); otherwise taken from the task's words
  --query NAME=VALUE     a query parameter of the call (repeatable)
  --tag TAG              only resources with this tag (repeatable)
  --tool NAME            an MCP tool to call; --args JSON are its arguments
  --method M, --data S   the request's method and body
  --log FILE             the spend log (JSON lines; default .dev/agent-spend.jsonl)
  --plan                 list the offers that fit, cheapest first, and pay nothing
  --no-sessions          on equal prices, do not prefer sessions`;

const KNOWN_USDC: KnownAsset[] = [
  { network: "eip155:8453", address: "0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913", decimals: 6 },
  { network: "eip155:84532", address: "0x036CbD53842c5426634e7929541eC2318f3dCF7e", decimals: 6 },
];

function fail(message: string, code = 2): never {
  console.error(message);
  process.exit(code);
}

function parseAgentArgs() {
  return parseArgs({
    allowPositionals: true,
    options: {
      budget: { type: "string" },
      "max-per-call": { type: "string" },
      calls: { type: "string", default: "1" },
      concurrency: { type: "string", default: "1" },
      gateway: { type: "string", multiple: true },
      facilitator: { type: "string", multiple: true },
      network: { type: "string", multiple: true },
      asset: { type: "string", multiple: true },
      param: { type: "string", multiple: true },
      query: { type: "string", multiple: true },
      tag: { type: "string", multiple: true },
      tool: { type: "string" },
      args: { type: "string" },
      method: { type: "string" },
      data: { type: "string" },
      log: { type: "string", default: ".dev/agent-spend.jsonl" },
      plan: { type: "boolean", default: false },
      "no-sessions": { type: "boolean", default: false },
      help: { type: "boolean", default: false },
    },
  });
}

let parsed: ReturnType<typeof parseAgentArgs>;
try {
  parsed = parseAgentArgs();
} catch (error) {
  fail(`${error instanceof Error ? error.message : String(error)}\n${USAGE}`);
}
const { values, positionals } = parsed;
if (values.help) fail(USAGE, 0);
if (!values.budget) fail(`--budget is required\n${USAGE}`);

const stack = existsSync(".dev/stack.json") ? (JSON.parse(readFileSync(".dev/stack.json", "utf8")) as StackInfo) : undefined;
const gateways = values.gateway ?? (stack ? [stack.gateway] : []);
if (gateways.length === 0 && !values.facilitator) fail("No gateway: start the local stack (`npm run dev`) or pass --gateway URL.");
const key = (process.env.X402_AGENT_PRIVATE_KEY ?? stack?.payer.privateKey) as Hex | undefined;
if (!key) fail("No wallet: set X402_AGENT_PRIVATE_KEY (or run against the local stack, whose payer is funded).");

let budget: bigint;
let perCall: bigint;
let calls: number;
let concurrency: number;
let assets: KnownAsset[];
try {
  budget = parseUsd(values.budget);
  perCall = values["max-per-call"] ? parseUsd(values["max-per-call"]) : budget;
  calls = positiveInteger(values.calls, "--calls");
  concurrency = positiveInteger(values.concurrency, "--concurrency");
  // The local TestUSDC is not one of the official client's built-in assets: it must be named to be paid.
  assets = [
    ...KNOWN_USDC,
    ...(stack ? [{ network: stack.network, address: stack.token.address, decimals: stack.token.decimals }] : []),
    ...(values.asset ?? []).map(parseAsset),
  ];
} catch (error) {
  fail(error instanceof Error ? error.message : String(error));
}

const pairs = (option: string, list: string[] = []) =>
  Object.fromEntries(
    list.map((p) => {
      const at = p.indexOf("=");
      if (at <= 0) fail(`--${option} ${p}: expected NAME=VALUE`);
      return [p.slice(0, at), p.slice(at + 1)];
    }),
  );
const task: Task = {
  text: positionals.join(" "),
  tags: values.tag,
  tool: values.tool,
  params: pairs("param", values.param),
  query: pairs("query", values.query),
};
if (!task.text && !task.tool && !task.tags) fail(`a task is required\n${USAGE}`);

const agent = createAgent({
  account: privateKeyToAccount(key),
  gateways,
  facilitators: values.facilitator ?? [],
  assets,
  budget: { totalMicros: budget, perCallMicros: perCall },
  preferences: { ...(values.network ? { networks: values.network } : {}), plannedCalls: calls, preferSessions: !values["no-sessions"] },
  spendLogPath: values.log,
});

const choices = await agent
  .plan(task)
  .catch((error: unknown) => fail(`Discovery failed: ${error instanceof Error ? error.message : String(error)}`, 1));
console.log(
  `${choices.length} offer(s) fit "${task.text || task.tool}" (planning ${calls} call${calls === 1 ? "" : "s"}), cheapest first:`,
);
for (const [i, c] of choices.entries()) {
  const session = c.listing.session ? `, session of ${c.listing.session.maxRequests} calls for ${formatUsd(c.payMicros)}` : "";
  console.log(
    `  ${i === 0 ? "→" : " "} ${formatUsd(c.effectiveMicros)}/call  ${c.offer.scheme} ${c.offer.network}  ${c.url}${session}  ${c.listing.serviceName ? `${c.listing.serviceName}: ` : ""}${c.listing.description}`,
  );
}
if (values.plan) process.exit(choices.length > 0 ? 0 : 1);

const init: RequestInit = buildInit();
let next = 0;
let refused: AgentRefusal | undefined;
let last: CallResult | undefined;
const worker = async () => {
  while (next < calls && !refused) {
    const n = ++next;
    try {
      // The calls still to come, this one included: a new session is worth buying only for enough of them.
      const result = await agent.call(task, init, calls - n + 1);
      last = result;
      const cost = result.charged
        ? `${formatUsd(result.charged.micros)}${result.charged.transaction ? ` tx ${result.charged.transaction}` : ""}`
        : "no payment";
      console.log(`call ${n}: ${result.response.status} via ${result.via} (${cost})  ${result.choice.url}`);
      if (n < calls || concurrency > 1) await result.response.body?.cancel();
    } catch (error) {
      if (error instanceof AgentRefusal) {
        refused = error;
        console.error(`call ${n}: refused: ${error.message}`);
      } else {
        console.error(`call ${n}: failed: ${error instanceof Error ? error.message : String(error)}`);
        process.exitCode = 1;
      }
    }
  }
};
await Promise.all(Array.from({ length: Math.min(concurrency, calls) }, worker));
if (last && calls === 1) console.log(await last.response.text());
const entries = agent.spendLog.entries;
console.log(
  `Spent ${formatUsd(agent.budget.spentMicros)} of ${formatUsd(budget)} (remaining ${formatUsd(agent.budget.remainingMicros)}): ` +
    `${entries.filter((e) => e.event === "payment").length} payment(s), ${entries.filter((e) => e.event === "session_use").length} session use(s); spend log ${values.log}`,
);
if (refused) process.exitCode = 1;

function buildInit(): RequestInit {
  if (values.tool) {
    const args = values.args ? (JSON.parse(values.args) as unknown) : {};
    return {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/call", params: { name: values.tool, arguments: args } }),
    };
  }
  return {
    method: values.method ?? (values.data !== undefined ? "POST" : "GET"),
    ...(values.data !== undefined ? { body: values.data, headers: { "content-type": "application/json" } } : {}),
  };
}

function positiveInteger(text: string, name: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) throw new AgentConfigError(`${name} must be a positive integer, not "${text}"`);
  return n;
}

function parseAsset(text: string): KnownAsset {
  const match = /^(.+):(0x[0-9a-fA-F]{40}):(\d{1,2})$/.exec(text);
  if (!match) throw new AgentConfigError(`--asset ${text}: expected NETWORK:ADDRESS:DECIMALS (eip155:8453:0x…:6)`);
  return { network: match[1]!, address: match[2]!, decimals: Number(match[3]) };
}
