// The admin API (docs/admin.md), under ADMIN_PATH_PREFIX on the gateway's reserved paths: off unless ADMIN_TOKEN
// or ADMIN_JWT_KEY is set. Every call is authenticated first and logged (caller, action, result); a refused
// call changes nothing. Bodies are JSON, parsed with a schema here, at the boundary.
import * as z from "zod";
import type { GatewayConfig } from "../gateway-config.js";
import type { GatewayBindings } from "../bindings.js";
import type { SchemeRegistry } from "../schemes/scheme-plugin.js";
import { usage } from "../observability/usage-counters.js";
import { grantOperatorSession, revokeSessions } from "../sessions/revoke-sessions.js";
import { authenticateAdmin, type AdminAuthConfig } from "./admin-auth.js";
import { listChannels } from "./channel-queries.js";
import {
  LedgerFilterSchema,
  listLedger,
  listOwedRefunds,
  markRefund,
  MarkRefundSchema,
  revenue,
  RevenueQuerySchema,
} from "./ledger-queries.js";
import { checkRulesDocument, documentTag, listVersions, replaceRules, rollbackRules } from "./rules-versions.js";

export interface AdminDeps {
  env: GatewayBindings;
  config: GatewayConfig;
  auth: AdminAuthConfig;
  schemes: SchemeRegistry;
  nowMs: () => number;
}

const MAX_DOCUMENT_BYTES = 25 * 1024 * 1024;
/** CAIP-10 (`eip155:8453:0x…`). */
const WalletSchema = z
  .string()
  .regex(/^[-a-z0-9]{3,8}:[-_a-zA-Z0-9]{1,32}:[-.%a-zA-Z0-9]{1,128}$/, "expected a CAIP-10 account id, e.g. eip155:8453:0xabc…");
const RevokeSchema = z.strictObject({ wallet: WalletSchema, scope: z.string().min(1).optional() });
/** A session the operator gives (a trial, a support credit): no payment, so `reference` makes it idempotent. */
const GrantSchema = z.strictObject({
  wallet: WalletSchema,
  /** The scope key as the gateway stores it: `rule:<rule id>`, `resource:GET /path`, `prefix:/path/` (docs/sessions.md). */
  scope: z.string().regex(/^(rule|resource|prefix):.{1,512}$/, "expected rule:<id>, resource:<METHOD path> or prefix:<path>"),
  requests: z.int().min(1).max(1_000_000_000),
  ttlSeconds: z
    .int()
    .min(1)
    .max(366 * 24 * 60 * 60),
  reference: z.string().regex(/^[-_.:a-zA-Z0-9]{1,128}$/, "expected 1-128 of [-_.:a-zA-Z0-9]"),
});

type Handler = (request: Request, deps: AdminDeps, param: string | undefined) => Promise<Response>;

const ROUTES: { method: string; path: RegExp; action: string; handle: Handler }[] = [
  { method: "GET", path: /^\/rules$/, action: "rules.read", handle: readRules },
  { method: "PUT", path: /^\/rules$/, action: "rules.replace", handle: putRules },
  { method: "POST", path: /^\/rules\/validate$/, action: "rules.validate", handle: validateRules },
  { method: "GET", path: /^\/rules\/history$/, action: "rules.history", handle: rulesHistory },
  { method: "POST", path: /^\/rules\/rollback$/, action: "rules.rollback", handle: rollback },
  { method: "GET", path: /^\/ledger$/, action: "ledger.list", handle: ledger },
  { method: "GET", path: /^\/revenue$/, action: "revenue", handle: revenueReport },
  { method: "POST", path: /^\/sessions\/revoke$/, action: "sessions.revoke", handle: revoke },
  { method: "POST", path: /^\/sessions\/grant$/, action: "sessions.grant", handle: grant },
  { method: "GET", path: /^\/refunds$/, action: "refunds.list", handle: refunds },
  { method: "POST", path: /^\/refunds\/([^/]+)\/mark$/, action: "refunds.mark", handle: mark },
  { method: "GET", path: /^\/channels$/, action: "channels.list", handle: channels },
  { method: "POST", path: /^\/channels\/(0x[0-9a-fA-F]{64})\/claim$/, action: "channels.claim", handle: claim },
  { method: "GET", path: /^\/usage$/, action: "usage.read", handle: async () => json(200, { isolate: { ...usage } }) },
];

