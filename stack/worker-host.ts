// Runs one Worker the way `wrangler dev` does (same bundling, same local runtime and storage), through wrangler's
// programmatic API with no debugger attached. The `wrangler dev` CLI always attaches one, and each console line
// then travels through it to wrangler: measured at 0.5–0.8 ms a line against 0.2–0.3 ms without it (a one-route
// Worker, 600 requests in blocks). Production has no debugger, so `npm run bench` runs every system here.
// Arguments: the subset of `wrangler dev`'s the stack uses (-c, --ip, --port, --persist-to, --var NAME:value).
import { parseArgs } from "node:util";
import { unstable_startWorker } from "wrangler";

const { values } = parseArgs({
  options: {
    config: { type: "string", short: "c", default: "wrangler.toml" },
    ip: { type: "string", default: "127.0.0.1" },
    port: { type: "string" },
    "persist-to": { type: "string" },
    var: { type: "string", multiple: true, default: [] },
  },
});

const bindings = Object.fromEntries(
  values.var.map((pair) => {
    const at = pair.indexOf(":");
    return [pair.slice(0, at), { type: "plain_text" as const, value: pair.slice(at + 1), hidden: true }];
  }),
);
const worker = await unstable_startWorker({
  config: values.config,
  bindings,
  // The CLI works this out from the config's flags; the programmatic API leaves it to its caller. Our Workers'
  // compatibility dates are all past v2's (2024-09-23).
  build: {
    nodejsCompatMode: (config) =>
      config.compatibility_flags.includes("nodejs_compat") ? "v2" : config.compatibility_flags.includes("nodejs_als") ? "als" : null,
  },
  dev: {
    inspector: false,
    watch: false,
    server: { hostname: values.ip, port: Number(values.port) },
    ...(values["persist-to"] ? { persist: values["persist-to"] } : {}),
  },
});
await worker.ready;
console.log(`Ready on http://${values.ip}:${values.port}`);

let stopping = false;
for (const signal of ["SIGTERM", "SIGINT"] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    void worker.dispose().finally(() => process.exit(0));
  });
}
