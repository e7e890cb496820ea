// `node --import tsx stack/seed-gateway.ts <persistDir> <kv.json> [always|if-absent]`: applies schema.sql and stores
// the KV entries (price rules, tenant tables) in the local KV/D1 that `wrangler dev --persist-to <persistDir>` uses;
// `if-absent` keeps an entry the state already holds. A separate process because wrangler's platform proxy
// installs its own exit-on-SIGINT handlers, which must not cut short the stack's shutdown.
import { readFileSync } from "node:fs";
import { seedGateway } from "./gateway.js";

const [persistDir, entriesFile, seed = "always"] = process.argv.slice(2);
if (seed !== "always" && seed !== "if-absent") throw new Error(`seed mode ${seed}: expected always or if-absent`);
const kept = await seedGateway(persistDir!, JSON.parse(readFileSync(entriesFile!, "utf8")), seed);
console.log(`kept: ${JSON.stringify(kept)}`);
console.log("seeded");
