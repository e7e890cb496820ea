// The demo origin: a small JSON API the stack puts behind the gateway. Some routes are priced by the
// stack's rules, /api/health is free. Run as its own process: `tsx stack/demo-origin.ts` with PORT.
import { createServer } from "node:http";

const CONDITIONS = ["sunny", "cloudy", "rain", "snow", "windy"];

export function createDemoOrigin() {
  const stats = { calls: 0, byPath: {} as Record<string, number> };
  return createServer(async (req, res) => {
    const url = new URL(req.url ?? "/", "http://x");
    // With its length, as most JSON APIs answer (a paid answer of known size is read whole before settling).
    const json = (status: number, body: unknown) => {
      const text = JSON.stringify(body);
      res.writeHead(status, { "content-type": "application/json", "content-length": String(Buffer.byteLength(text)) }).end(text);
    };
    if (url.pathname === "/__stats") return json(200, stats);
    stats.calls++;
    stats.byPath[url.pathname] = (stats.byPath[url.pathname] ?? 0) + 1;

    // /api/weather-pass/:city is the same answer, sold by another seller as a session (stack/stack-rules.ts).
    const weather = /^\/api\/weather(?:-pass)?\/([^/]+)$/.exec(url.pathname);
    if (req.method === "GET" && weather) {
      const city = decodeURIComponent(weather[1]!);
      const seed = [...city].reduce((sum, ch) => sum + ch.charCodeAt(0), 0);
      return json(200, { city, temperatureC: (seed % 35) - 5, conditions: CONDITIONS[seed % CONDITIONS.length] });
    }
    // Several sellers of the same answer (the agent buyer's tests choose between them).
    const tides = /^\/api\/sellers\/([^/]+)\/tides\/([^/]+)$/.exec(url.pathname);
    if (req.method === "GET" && tides)
      return json(200, { seller: tides[1], port: decodeURIComponent(tides[2]!), highWater: ["06:12", "18:37"] });
    const forecast = /^\/api\/forecast\/([^/]+)$/.exec(url.pathname);
    if (req.method === "GET" && forecast) {
      const city = decodeURIComponent(forecast[1]!);
      return json(200, { city, days: [1, 2, 3].map((day) => ({ day, conditions: CONDITIONS[(city.length + day) % CONDITIONS.length] })) });
    }
    if (req.method === "GET" && url.pathname === "/api/premium/report") {
      return json(200, {
        title: "Quarterly market report",
        sections: ["summary", "outlook", "risks"],
        generatedAt: new Date().toISOString(),
      });
    }
    if (req.method === "POST" && url.pathname === "/api/summarize") {
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      const text = Buffer.concat(chunks).toString("utf8");
      return json(200, { words: text.split(/\s+/).filter(Boolean).length, summary: text.slice(0, 80) });
    }
    if (req.method === "POST" && url.pathname === "/api/complete") {
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      const request = JSON.parse(Buffer.concat(chunks).toString("utf8") || "{}") as { prompt?: string; max_tokens?: number };
      return json(200, { completion: `${request.prompt ?? ""} …`.slice(0, 200), max_tokens: request.max_tokens ?? 256 });
    }
    const shop = /^\/api\/shops\/([^/]+)\/catalog$/.exec(url.pathname);
    if (req.method === "GET" && shop) return json(200, { shop: decodeURIComponent(shop[1]!), items: ["widget", "gadget"] });
    const fx = /^\/api\/fx\/([A-Za-z]{3})-([A-Za-z]{3})$/.exec(url.pathname);
    if (req.method === "GET" && fx) return json(200, { base: fx[1]!.toUpperCase(), quote: fx[2]!.toUpperCase(), rate: 1.0842 });
    if (req.method === "POST" && url.pathname === "/api/mcp") return serveMcp(await readJson(req), res);
    const bench = /^\/api\/bench\/([^/]+)$/.exec(url.pathname);
    if (req.method === "GET" && bench) return json(200, { bench: bench[1] });
    if (req.method === "GET" && url.pathname === "/api/headlines") return json(200, { headlines: ["Rates unchanged", "Rain in Paris"] });
    if (url.pathname === "/api/flaky") return json(500, { error: "the origin failed" });
    // Paid per call from a channel; `fail` answers 500, which the gateway must not charge for.
    if (req.method === "GET" && url.pathname.startsWith("/api/batch/")) {
      const item = decodeURIComponent(url.pathname.slice("/api/batch/".length));
      return item === "fail" ? json(500, { error: "the origin failed" }) : json(200, { item, served: true });
    }
    if (url.pathname === "/api/slow") {
      const ms = Math.min(Number(url.searchParams.get("ms") ?? 1000), 30_000);
      await new Promise((resolve) => setTimeout(resolve, ms));
      return json(200, { waitedMs: ms });
    }
    // Metered (upto) demo routes: the usage is the `tokens` query value (absent: none reported, `bad`: malformed).
    if (req.method === "GET" && url.pathname === "/api/metered/header") {
      const tokens = url.searchParams.get("tokens");
      return res
        .writeHead(200, { "content-type": "application/json", ...(tokens !== null ? { "x-usage-units": tokens } : {}) })
        .end(JSON.stringify({ completion: "metered by header" }));
    }
    if (req.method === "GET" && url.pathname === "/api/metered/json") {
      const tokens = url.searchParams.get("tokens");
      return json(200, {
        completion: "metered by body",
        ...(tokens !== null ? { usage: { total_tokens: /^\d+$/.test(tokens) ? Number(tokens) : tokens } } : {}),
      });
    }
    if (req.method === "GET" && url.pathname === "/api/metered/stream") {
      // An LLM-style stream: text events as they are "generated", then the usage in the last event.
      const tokens = url.searchParams.get("tokens");
      res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
      for (const word of ["metered", "by", "stream"]) {
        res.write(`data: ${JSON.stringify({ text: word })}\n\n`);
        await new Promise((resolve) => setTimeout(resolve, Number(url.searchParams.get("gapMs") ?? 150)));
      }
      if (tokens !== null) res.write(`event: usage\ndata: ${JSON.stringify({ usage: { total_tokens: Number(tokens) } })}\n\n`);
      return res.end();
    }
    if (url.pathname === "/api/health") return json(200, { ok: true });
    json(404, { error: "not found" });
  });
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const server = createDemoOrigin();
  server.listen(Number(process.env.PORT ?? 0), "127.0.0.1", () => {
    const address = server.address();
    console.log(`origin listening on http://127.0.0.1:${typeof address === "object" && address ? address.port : "?"}`);
  });
}

