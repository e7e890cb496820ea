// `npm run cli -- rules check FILE`: the Worker's own validator on a file, before it reaches KV.
import { execFile } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { checkRulesText } from "../../scripts/rules-check.js";
import { buildStackRules } from "../../stack/stack-rules.js";
import { tempDir } from "../fixtures/temp-dir.js";

const TOKEN = "0x5FbDB2315678afecb367f032d93F642f64180aa3";
const dir = tempDir("rules-check-");
const file = (name: string, text: string) => {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
};
/** The CLI as a user runs it; asynchronous, so the other test files' servers are never held up. */
const cli = (...args: string[]) =>
  new Promise<{ status: number; stdout: string; stderr: string }>((resolve) => {
    execFile(process.execPath, ["--import", "tsx", "scripts/cli.ts", ...args], { encoding: "utf8" }, (error, stdout, stderr) => {
      resolve({ status: error ? Number((error as { code?: unknown }).code ?? 1) : 0, stdout, stderr });
    });
  });

describe("rules check", () => {
  it("passes the local stack's own rules (the documented example: below, through the CLI)", () => {
    const stack = buildStackRules(TOKEN, [], "eip155:31337", { primaryUrl: "http://127.0.0.1:1", secondaryUrl: "http://127.0.0.1:2" });
    expect(checkRulesText(JSON.stringify(stack))).toMatchObject({
      ok: true,
      lines: [expect.stringMatching(/^valid: \d+ rules \(\d+ discoverable\), 2 facilitators listed$/)],
    });
  });

  it("lists every problem at once, as the Worker would log them", () => {
    const checked = checkRulesText(
      JSON.stringify({
        rules: [
          {
            id: "free",
            path: "/free",
            price: "$0",
            accepts: [{ network: "eip155:8453" }],
            payTo: "0x90F79bf6EB2c4f870365E785982E1f101E93b906",
          },
          { id: "typo", path: "/typo", prise: "$0.01", accepts: [{ network: "eip155:8453" }] },
          {
            id: "well-known",
            path: "/.well-known/x402",
            price: "$0.01",
            accepts: [{ network: "eip155:8453" }],
            payTo: "0x90F79bf6EB2c4f870365E785982E1f101E93b906",
          },
        ],
      }),
    );
    expect(checked.ok).toBe(false);
    expect(checked.lines).toEqual([
      "rules[0] (free).accepts[0]: amount must be greater than zero (leave free routes out of the rules)",
      'rules[1]: Unrecognized key: "prise"',
      "rules[2] (well-known).path: /.well-known/x402 would price /.well-known/x402, which the gateway serves itself",
    ]);
    expect(checkRulesText("{ rules: [] }")).toMatchObject({ ok: false, lines: [expect.stringMatching(/^not JSON: /)] });
  });

  it("exits 0 for a valid file, 1 with the problems for an invalid one, 2 for a file it cannot read", async () => {
    const [good, bad, missing] = await Promise.all([
      cli("rules", "check", "examples/price-rules.json"),
      cli(
        "rules",
        "check",
        file("bad.json", JSON.stringify({ rules: [{ id: "a", path: "/a", price: "$0", accepts: [{ network: "eip155:8453" }] }] })),
      ),
      cli("rules", "check", join(dir, "missing.json")),
    ]);
    expect(good.status).toBe(0);
    expect(good.stdout).toMatch(/^examples\/price-rules\.json: valid: 1 rule /);
    expect(bad.status).toBe(1);
    expect(bad.stderr).toContain("1 problem; the gateway would refuse this document");
    expect(bad.stderr).toContain("  - rules[0] (a).accepts[0]: amount must be greater than zero");
    expect(missing.status).toBe(2);
    expect(missing.stderr).toContain("cannot read it (ENOENT)");
  }, 30_000);
});
