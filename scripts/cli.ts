// `npm run cli -- <command>`: the operator's commands. So far `rules check FILE`: the rules document checked
// exactly as the Worker will check it, every problem listed; exit 1 when there is one (2: usage or unreadable file).
import { readFileSync } from "node:fs";
import { checkRulesText } from "./rules-check.js";

const USAGE = "usage: npm run cli -- rules check FILE";
const [group, command, file, ...rest] = process.argv.slice(2);

if (group !== "rules" || command !== "check" || !file || rest.length > 0) {
  console.error(USAGE);
  process.exit(2);
}
let text: string;
try {
  text = readFileSync(file, "utf8");
} catch (error) {
  console.error(`${file}: cannot read it (${(error as NodeJS.ErrnoException).code ?? String(error)})`);
  process.exit(2);
}
const checked = checkRulesText(text);
if (checked.ok) {
  console.log(`${file}: ${checked.lines[0]}`);
} else {
  console.error(`${file}: ${checked.lines.length} problem${checked.lines.length === 1 ? "" : "s"}; the gateway would refuse this document (503 on its routes):`);
  for (const line of checked.lines) console.error(`  - ${line}`);
  process.exit(1);
}
