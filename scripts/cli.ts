// `npm run cli -- <command>` (or `npx x402-gateway <command>`): the operator's commands (docs/admin.md).
// `rules check` runs offline with the Worker's own validator; the rest talk to the admin API of the running local
// stack (--local, the default) or of a deployed gateway (--remote). Exit 0: done; 1: refused or failed; 2: usage.
import { readFileSync, writeFileSync } from "node:fs";
import { callAdmin, CliError, resolveTarget, type AdminTarget } from "./admin-client.js";
import { checkRulesText } from "./rules-check.js";
import { canonicalJson, diffLines } from "./text-diff.js";

const USAGE = `usage: npm run cli -- <command> [--local | --remote] [--json]
  rules check FILE                 validate a rules document offline (the Worker's own validator)
  rules push FILE                  validate, then store it (the previous document is kept for rollback)
  rules pull [--out FILE]          print (or save) the live document
  rules diff FILE                  what pushing FILE would change
  rules history                    the kept previous versions
  rules rollback                   restore the newest kept version
  ledger [--since T] [--until T] [--rule ID] [--payer ADDR] [--status S] [--resolution R|any] [--limit N]
  revenue [--by rule|payTo|network|day] [--since T] [--until T]
  sessions revoke WALLET [--scope S]   WALLET as CAIP-10: eip155:8453:0xabc…
  sessions grant WALLET --scope S --requests N --ttl SECONDS --ref R   a session given, not bought (R: idempotency)
  refunds                          payments owed a refund (settled, then the origin failed)
  refunds mark PAYMENT_KEY --tx HASH   record the refund's transaction
--remote: X402_ADMIN_URL with X402_ADMIN_TOKEN (or X402_ADMIN_JWT_KEY, _ISSUER, _AUDIENCE)`;

interface Parsed {
  words: string[];
  flags: Record<string, string | true>;
}

const VALUE_FLAGS = new Set(["out", "since", "until", "rule", "payer", "status", "limit", "by", "scope", "tx", "requests", "ttl", "ref"]);

function parseArgs(argv: string[]): Parsed {
  const words: string[] = [];
  const flags: Record<string, string | true> = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith("--")) {
      words.push(arg);
      continue;
    }
    const name = arg.slice(2);
    if (VALUE_FLAGS.has(name)) {
      const value = argv[++i];
      if (value === undefined) throw new CliError(`--${name} needs a value\n${USAGE}`, 2);
      flags[name] = value;
    } else if (["local", "remote", "json"].includes(name)) flags[name] = true;
    else throw new CliError(`unknown option ${arg}\n${USAGE}`, 2);
  }
  return { words, flags };
}

function readFile(file: string): string {
  try {
    return readFileSync(file, "utf8");
  } catch (error) {
    throw new CliError(`${file}: cannot read it (${(error as NodeJS.ErrnoException).code ?? String(error)})`, 2);
  }
}

/** Checked here first, so a typo never travels: the Worker checks again before it stores anything. */
function checkedRules(file: string): string {
  const text = readFile(file);
  const checked = checkRulesText(text);
  if (!checked.ok)
    throw new CliError(
      `${file}: ${checked.lines.length} problem${checked.lines.length === 1 ? "" : "s"}; the gateway would refuse this document (503 on its routes):\n${checked.lines.map((l) => `  - ${l}`).join("\n")}`,
    );
  return text;
}

const print = (value: unknown) => console.log(typeof value === "string" ? value : JSON.stringify(value, null, 2));

function table(rows: Record<string, unknown>[], columns: string[]): string {
  if (rows.length === 0) return "(none)";
  const cells = rows.map((row) => columns.map((c) => (row[c] === null || row[c] === undefined ? "" : String(row[c]))));
  const widths = columns.map((c, i) => Math.max(c.length, ...cells.map((r) => r[i]!.length)));
  return [columns, ...cells]
    .map((r) =>
      r
        .map((cell, i) => cell.padEnd(widths[i]!))
        .join("  ")
        .trimEnd(),
    )
    .join("\n");
}

function queryString(flags: Parsed["flags"], names: string[]): string {
  const params = new URLSearchParams();
  for (const name of names) if (typeof flags[name] === "string") params.set(name, flags[name] as string);
  const text = params.toString();
  return text ? `?${text}` : "";
}

async function expectOk(reply: Awaited<ReturnType<typeof callAdmin>>): Promise<unknown> {
  if (reply.status >= 400) {
    const body = reply.json as { message?: string; problems?: string[] } | undefined;
    const problems = body?.problems ? `\n${body.problems.map((p) => `  - ${p}`).join("\n")}` : "";
    throw new CliError(
      `refused (${reply.status}): ${body?.message ?? (body?.problems ? `${body.problems.length} problem(s)` : reply.text.slice(0, 200))}${problems}`,
    );
  }
  return reply.json;
}

