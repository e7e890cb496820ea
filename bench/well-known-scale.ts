// `/.well-known/x402` at 10 / 1,000 / 10,000 rules: the price document in KV is replaced by that many priced
// rules; "after an edit" times the first request once the rules' cache TTL has passed (KV read, compile, build),
// "cached" the requests after it. Run last: it leaves the stack with generated rules.
import { gzipSync } from "node:zlib";
import { openLocalBindings } from "../stack/gateway.js";
import type { RunningStack } from "../stack/start-stack.js";
import { buildStackRules } from "../stack/stack-rules.js";

export interface ScaleFigure {
  rules: number;
  bodyBytes: number;
  gzipBytes: number;
  afterEditMs: number[];
  cachedP50: number;
  cachedP95: number;
}

export async function measureWellKnownScale(stack: RunningStack, sizes: number[], cacheTtlSeconds: number): Promise<ScaleFigure[]> {
  const bindings = await openLocalBindings(stack.info.persistDir);
  const url = `${stack.info.gateway}/.well-known/x402`;
  const base = buildStackRules(stack.info.token.address, [], stack.info.network, { primaryUrl: stack.info.facilitators[0]!.url, secondaryUrl: stack.info.facilitators[1]!.url });
  const figures: ScaleFigure[] = [];
  try {
    for (const size of sizes) {
      const afterEditMs: number[] = [];
      let body = "";
      for (let edit = 0; edit < 3; edit++) {
        // Each edit changes the document, so the gateway compiles it again rather than keeping the cached set.
        const rules = Array.from({ length: size }, (_, i) => ({
          id: `scale-${i}`,
          methods: ["GET"],
          path: `/api/scale/${i}/:item`,
          price: "$0.01",
          accepts: [{ network: stack.info.network }],
          payTo: stack.info.payTo,
          description: `Generated resource ${i} (edit ${edit})`,
          mimeType: "application/json",
        }));
        await bindings.env.PRICE_RULES.put("price-rules", JSON.stringify({ ...base, rules }));
        await new Promise((resolve) => setTimeout(resolve, cacheTtlSeconds * 1000 + 1500));
        const start = performance.now();
        const response = await fetch(url);
        body = await response.text();
        afterEditMs.push(performance.now() - start);
        const listed = (JSON.parse(body) as { resources: { description: string }[] }).resources;
        if (response.status !== 200 || listed.length !== size || !listed[0]!.description.endsWith(`(edit ${edit})`)) {
          throw new Error(`well-known at ${size} rules: status ${response.status}, ${listed.length} resources, first "${listed[0]?.description}"`);
        }
      }
      const cached: number[] = [];
      for (let i = 0; i < 30; i++) {
        const start = performance.now();
        await (await fetch(url)).arrayBuffer();
        cached.push(performance.now() - start);
      }
      cached.sort((a, b) => a - b);
      figures.push({ rules: size, bodyBytes: Buffer.byteLength(body), gzipBytes: gzipSync(body).length, afterEditMs, cachedP50: cached[15]!, cachedP95: cached[28]! });
    }
  } finally {
    await bindings.dispose();
  }
  return figures;
}
