// The request's log line as a Workers Analytics Engine data point (docs/observability.md has the SQL that reads
// them). Column order is the contract with those queries: append, never reorder. Pure.
import type { RequestLogLine } from "./request-log.js";

/** blob1…blob8 and double1…double6, as docs/observability.md names them. */
export function toDataPoint(line: RequestLogLine): AnalyticsEngineDataPoint {
  return {
    indexes: [(line.rule ?? "").slice(0, 96)],
    blobs: [
      line.rule ?? "",
      line.outcome,
      line.method,
      line.network ?? "",
      line.scheme ?? "",
      line.facilitator ?? "",
      line.payTo ?? "",
      line.reason ?? "",
    ],
    doubles: [
      line.status,
      line.ms.total,
      line.ms.verify ?? 0,
      line.ms.origin ?? 0,
      line.ms.settle ?? 0,
      line.amount === undefined ? 0 : Number(line.amount),
    ],
  };
}
