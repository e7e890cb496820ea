// Reads a metered origin answer's usage (docs/metering.md). A header meter leaves the body streaming; the body
// meters (JSON field, bytes, elapsed time) read it whole first, up to a limit, because the settled amount goes
// in PAYMENT-RESPONSE, a header. A body over the limit is still delivered in full, its usage unread.
import { readUnits, type MeterSpec, type UsageReading } from "./meter-terms.js";

/** The largest body a body meter reads; larger ones count as malformed usage (the rule's policy applies). */
const MAX_METERED_BODY_BYTES = 10 * 1024 * 1024;

export interface MeteredAnswer {
  /** The origin's answer to send on: the metering header removed unless exposed; a read body replayed. */
  response: Response;
  reading: UsageReading;
}

export async function readUsage(spec: MeterSpec, origin: Response, forwardedAtMs: number, nowMs: () => number): Promise<MeteredAnswer> {
  const { from } = spec;
  if (typeof from === "object" && "header" in from) {
    const reading = readUnits(origin.headers.get(from.header) ?? undefined);
    if (spec.exposeUsageHeader) return { response: origin, reading };
    const headers = new Headers(origin.headers);
    headers.delete(from.header);
    return { response: new Response(origin.body, { status: origin.status, statusText: origin.statusText, headers }), reading };
  }
  if (typeof from === "object" && "sse" in from) throw new Error("an sse meter reads the stream as it passes (metering/sse-meter.ts)");
  const read = await readBodyWithin(origin.body, MAX_METERED_BODY_BYTES);
  const elapsedMs = nowMs() - forwardedAtMs;
  const response = new Response(read.complete ? read.bytes : read.stream, {
    status: origin.status,
    statusText: origin.statusText,
    headers: origin.headers,
  });
  if (!read.complete) return { response, reading: { ok: false, problem: "malformed" } };
  if (from === "bytes") return { response, reading: { ok: true, units: String(read.bytes.byteLength) } };
  if (from === "elapsed-ms") return { response, reading: { ok: true, units: String(Math.max(0, elapsedMs)) } };
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder().decode(read.bytes));
  } catch {
    return { response, reading: { ok: false, problem: "malformed" } };
  }
  return { response, reading: readUnits(fieldAt(json, from.json)) };
}

/** The usage in a stream's last event: its data is JSON holding the field at `path`. */
export function readEventUsage(lastData: string | undefined, path: string): UsageReading {
  if (lastData === undefined) return { ok: false, problem: "missing" };
  let json: unknown;
  try {
    json = JSON.parse(lastData);
  } catch {
    return { ok: false, problem: "malformed" };
  }
  return readUnits(fieldAt(json, path));
}

/** The value at a dotted path of parsed JSON, or undefined. */
function fieldAt(json: unknown, path: string): unknown {
  let value = json;
  for (const key of path.split(".")) {
    if (value === null || typeof value !== "object" || Array.isArray(value) || !Object.hasOwn(value, key)) return undefined;
    value = (value as Record<string, unknown>)[key];
  }
  return value;
}

type BodyRead = { complete: true; bytes: Uint8Array } | { complete: false; stream: ReadableStream<Uint8Array> };

async function readBodyWithin(body: ReadableStream<Uint8Array> | null, limit: number): Promise<BodyRead> {
  if (!body) return { complete: true, bytes: new Uint8Array() };
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    total += value.byteLength;
    if (total > limit) {
      // Too large to meter: what was read goes first, then the rest as it arrives.
      return {
        complete: false,
        stream: new ReadableStream<Uint8Array>({
          start(controller) {
            for (const chunk of chunks) controller.enqueue(chunk);
          },
          async pull(controller) {
            const next = await reader.read();
            if (next.done) controller.close();
            else controller.enqueue(next.value);
          },
          cancel: (reason) => reader.cancel(reason),
        }),
      };
    }
  }
  const bytes = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return { complete: true, bytes };
}
