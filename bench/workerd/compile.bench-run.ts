// compilePriceRules timed inside workerd, where the Worker runs it. Date.now() stands still while code runs and
// moves on at I/O, so each measured stretch ends with a zero-delay timer: the time read after it is the time
// the compile took (the timer itself adds under 1 ms). Prints one `COMPILE {json}` line per size.
import { it } from "vitest";
import { compilePriceRules } from "../../src/pricing/compile-price-rules.js";
import { RuleMemo } from "../../src/pricing/rule-memo.js";
import { buildDefaultSchemeRegistry } from "../../src/schemes/default-schemes.js";
import { generatedRules } from "../generated-rules.js";

const ROUNDS = 7;
const schemes = buildDefaultSchemeRegistry();
const tick = () => new Promise((resolve) => setTimeout(resolve, 0));

function document(size: number, edit: number): string {
  const rules = generatedRules(size, edit, "eip155:84532", "0x209693Bc6afc0C5328bA36FaF03C514EF312287C");
  return JSON.stringify({ facilitators: [{ id: "local", url: "http://127.0.0.1:4021" }], rules });
}

async function timed(raw: string, memo: RuleMemo): Promise<{ parseMs: number; compileMs: number }> {
  await tick();
  const start = Date.now();
  const json: unknown = JSON.parse(raw);
  await tick();
  const parsed = Date.now();
  const compiled = compilePriceRules(json, schemes, memo);
  await tick();
  if (!compiled.ok) throw new Error(compiled.problems.slice(0, 3).join("; "));
  return { parseMs: parsed - start, compileMs: Date.now() - parsed };
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

it("compiles 10 / 1,000 / 10,000 rules", async () => {
  for (const size of [10, 1000, 10_000]) {
    const [first, edited] = [document(size, 0), document(size, 1)] as [string, string];
    const rounds: { parseMs: number; newMs: number; editMs: number }[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const memo = new RuleMemo();
      const fresh = await timed(first, memo);
      const edit = await timed(edited, memo);
      rounds.push({ parseMs: fresh.parseMs, newMs: fresh.compileMs, editMs: edit.compileMs });
    }
    const figure = {
      rules: size,
      parseMs: median(rounds.map((r) => r.parseMs)),
      newDocumentMs: median(rounds.map((r) => r.newMs)),
      oneRuleEditedMs: median(rounds.map((r) => r.editMs)),
    };
    console.log(`COMPILE ${JSON.stringify(figure)}`);
  }
});
