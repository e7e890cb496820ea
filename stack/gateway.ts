// The gateway under `wrangler dev` with local KV and D1 persisted in `persistDir`, seeded before it starts.
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { splitSqlStatements } from "./sql-statements.js";
import { startProcess, type ManagedProcess } from "./process.js";

/** Quiet and offline: no telemetry, no cf.json download, no update check. */
export const WRANGLER_OFFLINE_ENV = {
  WRANGLER_SEND_METRICS: "false",
  WRANGLER_SEND_ERROR_REPORTS: "false",
  CLOUDFLARE_CF_FETCH_ENABLED: "false",
  WRANGLER_HIDE_BANNER: "true",
};

export interface LocalBindings {
  PRICE_RULES: KVNamespace;
  LEDGER: D1Database;
}

/**
 * The same local KV and D1 the dev gateway uses (wrangler's `--persist-to` layout). Dispose when done.
 * Imported lazily: loading wrangler installs exit-on-SIGINT handlers that would cut short a graceful stop.
 */
export async function openLocalBindings(persistDir: string) {
  Object.assign(process.env, WRANGLER_OFFLINE_ENV);
  const { getPlatformProxy } = await import("wrangler");
  const configPath = join(persistDir, "bindings.wrangler.toml");
  writeFileSync(configPath, kvAndD1Config(readFileSync("wrangler.toml", "utf8")));
  return getPlatformProxy<LocalBindings>({ configPath, persist: { path: join(persistDir, "v3") }, remoteBindings: false });
}

/**
 * The gateway's config with only its KV and D1 bindings. Opened with the Durable Object bindings too, the proxy's
 * runtime ran the gateway's object alarms from the shared storage, failing each ("no such actor class") and
 * contending for the alarm database with the running gateway (SQLITE_BUSY).
 */
export function kvAndD1Config(wranglerToml: string): string {
  const date = /^compatibility_date = "[^"]+"$/m.exec(wranglerToml)?.[0];
  // Their tables hold strings and ids only: a block ends at the next table header.
  const blocks = wranglerToml.match(/^\[\[(?:kv_namespaces|d1_databases)\]\][^[]*/gm) ?? [];
  if (!date || blocks.length !== 2)
    throw new Error("wrangler.toml: expected compatibility_date, one [[kv_namespaces]] and one [[d1_databases]]");
  return [`name = "x402-gateway-bindings"`, date, "", ...blocks].join("\n");
}

/**
 * Applies schema.sql and stores each entry (price rules, tenant tables) as JSON under its KV key; with `if-absent`,
 * an entry already stored is kept. Returns the keys kept.
 */
export async function seedGateway(
  persistDir: string,
  kvEntries: Record<string, unknown>,
  seed: "always" | "if-absent" = "always",
): Promise<string[]> {
  const kept: string[] = [];
  const proxy = await openLocalBindings(persistDir);
  try {
    await proxy.env.LEDGER.batch(splitSqlStatements(readFileSync("schema.sql", "utf8")).map((s) => proxy.env.LEDGER.prepare(s)));
    for (const upgrade of ledgerUpgrades()) {
      // A ledger kept from an earlier run may predate a column; a current one refuses it as a duplicate.
      await proxy.env.LEDGER.prepare(upgrade)
        .run()
        .catch((error: unknown) => {
          if (!/duplicate column/i.test(String(error))) throw error;
        });
    }
    for (const [key, value] of Object.entries(kvEntries)) {
      if (seed === "if-absent" && (await proxy.env.PRICE_RULES.get(key)) !== null) {
        kept.push(key);
        continue;
      }
      await proxy.env.PRICE_RULES.put(key, JSON.stringify(value, null, 2));
    }
    return kept;
  } finally {
    await proxy.dispose();
  }
}

export interface GatewayOptions {
  port: number;
  /** The debugger's port; undefined: the same dev server with no debugger attached (stack/worker-host.ts), as the bench runs it. */
  inspectorPort: number | undefined;
  persistDir: string;
  vars: Record<string, string>;
  echo?: boolean | ((line: string) => boolean);
}

/**
 * `wrangler dev` for these arguments (-c, --ip, --port, --persist-to, --var): the CLI, whose debugger DevTools can
 * attach to (on `inspectorPort`), or the same dev server with none (`inspectorPort` undefined).
 */
export function devServerCommand(args: string[], inspectorPort: number | undefined): { command: string; args: string[] } {
  return inspectorPort === undefined
    ? { command: process.execPath, args: ["--import", "tsx", "stack/worker-host.ts", ...args] }
    : {
        command: "node_modules/.bin/wrangler",
        args: ["dev", ...args, "--inspector-port", String(inspectorPort), "--show-interactive-dev-session=false"],
      };
}

/** What `npm run dev` shows of wrangler: the gateway's own log lines and wrangler's problems, not its banners. */
export function isGatewayLogLine(line: string): boolean {
  return /^\s*\{/.test(line) || /\b(ERROR|WARNING|warn|error)\b|✘|▲/.test(line) || /Ready on/.test(line);
}

export async function startGateway(options: GatewayOptions): Promise<{ process: ManagedProcess; url: string }> {
  const vars = Object.entries(options.vars).flatMap(([name, value]) => ["--var", `${name}:${value}`]);
  const { process, match } = await startProcess({
    name: "gateway",
    ...devServerCommand(
      ["--ip", "127.0.0.1", "--port", String(options.port), "--persist-to", options.persistDir, ...vars],
      options.inspectorPort,
    ),
    env: WRANGLER_OFFLINE_ENV,
    ready: /Ready on (http:\/\/\S+)/,
    timeoutMs: 60_000,
    echo: options.echo,
  });
  const url = match[1]!.replace(/\/$/, "");
  // "Ready" is printed before the first request can be served; wait until it answers.
  for (let attempt = 0; attempt < 100; attempt++) {
    try {
      await fetch(`${url}/__gateway_probe`);
      return { process, url };
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  await process.stop();
  throw new Error(`gateway at ${url} never answered:\n${process.output().slice(-4000)}`);
}

/**
 * The columns migrations/ added after the first, for a local ledger kept from a run before them (schema.sql, which
 * creates a new one, is their sum): each applies once, and fails harmlessly as a duplicate after that.
 */
function ledgerUpgrades(): string[] {
  return readdirSync("migrations")
    .filter((name) => name.endsWith(".sql"))
    .sort()
    .flatMap((name) => splitSqlStatements(readFileSync(join("migrations", name), "utf8")))
    .filter((statement) => /^ALTER TABLE \w+ ADD COLUMN /i.test(statement));
}
