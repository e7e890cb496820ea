// `npm run bench:faults`: the load-with-a-fault runs alone (bench/load-with-fault.ts) on a local stack; `BENCH_FAULTS=1
// npm run bench` includes them in BENCHMARKS.md.
import { startStack } from "../stack/start-stack.js";
import { loadWithFaultTables } from "./load-with-fault.js";

const stack = await startStack({ inspector: false });
try {
  for (const line of await loadWithFaultTables(stack)) console.log(line);
} finally {
  await stack.stop();
}
