// Throughput at a fixed number of connections (autocannon, bounded in time): what each Worker sustains on this
// machine, with the load generator on the same 2 cores, so read the ratios rather than the absolute figures.
import autocannon from "autocannon";

export interface ThroughputCase {
  system: "gateway" | "peer" | "bare Worker";
  route: string;
  /** What sets this run apart (e.g. the gateway's log line off); printed after the route. */
  variant?: string;
  url: string;
  headers?: Record<string, string>;
  /** The status every answer must have; any other fails the run. */
  status: number;
}

export interface ThroughputFigure {
  system: ThroughputCase["system"];
  route: string;
  /** "system, route[, variant]". */
  name: string;
  connections: number;
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
}

export async function measureThroughput(cases: ThroughputCase[], connections: number[], seconds: number): Promise<ThroughputFigure[]> {
  const figures: ThroughputFigure[] = [];
  for (const count of connections) {
    for (const c of cases) {
      const name = [c.system, c.route, ...(c.variant ? [c.variant] : [])].join(", ");
      const result = await autocannon({
        url: c.url,
        connections: count,
        duration: seconds,
        headers: c.headers ?? {},
        expectBody: undefined,
      });
      const wrong = Object.entries(result.statusCodeStats ?? {}).filter(([code]) => Number(code) !== c.status);
      if (result.errors > 0 || result.timeouts > 0 || wrong.length > 0) {
        throw new Error(
          `${name} at ${count} connections: ${result.errors} errors, ${result.timeouts} timeouts, statuses ${JSON.stringify(result.statusCodeStats)}`,
        );
      }
      figures.push({
        system: c.system,
        route: c.route,
        name,
        connections: count,
        requestsPerSecond: result.requests.average,
        p50Ms: result.latency.p50,
        p99Ms: result.latency.p99,
      });
    }
  }
  return figures;
}