async function run(argv: string[]): Promise<void> {
  const { words, flags } = parseArgs(argv);
  const [group, command, ...rest] = words;
  if (group === "rules" && command === "check" && rest.length === 1) {
    const text = readFile(rest[0]!);
    const checked = checkRulesText(text);
    if (!checked.ok) return void checkedRules(rest[0]!);
    return print(`${rest[0]}: ${checked.lines[0]}`);
  }
  if (flags.local && flags.remote) throw new CliError("--local or --remote, not both", 2);
  const target = (): AdminTarget => resolveTarget(flags.remote ? "remote" : "local");
  const json = Boolean(flags.json);

  if (group === "rules" && command === "push" && rest.length === 1) {
    const text = checkedRules(rest[0]!);
    const body = (await expectOk(await callAdmin(target(), "PUT", "/rules", text))) as {
      rules: number;
      previousKept: boolean;
      etag: string;
    };
    return print(
      json
        ? body
        : `pushed ${rest[0]}: ${body.rules} rules${body.previousKept ? "; the previous document is kept (rules rollback restores it)" : ""}`,
    );
  }
  if (group === "rules" && command === "pull" && rest.length === 0) {
    const reply = await callAdmin(target(), "GET", "/rules");
    await expectOk(reply);
    if (typeof flags.out === "string") {
      writeFileSync(flags.out, reply.text.endsWith("\n") ? reply.text : `${reply.text}\n`);
      return print(`saved the live rules to ${flags.out}`);
    }
    return print(reply.text);
  }
  if (group === "rules" && command === "diff" && rest.length === 1) {
    const local = canonicalJson(checkedRules(rest[0]!));
    const reply = await callAdmin(target(), "GET", "/rules");
    if (reply.status !== 404) await expectOk(reply);
    const live = reply.status === 404 ? "" : canonicalJson(reply.text);
    const diff = diffLines(live, local);
    return print(
      diff.length === 0 ? `no difference between ${rest[0]} and the live rules` : [`--- live`, `+++ ${rest[0]}`, ...diff].join("\n"),
    );
  }
  if (group === "rules" && command === "history" && rest.length === 0) {
    const body = (await expectOk(await callAdmin(target(), "GET", "/rules/history"))) as {
      versions: { key: string; replacedAt: string }[];
    };
    return print(json ? body : table(body.versions, ["replacedAt", "key"]));
  }
  if (group === "rules" && command === "rollback" && rest.length === 0) {
    const body = (await expectOk(await callAdmin(target(), "POST", "/rules/rollback"))) as { restored: string; replacedAt: string };
    return print(json ? body : `restored the version replaced at ${body.replacedAt}`);
  }
  if (group === "ledger" && command === undefined) {
    const body = (await expectOk(
      await callAdmin(
        target(),
        "GET",
        `/ledger${queryString(flags, ["since", "until", "rule", "payer", "status", "resolution", "limit"])}`,
      ),
    )) as { entries: Record<string, unknown>[] };
    return print(
      json
        ? body
        : table(body.entries, [
            "created_at",
            "rule_id",
            "status",
            "amount",
            "network",
            "payer",
            "pay_to",
            "transaction_hash",
            "resolution",
          ]),
    );
  }
  if (group === "revenue" && command === undefined) {
    const body = (await expectOk(await callAdmin(target(), "GET", `/revenue${queryString(flags, ["by", "since", "until"])}`))) as {
      by: string;
      revenue: Record<string, unknown>[];
    };
    return print(
      json ? body : table(body.revenue, ["group", "network", "asset", "payments", "amount"]).replace(/^group/, body.by.padEnd(5)),
    );
  }
  if (group === "sessions" && command === "revoke" && rest.length === 1) {
    const body = (await expectOk(
      await callAdmin(
        target(),
        "POST",
        "/sessions/revoke",
        JSON.stringify({ wallet: rest[0], ...(typeof flags.scope === "string" ? { scope: flags.scope } : {}) }),
      ),
    )) as { revoked: number };
    return print(json ? body : `revoked ${body.revoked} session${body.revoked === 1 ? "" : "s"} of ${rest[0]}`);
  }
  if (
    group === "sessions" &&
    command === "grant" &&
    rest.length === 1 &&
    typeof flags.scope === "string" &&
    typeof flags.ref === "string"
  ) {
    const body = {
      wallet: rest[0],
      scope: flags.scope,
      requests: Number(flags.requests),
      ttlSeconds: Number(flags.ttl),
      reference: flags.ref,
    };
    const granted = (await expectOk(await callAdmin(target(), "POST", "/sessions/grant", JSON.stringify(body)))) as {
      remaining: number;
      expiresAt: string;
    };
    return print(json ? granted : `${rest[0]} has ${granted.remaining} requests in ${flags.scope} until ${granted.expiresAt}`);
  }
  if (group === "refunds" && command === undefined) {
    const body = (await expectOk(await callAdmin(target(), "GET", "/refunds"))) as { owed: Record<string, unknown>[] };
    return print(
      json ? body : table(body.owed, ["payment_key", "created_at", "rule_id", "amount", "asset", "network", "payer", "transaction_hash"]),
    );
  }
  if (group === "refunds" && command === "mark" && rest.length === 1 && typeof flags.tx === "string") {
    const body = await expectOk(
      await callAdmin(target(), "POST", `/refunds/${encodeURIComponent(rest[0]!)}/mark`, JSON.stringify({ transaction: flags.tx })),
    );
    return print(json ? body : `marked ${rest[0]} refunded by ${flags.tx}`);
  }
  throw new CliError(USAGE, 2);
}

try {
  await run(process.argv.slice(2));
} catch (error) {
  if (!(error instanceof CliError)) throw error;
  console.error(error.message);
  process.exit(error.exitCode);
}
