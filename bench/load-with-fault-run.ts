// `npm run bench:faults`: the load-with-a-fault runs alone (bench/load-with-fault.ts) on a local stack. Prints the
// tables and puts them in BENCHMARKS.md as its "Load with a fault" section (replacing the one there), as
// `BENCH_FAULTS=1 npm run bench` does for a whole run.
import { readFileSync, writeFileSync } from "node:fs";
import { startStack } from "../stack/start-stack.js";
import { loadWithFaultTables, LOAD_WITH_FAULT_HEADING } from "./load-with-fault.js";

const stack = await startStack({ inspector: false });
try {
  const lines = [LOAD_WITH_FAULT_HEADING, "", `\`npm run bench:faults\`, ${new Date().toISOString()}.`, "", ...(await loadWithFaultTables(stack))];
  for (const line of lines) console.log(line);
  const benchmarks = readFileSync("BENCHMARKS.md", "utf8");
  const start = benchmarks.indexOf(LOAD_WITH_FAULT_HEADING);
  const end = start < 0 ? -1 : benchmarks.indexOf("\n## ", start + 1);
  const section = `${lines.join("\n")}\n`;
  const updated = start < 0 ? `${benchmarks.trimEnd()}\n\n${section}` : `${benchmarks.slice(0, start)}${section}${end < 0 ? "" : benchmarks.slice(end)}`;
  writeFileSync("BENCHMARKS.md", updated);
} finally {
  await stack.stop();
}
