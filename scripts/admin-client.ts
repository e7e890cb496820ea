// The CLI's side of the admin API (docs/admin.md): where the gateway is and how to authenticate.
// --local (default): the running `npm run dev` stack, read from its stack file (gateway URL, admin token).
// --remote: X402_ADMIN_URL (the gateway's base URL) with X402_ADMIN_TOKEN (the bearer secret or a ready JWT), or a
// JWT minted here per call from X402_ADMIN_JWT_KEY (a private JWK) with X402_ADMIN_JWT_ISSUER / _AUDIENCE.
import { readFileSync } from "node:fs";
import { importJWK, SignJWT, type JWK } from "jose";

export const DEFAULT_ADMIN_PREFIX = "/.well-known/x402/admin";

export interface AdminTarget {
  baseUrl: string;
  prefix: string;
  authorization(): Promise<string>;
  describe: string;
}

export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
  }
}

export function resolveTarget(mode: "local" | "remote", env: NodeJS.ProcessEnv = process.env): AdminTarget {
  const prefix = env.X402_ADMIN_PREFIX || DEFAULT_ADMIN_PREFIX;
  if (mode === "local") {
    const file = env.STACK_FILE || ".dev/stack.json";
    let stack: { gateway?: string; admin?: { token: string; prefix: string } };
    try {
      stack = JSON.parse(readFileSync(file, "utf8")) as typeof stack;
    } catch {
      throw new CliError(`no local stack described in ${file}: start it with \`npm run dev\` (or use --remote)`, 2);
    }
    if (!stack.gateway || !stack.admin) throw new CliError(`${file} names no admin API: restart \`npm run dev\``, 2);
    const { token } = stack.admin;
    return {
      baseUrl: stack.gateway,
      prefix: stack.admin.prefix,
      authorization: async () => `Bearer ${token}`,
      describe: `local stack ${stack.gateway}`,
    };
  }
  const baseUrl = env.X402_ADMIN_URL?.replace(/\/+$/, "");
  if (!baseUrl) throw new CliError("--remote needs X402_ADMIN_URL (the gateway's base URL, e.g. https://api.example.com)", 2);
  // The credential goes with every call: never in clear over a network (loopback is this machine).
  const remote = new URL(baseUrl);
  if (remote.protocol !== "https:" && !["127.0.0.1", "localhost", "[::1]"].includes(remote.hostname)) {
    throw new CliError(`X402_ADMIN_URL must be https:// (the admin credential would cross the network in clear): ${baseUrl}`, 2);
  }
  if (env.X402_ADMIN_TOKEN) {
    const token = env.X402_ADMIN_TOKEN;
    return { baseUrl, prefix, authorization: async () => `Bearer ${token}`, describe: baseUrl };
  }
  if (env.X402_ADMIN_JWT_KEY) {
    const jwk = JSON.parse(env.X402_ADMIN_JWT_KEY) as JWK;
    const issuer = env.X402_ADMIN_JWT_ISSUER;
    const audience = env.X402_ADMIN_JWT_AUDIENCE;
    if (!issuer || !audience) throw new CliError("X402_ADMIN_JWT_KEY needs X402_ADMIN_JWT_ISSUER and X402_ADMIN_JWT_AUDIENCE", 2);
    const alg = jwk.alg ?? (jwk.kty === "oct" ? "HS256" : jwk.kty === "OKP" ? "EdDSA" : jwk.kty === "RSA" ? "RS256" : "ES256");
    return {
      baseUrl,
      prefix,
      describe: baseUrl,
      async authorization() {
        const key = await importJWK(jwk, alg);
        const jwt = await new SignJWT({})
          .setProtectedHeader({ alg, ...(jwk.kid ? { kid: jwk.kid } : {}) })
          .setIssuer(issuer)
          .setAudience(audience)
          .setSubject(env.X402_ADMIN_JWT_SUBJECT || "x402-gateway-cli")
          .setIssuedAt()
          .setExpirationTime("5m")
          .sign(key);
        return `Bearer ${jwt}`;
      },
    };
  }
  throw new CliError("--remote needs X402_ADMIN_TOKEN, or X402_ADMIN_JWT_KEY with _ISSUER and _AUDIENCE", 2);
}

export interface AdminReply {
  status: number;
  text: string;
  json: unknown;
  headers: Headers;
}

export async function callAdmin(
  target: AdminTarget,
  method: string,
  path: string,
  body?: string,
  headers: Record<string, string> = {},
): Promise<AdminReply> {
  let response: Response;
  try {
    response = await fetch(`${target.baseUrl}${target.prefix}${path}`, {
      method,
      headers: {
        Authorization: await target.authorization(),
        ...(body !== undefined ? { "Content-Type": "application/json" } : {}),
        ...headers,
      },
      ...(body !== undefined ? { body } : {}),
    });
  } catch (error) {
    throw new CliError(
      `cannot reach ${target.describe}: ${error instanceof Error ? ((error.cause as Error | undefined)?.message ?? error.message) : String(error)}`,
    );
  }
  const text = await response.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  if (response.status === 401 || response.status === 404 || response.status >= 500) {
    const message = (json as { message?: string } | undefined)?.message ?? text.slice(0, 200);
    if (response.status === 401) throw new CliError(`refused by ${target.describe}: ${message}`);
    if (response.status === 404 && (json as { error?: string } | undefined)?.error === "admin_disabled")
      throw new CliError(`${target.describe}: ${message}`);
    if (response.status >= 500) throw new CliError(`${target.describe} failed (${response.status}): ${message}`);
  }
  return { status: response.status, text, json, headers: response.headers };
}