export async function serveAdmin(request: Request, subpath: string, deps: AdminDeps): Promise<Response> {
  if (!deps.auth.token && !deps.auth.jwt)
    return json(404, { error: "admin_disabled", message: "The admin API is off: set ADMIN_TOKEN or ADMIN_JWT_KEY (docs/admin.md)." });
  const candidates = ROUTES.filter((route) => route.path.test(subpath));
  const route = candidates.find((r) => r.method === request.method);
  const caller = await authenticateAdmin(request.headers.get("authorization"), deps.auth, deps.nowMs());
  const log = (result: string, extra: Record<string, unknown> = {}) =>
    console.log(
      JSON.stringify({
        event: "admin_call",
        method: request.method,
        path: subpath,
        action: route?.action ?? null,
        caller: caller.ok ? caller.subject : null,
        result,
        ...extra,
      }),
    );
  // Authentication first: an unauthenticated caller learns nothing, not even which paths exist.
  if (!caller.ok) {
    log("unauthorized", { reason: caller.reason });
    return json(
      401,
      { error: "unauthorized", message: caller.reason },
      { "WWW-Authenticate": `Bearer error="invalid_token", error_description="${caller.reason.replaceAll('"', "'")}"` },
    );
  }
  if (!route) {
    log(candidates.length > 0 ? "method_not_allowed" : "not_found");
    return candidates.length > 0
      ? json(
          405,
          { error: "method_not_allowed", message: `${subpath} answers ${candidates.map((r) => r.method).join(", ")}.` },
          { Allow: candidates.map((r) => r.method).join(", ") },
        )
      : json(404, { error: "not_found", message: `No admin endpoint ${subpath}.` });
  }
  try {
    const response = await route.handle(request, deps, route.path.exec(subpath)?.[1]);
    log(response.ok ? "ok" : "refused", { status: response.status });
    return response;
  } catch (error) {
    if (error instanceof BadRequest) {
      log("bad_request", { status: 400 });
      return json(400, { error: "bad_request", message: error.message });
    }
    log("failed", { status: 502, cause: String(error) });
    return json(502, { error: "storage_failed", message: "KV, D1 or a Durable Object failed; nothing may have changed, try again." });
  }
}

class BadRequest extends Error {}

function json(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body, null, 2), {
    status,
    headers: { "Content-Type": "application/json", "Cache-Control": "no-store", ...headers },
  });
}

function parse<T extends z.ZodType>(schema: T, value: unknown): z.infer<T> {
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw new BadRequest(z.prettifyError(parsed.error).replaceAll("\n", "; "));
  return parsed.data;
}

async function bodyText(request: Request): Promise<string> {
  const length = Number(request.headers.get("content-length") ?? 0);
  if (length > MAX_DOCUMENT_BYTES) throw new BadRequest(`the body is larger than ${MAX_DOCUMENT_BYTES} bytes`);
  const text = await request.text();
  if (text.length > MAX_DOCUMENT_BYTES) throw new BadRequest(`the body is larger than ${MAX_DOCUMENT_BYTES} bytes`);
  return text;
}

async function bodyJson(request: Request): Promise<unknown> {
  try {
    return JSON.parse(await bodyText(request)) as unknown;
  } catch (error) {
    if (error instanceof BadRequest) throw error;
    throw new BadRequest("the body is not JSON");
  }
}

function query(request: Request): Record<string, string> {
  return Object.fromEntries(new URL(request.url).searchParams);
}

async function readRules(_request: Request, { env, config }: AdminDeps): Promise<Response> {
  const text = await env.PRICE_RULES.get(config.PRICE_RULES_KEY, "text");
  if (text === null) return json(404, { error: "no_rules", message: `KV key ${config.PRICE_RULES_KEY} holds no document.` });
  return new Response(text, {
    status: 200,
    headers: { "Content-Type": "application/json", "Cache-Control": "no-store", ETag: await documentTag(text) },
  });
}

async function validateRules(request: Request, { schemes }: AdminDeps): Promise<Response> {
  const checked = checkRulesDocument(await bodyText(request), schemes);
  return json(checked.ok ? 200 : 422, checked);
}

async function putRules(request: Request, { env, config, schemes, nowMs }: AdminDeps): Promise<Response> {
  const text = await bodyText(request);
  const checked = checkRulesDocument(text, schemes);
  // A document the gateway would refuse never reaches KV: its routes would answer 503.
  if (!checked.ok) return json(422, checked);
  const ifMatch = request.headers.get("if-match");
  if (ifMatch !== null && ifMatch !== (await documentTag(await env.PRICE_RULES.get(config.PRICE_RULES_KEY, "text")))) {
    return json(412, { error: "rules_changed", message: "The document changed since you read it (If-Match); pull it again." });
  }
  const { previous } = await replaceRules(env.PRICE_RULES, config.PRICE_RULES_KEY, text, nowMs());
  return json(200, {
    ...checked,
    key: config.PRICE_RULES_KEY,
    etag: await documentTag(text),
    previousKept: previous !== null,
    visibleWithinSeconds: config.PRICE_RULES_CACHE_TTL_SECONDS + 60,
  });
}

