// `npm run bench:wide`: the wide-area side by side alone (bench/wide-area.ts) on a local stack. Prints the table and
// puts it in BENCHMARKS.md as its wide-area section (replacing the one there), as `npm run bench` does in a whole run.
import { writeBenchmarksSection } from "./benchmarks-section.js";
import { PAYER } from "../stack/accounts.js";
import { createPayingFetch } from "../stack/pay.js";
import { startStack } from "../stack/start-stack.js";
import { measureWideArea, WIDE_AREA_HEADING, wideAreaTable } from "./wide-area.js";

const ROUNDS = Number(process.env.BENCH_PAID_ROUNDS ?? 40);
const stack = await startStack({ inspector: false });
try {
  const pay = createPayingFetch(PAYER, { network: stack.info.network, address: stack.info.token.address });
  const lines = [
    WIDE_AREA_HEADING,
    "",
    `\`npm run bench:wide\`, ${new Date().toISOString()}, ${ROUNDS} rounds.`,
    "",
    ...wideAreaTable(await measureWideArea(stack, pay, ROUNDS)),
  ];
  for (const line of lines) console.log(line);
  writeBenchmarksSection(lines);
} finally {
  await stack.stop();
}