/** A tiny MCP server (streamable HTTP, JSON responses): two tools, `get_forecast` and `translate`. */
function serveMcp(message: unknown, res: import("node:http").ServerResponse): undefined {
  const rpc = message as { id?: unknown; method?: string; params?: { name?: string; arguments?: Record<string, unknown> } };
  const reply = (result: unknown): undefined =>
    void res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ jsonrpc: "2.0", id: rpc.id, result }));
  if (rpc.id === undefined) return void res.writeHead(202).end();
  if (rpc.method === "initialize")
    return reply({ protocolVersion: "2025-06-18", capabilities: { tools: {} }, serverInfo: { name: "demo-mcp", version: "1.0.0" } });
  if (rpc.method === "tools/list") {
    return reply({
      tools: [
        {
          name: "get_forecast",
          description: "Tomorrow's forecast for a city",
          inputSchema: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
        },
        {
          name: "translate",
          description: "Translate a short text",
          inputSchema: { type: "object", properties: { text: { type: "string" }, to: { type: "string" } }, required: ["text", "to"] },
        },
      ],
    });
  }
  if (rpc.method === "tools/call") {
    const args = rpc.params?.arguments ?? {};
    if (rpc.params?.name === "get_forecast")
      return reply({ content: [{ type: "text", text: `Tomorrow in ${String(args.city)}: sunny, 18°C` }] });
    if (rpc.params?.name === "translate") return reply({ content: [{ type: "text", text: `[${String(args.to)}] ${String(args.text)}` }] });
  }
  res
    .writeHead(200, { "content-type": "application/json" })
    .end(JSON.stringify({ jsonrpc: "2.0", id: rpc.id, error: { code: -32601, message: "Method not found" } }));
}

async function readJson(req: import("node:http").IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  try {
    return JSON.parse(Buffer.concat(chunks).toString("utf8"));
  } catch {
    return {};
  }
}