async function rulesHistory(_request: Request, { env, config }: AdminDeps): Promise<Response> {
  const versions = await listVersions(env.PRICE_RULES, config.PRICE_RULES_KEY);
  return json(200, {
    key: config.PRICE_RULES_KEY,
    versions: versions.map((v) => ({ key: v.key, replacedAt: new Date(v.replacedAtMs).toISOString() })),
  });
}

async function rollback(_request: Request, { env, config }: AdminDeps): Promise<Response> {
  const restored = await rollbackRules(env.PRICE_RULES, config.PRICE_RULES_KEY);
  if (!restored) return json(409, { error: "no_previous_version", message: "No earlier version is kept." });
  return json(200, {
    key: config.PRICE_RULES_KEY,
    restored: restored.restored.key,
    replacedAt: new Date(restored.restored.replacedAtMs).toISOString(),
    etag: await documentTag(restored.text),
  });
}

async function ledger(request: Request, { env }: AdminDeps): Promise<Response> {
  return json(200, { entries: await listLedger(env.LEDGER, parse(LedgerFilterSchema, query(request))) });
}

async function revenueReport(request: Request, { env }: AdminDeps): Promise<Response> {
  const parsed = parse(RevenueQuerySchema, query(request));
  return json(200, { by: parsed.by, revenue: await revenue(env.LEDGER, parsed) });
}

async function revoke(request: Request, { env }: AdminDeps): Promise<Response> {
  const { wallet, scope } = parse(RevokeSchema, await bodyJson(request));
  const revoked = await revokeSessions(env.WALLET_SESSIONS, splitWallet(wallet), scope);
  return json(200, { wallet, revoked });
}

async function grant(request: Request, { env, nowMs }: AdminDeps): Promise<Response> {
  const { wallet, scope, requests, ttlSeconds, reference } = parse(GrantSchema, await bodyJson(request));
  const entitlement = await grantOperatorSession(
    env.WALLET_SESSIONS,
    splitWallet(wallet),
    { scope, reference, requests, ttlMs: ttlSeconds * 1000 },
    nowMs(),
  );
  return json(200, {
    wallet,
    scope,
    reference,
    expiresAt: new Date(entitlement.expiresAtMs).toISOString(),
    remaining: entitlement.remaining,
  });
}

function splitWallet(wallet: string): { network: string; address: string } {
  const at = wallet.lastIndexOf(":");
  return { network: wallet.slice(0, at), address: wallet.slice(at + 1) };
}

async function refunds(_request: Request, { env }: AdminDeps): Promise<Response> {
  return json(200, { owed: await listOwedRefunds(env.LEDGER) });
}

async function mark(request: Request, { env, nowMs }: AdminDeps, paymentKey: string | undefined): Promise<Response> {
  const { transaction } = parse(MarkRefundSchema, await bodyJson(request));
  const key = decodeURIComponent(paymentKey ?? "");
  const result = await markRefund(env.LEDGER, key, transaction, nowMs());
  if (result === "not_owed") return json(404, { error: "not_owed", message: `No owed refund ${key}.` });
  if (result === "already_marked")
    return json(409, { error: "already_marked", message: `${key} is already marked refunded with another transaction.` });
  return json(200, { paymentKey: key, refundTransaction: transaction });
}

async function channels(_request: Request, { env }: AdminDeps): Promise<Response> {
  return json(200, await listChannels(env.LEDGER));
}

/** Claims a channel's unclaimed charges now, instead of at its next scheduled claim. */
async function claim(_request: Request, { env }: AdminDeps, channelId: string | undefined): Promise<Response> {
  const id = channelId!.toLowerCase();
  const outcome = await env.PAYMENT_CHANNELS.get(env.PAYMENT_CHANNELS.idFromName(id)).claimNow();
  if (outcome.kind === "failed") return json(502, { channelId: id, error: "claim_failed", message: outcome.reason });
  if (outcome.kind === "nothing_to_claim") return json(200, { channelId: id, claimed: false });
  return json(200, {
    channelId: id,
    claimed: true,
    totalClaimed: outcome.totalClaimed,
    claimTransaction: outcome.claimTransaction,
    settleTransaction: outcome.settleTransaction ?? null,
  });
}
