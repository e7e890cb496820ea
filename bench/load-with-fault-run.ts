// `npm run bench:faults`: the load-with-a-fault runs alone (bench/load-with-fault.ts) on a local stack. Prints the
// tables and puts them in BENCHMARKS.md as its "Load with a fault" section (replacing the one there), as
// `BENCH_FAULTS=1 npm run bench` does for a whole run.
import { writeBenchmarksSection } from "./benchmarks-section.js";
import { startStack } from "../stack/start-stack.js";
import { loadWithFaultTables, LOAD_WITH_FAULT_HEADING } from "./load-with-fault.js";

const stack = await startStack({ inspector: false });
try {
  const lines = [
    LOAD_WITH_FAULT_HEADING,
    "",
    `\`npm run bench:faults\`, ${new Date().toISOString()}.`,
    "",
    ...(await loadWithFaultTables(stack)),
  ];
  for (const line of lines) console.log(line);
  writeBenchmarksSection(lines);
} finally {
  await stack.stop();
}
