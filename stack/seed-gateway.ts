// `node --import tsx stack/seed-gateway.ts <persistDir> <kv.json>`: applies schema.sql and stores the KV
// entries (price rules, tenant tables) in the local KV/D1 that `wrangler dev --persist-to <persistDir>` uses. A separate process because
// wrangler's platform proxy installs its own exit-on-SIGINT handlers, which must not cut short the stack's shutdown.
import { readFileSync } from "node:fs";
import { seedGateway } from "./gateway.js";

const [persistDir, entriesFile] = process.argv.slice(2);
await seedGateway(persistDir!, JSON.parse(readFileSync(entriesFile!, "utf8")));
console.log("seeded");
