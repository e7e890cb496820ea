// `npm run bench:phases`: where a pay-per-call goes, the gateway and the official middleware taking turns, in
// about a minute (the full `npm run bench` takes 7 or more). Each official-client call is cut into its three
// phases (the unpaid 402, the client's signing, the paid request), and each system's CPU is read from the
// kernel for its runtime processes (wrangler's dev server with no debugger attached, stack/worker-host.ts): CPU is
// steadier than latency on a shared 2-core box, and it counts the work a system does after its answer is out.
// BENCH_PHASES_CALLS sets the calls per system; BENCH_REQUEST_LOG=off runs the gateway without its log line.
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { PAYER } from "../stack/accounts.js";
import { createPayingFetch } from "../stack/pay.js";
import { startStack } from "../stack/start-stack.js";
import { startPeer } from "./peer.js";
import { summarise } from "./measure.js";

const CALLS = Number(process.env.BENCH_PHASES_CALLS ?? 80);
const WARM_UP = 5;
const ROUTE = "/api/weather/bench";
const PHASES = ["402", "signing", "paid request", "whole call"] as const;

/** Milliseconds of CPU (user + system) the runtime processes of the dev server on `port` have used. */
function runtimeCpuMs(port: string): number {
  const processes = execFileSync("ps", ["-eo", "pid=,ppid=,args="])
    .toString()
    .trim()
    .split("\n")
    .map((line) => {
      const [pid, ppid, ...args] = line.trim().split(/\s+/);
      return { pid: pid!, ppid: ppid!, args: args.join(" ") };
    });
  // The dev server's process (stack/worker-host.ts) holds the port in its arguments; its children named workerd
  // are the runtimes.
  const wranglers = new Set(
    processes.filter((p) => p.args.includes("worker-host.ts") && p.args.includes(`--port ${port} `)).map((p) => p.pid),
  );
  const ticksPerSecond = 100;
  return processes
    .filter((p) => wranglers.has(p.ppid) && p.args.includes("workerd"))
    .reduce((sum, p) => {
      // Fields after the command name: utime and stime are the 12th and 13th (proc(5)).
      const fields = readFileSync(`/proc/${p.pid}/stat`, "utf8").split(") ")[1]!.split(" ");
      return sum + ((Number(fields[11]) + Number(fields[12])) * 1000) / ticksPerSecond;
    }, 0);
}

/** The official client over a fetch that times each of its calls: [402, signing, paid request] per payment. */
function phaseTimedClient(network: string, token: `0x${string}`) {
  const phases: number[][] = [];
  let current: number[] = [];
  let lastEnd = 0;
  const timed: typeof fetch = async (input, init) => {
    const start = performance.now();
    // The gap since the 402's answer is the client's own work: reading the challenge and signing.
    if (current.length === 1) current.push(start - lastEnd);
    const response = await fetch(input, init);
    lastEnd = performance.now();
    current.push(lastEnd - start);
    if (current.length === 3) {
      phases.push(current);
      current = [];
    }
    return response;
  };
  return { pay: createPayingFetch(PAYER, { network, address: token }, timed), phases };
}

const stack = await startStack({
  inspector: false,
  ...(process.env.BENCH_REQUEST_LOG ? { gatewayVars: { REQUEST_LOG: process.env.BENCH_REQUEST_LOG } } : {}),
});
const peer = await startPeer(stack).catch(async (error: unknown) => {
  await stack.stop();
  throw error;
});
try {
  const systems = [
    { name: "gateway", url: stack.info.gateway, ...phaseTimedClient(stack.info.network, stack.info.token.address) },
    { name: "peer", url: peer.url, ...phaseTimedClient(stack.info.network, stack.info.token.address) },
  ];
  const cpuBefore = systems.map((s) => runtimeCpuMs(new URL(s.url).port));
  for (let round = 0; round < CALLS + WARM_UP; round++) {
    // Alternating who goes first, so neither always follows the other's leftover work.
    for (const system of round % 2 === 0 ? systems : [...systems].reverse()) {
      const response = await system.pay(`${system.url}${ROUTE}`);
      await response.arrayBuffer();
      if (response.status !== 200) throw new Error(`${system.name}: paid call answered ${response.status}`);
    }
  }
  const cpuMs = systems.map((s, i) => (runtimeCpuMs(new URL(s.url).port) - cpuBefore[i]!) / (CALLS + WARM_UP));
  const medians = systems.map((s) => {
    const kept = s.phases.slice(WARM_UP);
    return PHASES.map(
      (_, i) =>
        summarise(
          PHASES[i]!,
          kept.map((p) => (i === 3 ? p[0]! + p[1]! + p[2]! : p[i]!)),
        ).p50,
    );
  });
  console.log(
    `pay-per-call by phase, ${CALLS} calls each (p50 ms), ${new Date().toISOString()}${process.env.BENCH_REQUEST_LOG ? `, gateway REQUEST_LOG=${process.env.BENCH_REQUEST_LOG}` : ""}`,
  );
  console.log("| phase | gateway | peer | gateway ÷ peer |");
  console.log("|---|---|---|---|");
  PHASES.forEach(
    (phase, i) =>
      void console.log(
        `| ${phase} | ${medians[0]![i]!.toFixed(2)} | ${medians[1]![i]!.toFixed(2)} | ${(medians[0]![i]! / medians[1]![i]!).toFixed(2)}× |`,
      ),
  );
  console.log(
    `| runtime CPU per call (ms, all workerd processes of each system) | ${cpuMs[0]!.toFixed(1)} | ${cpuMs[1]!.toFixed(1)} | ${(cpuMs[0]! / cpuMs[1]!).toFixed(2)}× |`,
  );
} finally {
  await peer.process.stop();
  await stack.stop();
}
