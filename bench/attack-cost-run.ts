// `npm run bench:attacks`: the attack-cost table alone (bench/attack-cost.ts), on a local stack and the official
// middleware started for it; `npm run bench` includes it. BENCH_ATTACK_REQUESTS (default 100) per pattern.
import { startStack } from "../stack/start-stack.js";
import { attackCostTable, measureAttackCost } from "./attack-cost.js";
import { startPeer } from "./peer.js";

const stack = await startStack({ inspector: false });
const peer = await startPeer(stack);
try {
  const rows = await measureAttackCost(stack, peer.url, Number(process.env.BENCH_ATTACK_REQUESTS ?? 100));
  for (const line of attackCostTable(rows)) console.log(line);
} finally {
  await peer.process.stop();
  await stack.stop();
}
