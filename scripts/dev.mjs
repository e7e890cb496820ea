// `npm run dev`: applies schema.sql to the local D1, seeds the price rules into local KV, runs `wrangler dev`.
// ORIGIN_URL and FACILITATOR_URL come from the environment.
import { spawn, spawnSync } from "node:child_process";

const env = {
  ...process.env,
  WRANGLER_SEND_METRICS: "false",
  WRANGLER_SEND_ERROR_REPORTS: "false",
  CLOUDFLARE_CF_FETCH_ENABLED: "false",
  WRANGLER_HIDE_BANNER: "true",
};
const wrangler = "node_modules/.bin/wrangler";
const rules = process.env.PRICE_RULES_FILE ?? "examples/price-rules.json";

function run(args) {
  const result = spawnSync(wrangler, args, { env, stdio: "inherit" });
  if (result.status !== 0) process.exit(result.status ?? 1);
}

run(["d1", "execute", "LEDGER", "--local", "--file", "schema.sql"]);
run(["kv", "key", "put", "--local", "--binding", "PRICE_RULES", "price-rules", "--path", rules]);
const vars = ["ORIGIN_URL", "FACILITATOR_URL"].filter((name) => process.env[name]).flatMap((name) => ["--var", `${name}:${process.env[name]}`]);
const dev = spawn(wrangler, ["dev", "--ip", "127.0.0.1", "--port", process.env.PORT ?? "8787", ...vars], { env, stdio: "inherit" });
dev.on("exit", (code) => process.exit(code ?? 0));
for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => dev.kill(signal));
