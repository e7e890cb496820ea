// The Workers `npm run bench` compares with the gateway, each under its own dev server, and their bundle sizes.
import { findFreePort, startProcess, type ManagedProcess } from "../stack/process.js";
import { devServerCommand, WRANGLER_OFFLINE_ENV } from "../stack/gateway.js";

export interface BenchWorker {
  url: string;
  process: ManagedProcess;
}

/** Under wrangler's dev server with no debugger attached, as the bench runs the gateway (stack/worker-host.ts). */
export async function startBenchWorker(name: string, config: string, vars: Record<string, string>): Promise<BenchWorker> {
  const port = await findFreePort();
  const varArgs = Object.entries(vars).flatMap(([key, value]) => ["--var", `${key}:${value}`]);
  const { process } = await startProcess({
    name,
    ...devServerCommand(["-c", config, "--ip", "127.0.0.1", "--port", String(port), ...varArgs], undefined),
    env: WRANGLER_OFFLINE_ENV,
    ready: /Ready on/,
    timeoutMs: 60_000,
  });
  return { url: `http://127.0.0.1:${port}`, process };
}

/** `wrangler deploy --dry-run`: what would be uploaded, raw and gzipped (KiB), as wrangler reports it. */
/** `minify`: as `wrangler deploy --minify` would upload it (the gateway's wrangler.toml sets `minify = true`). */
export async function bundleSize(config: string, minify = false): Promise<{ kib: number; gzipKib: number }> {
  const { process, match } = await startProcess({
    name: `bundle ${config}`,
    command: "node_modules/.bin/wrangler",
    args: ["deploy", "--dry-run", "-c", config, "--outdir", `.dev/bundle-${config.replaceAll("/", "_")}`, ...(minify ? ["--minify"] : [])],
    env: WRANGLER_OFFLINE_ENV,
    ready: /Total Upload: ([\d.]+) KiB \/ gzip: ([\d.]+) KiB/,
    timeoutMs: 60_000,
  });
  await process.stop();
  return { kib: Number(match[1]), gzipKib: Number(match[2]) };
}
