// payTo per tenant (docs/price-rules.md "payTo routing"): the tenant is read from the request (host, path
// parameter or header) and looked up in a routing table kept in KV, so payees change without a redeploy.
import * as z from "zod";
import { GatewayFailure } from "../errors.js";

export const TenantRouteSchema = z.strictObject({
  /** Where the tenant's name is read from. */
  tenant: z.union([
    z.strictObject({ host: z.literal(true) }),
    z.strictObject({ param: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,63}$/) }),
    z.strictObject({ header: z.string().regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,128}$/) }),
  ]),
  /** KV key (in PRICE_RULES) of the routing table. */
  table: z.string().min(1).max(512),
  /** Payee for tenants not in the table; without it they answer 404 `unknown_tenant`. */
  fallback: z.string().min(1).optional(),
});
export type TenantRoute = z.infer<typeof TenantRouteSchema>;

/** `{"tenants": {"acme": "0x…", "globex": {"eip155": "0x…", "solana": "…"}}}`; names are matched lower-cased. */
const TenantTableSchema = z.strictObject({
  tenants: z.record(
    z.string().min(1).max(256),
    z.union([z.string().min(1).max(128), z.record(z.string().min(1).max(64), z.string().min(1).max(128))]),
  ),
});
type TenantTable = Map<string, string | Record<string, string>>;

const tables = new Map<string, { loadedAtMs: number; table: TenantTable }>();

export interface TenantSource {
  url: URL;
  headers: Headers;
  params: Record<string, string>;
}

export function tenantOf(route: TenantRoute, source: TenantSource): string | undefined {
  const selector = route.tenant;
  const raw =
    "host" in selector ? source.url.hostname : "param" in selector ? source.params[selector.param] : source.headers.get(selector.header);
  return raw ? raw.trim().toLowerCase() : undefined;
}

/** The table, read through a per-isolate cache; an unreadable table fails closed (503). */
export async function loadTenantTable(kv: KVNamespace, key: string, cacheTtlSeconds: number, nowMs: number): Promise<TenantTable> {
  const cached = tables.get(key);
  if (cached && nowMs - cached.loadedAtMs < cacheTtlSeconds * 1000) return cached.table;
  const raw = await kv.get(key, "json").catch(() => undefined);
  const parsed = TenantTableSchema.safeParse(raw);
  if (!parsed.success) {
    throw new GatewayFailure({
      kind: "config_invalid",
      detail: `tenant table "${key}": ${raw === null ? "missing" : z.prettifyError(parsed.error)}`,
    });
  }
  const table: TenantTable = new Map(Object.entries(parsed.data.tenants).map(([name, payTo]) => [name.toLowerCase(), payTo]));
  tables.set(key, { loadedAtMs: nowMs, table });
  return table;
}

/** A payee per network: an entry names one address, or one per CAIP-2 network or namespace. */
export function tenantPayTo(table: TenantTable, route: TenantRoute, tenant: string | undefined): (network: string) => string | undefined {
  const entry = tenant === undefined ? undefined : table.get(tenant);
  if (entry === undefined && route.fallback === undefined) throw new GatewayFailure({ kind: "unknown_tenant", tenant: tenant ?? "" });
  return (network) => {
    if (entry === undefined) return route.fallback;
    if (typeof entry === "string") return entry;
    return entry[network] ?? entry[network.split(":")[0]!];
  };
}
