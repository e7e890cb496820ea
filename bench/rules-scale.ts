// The gateway at 10 / 1,000 / 10,000 rules: the price document in KV is replaced by that many priced rules.
// After each edit (and the rules' cache TTL) the first priced request pays for reading and compiling the document,
// the first `/.well-known/x402` for building the listing; later requests are timed as the cached cost of a 402,
// a free route and the listing. The 402 and the free route take turns with the bare Worker, whose time in the same
// rounds is what each size is compared by: the sizes run minutes apart, and the machine drifts in between. Run
// last: it leaves the stack with generated rules.
import { gzipSync } from "node:zlib";
import { openLocalBindings } from "../stack/gateway.js";
import type { RunningStack } from "../stack/start-stack.js";
import { buildStackRules } from "../stack/stack-rules.js";
import { summarise, type Stats } from "./measure.js";
import { generatedRules } from "./generated-rules.js";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { WRANGLER_OFFLINE_ENV } from "../stack/gateway.js";

const run = promisify(execFile);

export interface ScaleFigure {
  rules: number;
  wellKnownBytes: number;
  wellKnownGzipBytes: number;
  /** The first priced 402 after each edit: KV read + compile (ms). */
  first402Ms: EditFigures;
  /** The first listing after each edit: build (ms). */
  firstWellKnownMs: EditFigures;
  cached: Record<"402" | "free" | "wellKnown" | "bare", Stats>;
}

/** Per kind of edit, in the order made. */
export interface EditFigures {
  /** A whole new document: every rule compiled. */
  newDocument: number[];
  /** One rule's price changed: that rule compiled, the rest reused. */
  oneRule: number[];
}

/**
 * A new document, two edits of one rule, then two more new documents: a first request is one sample, and one
 * badly timed garbage collection would decide a single one. Each new document rewrites every rule's description.
 */
const EDITS: { document: number; kind: keyof EditFigures }[] = [
  { document: 0, kind: "newDocument" },
  { document: 0, kind: "oneRule" },
  { document: 0, kind: "oneRule" },
  { document: 1, kind: "newDocument" },
  { document: 2, kind: "newDocument" },
];
const CACHED_ROUNDS = 100;

export async function measureRulesScale(
  stack: RunningStack,
  sizes: number[],
  cacheTtlSeconds: number,
  bareUrl: string,
): Promise<ScaleFigure[]> {
  const bindings = await openLocalBindings(stack.info.persistDir);
  const gateway = stack.info.gateway;
  const base = buildStackRules(stack.info.token.address, [], stack.info.network, {
    primaryUrl: stack.info.facilitators[0]!.url,
    secondaryUrl: stack.info.facilitators[1]!.url,
  });
  const timed = async (url: string, status: number): Promise<{ ms: number; body: string }> => {
    const start = performance.now();
    const response = await fetch(url);
    const body = await response.text();
    const ms = performance.now() - start;
    if (response.status !== status) throw new Error(`${url}: expected ${status}, got ${response.status}`);
    return { ms, body };
  };
  const figures: ScaleFigure[] = [];
  try {
    for (const size of sizes) {
      // The last rule is the one priced: a linear scan would look at every other rule first.
      const priced = `${gateway}/api/scale/${size - 1}/item`;
      const first402Ms: EditFigures = { newDocument: [], oneRule: [] };
      const firstWellKnownMs: EditFigures = { newDocument: [], oneRule: [] };
      let listing = "";
      for (const [edit, { document, kind }] of EDITS.entries()) {
        const rules = generatedRules(size, edit, stack.info.network, stack.info.payTo, document);
        await bindings.env.PRICE_RULES.put("price-rules", JSON.stringify({ ...base, rules }));
        await new Promise((resolve) => setTimeout(resolve, cacheTtlSeconds * 1000 + 1500));
        first402Ms[kind].push((await timed(priced, 402)).ms);
        const built = await timed(`${gateway}/.well-known/x402`, 200);
        firstWellKnownMs[kind].push(built.ms);
        listing = built.body;
        const listed = (JSON.parse(listing) as { resources: { description: string }[] }).resources;
        if (listed.length !== size || !listed[0]!.description.endsWith(`(edit ${edit})`))
          throw new Error(`listing at ${size} rules: ${listed.length} resources, "${listed[0]?.description}"`);
      }
      const samples = { "402": [] as number[], free: [] as number[], wellKnown: [] as number[], bare: [] as number[] };
      for (let round = 0; round < CACHED_ROUNDS; round++) {
        samples["402"].push((await timed(priced, 402)).ms);
        samples.bare.push((await timed(`${bareUrl}/api/health`, 200)).ms);
        samples.free.push((await timed(`${gateway}/api/health`, 200)).ms);
      }
      // Apart: each listing at 10,000 rules is 9 MB, whose garbage would slow whatever request came next.
      for (let round = 0; round < CACHED_ROUNDS; round++) samples.wellKnown.push((await timed(`${gateway}/.well-known/x402`, 200)).ms);
      figures.push({
        rules: size,
        wellKnownBytes: Buffer.byteLength(listing),
        wellKnownGzipBytes: gzipSync(listing).length,
        first402Ms,
        firstWellKnownMs,
        cached: {
          "402": summarise("402", samples["402"]),
          free: summarise("free", samples.free),
          wellKnown: summarise("wellKnown", samples.wellKnown),
          bare: summarise("bare", samples.bare),
        },
      });
    }
  } finally {
    await bindings.dispose();
  }
  return figures;
}

export interface CompileFigure {
  rules: number;
  /** JSON.parse of the document (ms, median). */
  parseMs: number;
  /** compilePriceRules on a document none of whose rules were compiled before (ms, median). */
  newDocumentMs: number;
  /** The same after one rule's price changed: the other rules come from the memo (ms, median). */
  oneRuleEditedMs: number;
}

/** compilePriceRules timed inside workerd (bench/workerd/compile.bench-run.ts, run by vitest-pool-workers). */
export async function measureCompileInWorkerd(): Promise<CompileFigure[]> {
  const { stdout } = await run("node_modules/.bin/vitest", ["run", "-c", "bench/workerd/vitest.config.ts"], {
    env: { ...process.env, ...WRANGLER_OFFLINE_ENV },
    maxBuffer: 16 * 1024 * 1024,
    timeout: 300_000,
  });
  const figures = [...stdout.matchAll(/COMPILE (\{.*\})/g)].map((m) => JSON.parse(m[1]!) as CompileFigure);
  if (figures.length === 0) throw new Error(`no compile figures in:\n${stdout.slice(-2000)}`);
  return figures;
}
