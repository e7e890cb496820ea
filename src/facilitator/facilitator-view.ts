// What one request knows about its facilitators: each one's health (circuit) and `/supported` kinds, read from
// the FacilitatorState Durable Object through a short per-isolate cache, and the outcomes of this request's
// calls, applied here at once and reported to the object off the response path.
import type { SupportedKind } from "../schemes/scheme-plugin.js";
import { caip2FromV1 } from "../x402/v1.js";
import { applyOutcome, availabilityOf, HEALTHY, type Availability, type FacilitatorHealth } from "./circuit.js";
import { buildAuthorize } from "./facilitator-auth.js";
import { createHttpFacilitatorClient, type FacilitatorClient, type FacilitatorEndpoint } from "./facilitator-client.js";
import { isAllowed, type CircuitPolicy, type ResolvedFacilitator } from "./facilitator-config.js";
import type { FacilitatorRecord, FacilitatorState, ReportedOutcome, SupportedAnswer } from "./facilitator-state.js";
import { fetchSupported, SUPPORTED_FRESH_MS } from "./supported-kinds.js";
import { afterThisTask } from "../after-this-task.js";

export interface FacilitatorViewOptions {
  facilitators: readonly ResolvedFacilitator[];
  policy: CircuitPolicy;
  state: DurableObjectNamespace<FacilitatorState>;
  /** Names the FacilitatorState object: the rules document's KV key. */
  scope: string;
  /** Where `auth` secrets are read from, by name: the Worker's env. */
  secrets: object;
  fetch: typeof fetch;
  nowMs: () => number;
  /** How long an isolate reuses what it read from the object. */
  cacheMs: number;
  waitUntil: (promise: Promise<unknown>) => void;
}

export interface ViewEntry {
  facilitator: ResolvedFacilitator;
  key: string;
  health: FacilitatorHealth;
  supported: SupportedAnswer | null;
}

interface CachedState {
  readAtMs: number;
  records: Map<string, FacilitatorRecord>;
}

// Per isolate, plain data only (workerd forbids sharing one request's I/O with another).
const cache = new Map<string, CachedState>();
const refreshing = new Map<string, number>();

/**
 * Successes seen while the facilitator's circuit was healthy change nothing but its call count and latency: an
 * isolate sends them at most every ROUTINE_REPORT_MS (or ROUTINE_REPORT_MAX of them), with the next report that
 * goes anyway, instead of writing the one object every isolate shares on every paid request.
 */
const ROUTINE_REPORT_MS = 10_000;
const ROUTINE_REPORT_MAX = 64;
const routine = new Map<string, { outcomes: ReportedOutcome[]; sinceMs: number }>();

export function stateKey(facilitator: Pick<ResolvedFacilitator, "id" | "url">): string {
  return `${facilitator.id} ${facilitator.url}`;
}

export async function loadFacilitatorView(options: FacilitatorViewOptions): Promise<FacilitatorView> {
  const now = options.nowMs();
  const keys = options.facilitators.map(stateKey);
  let cached = cache.get(options.scope);
  if (!cached || now - cached.readAtMs >= options.cacheMs || keys.some((key) => !cached!.records.has(key))) {
    const records = new Map(cached?.records);
    try {
      // SAFETY: the object returns plain FacilitatorRecord data; RPC typing only loses the record's value type.
      const read = (await stub(options).read(keys)) as Record<string, FacilitatorRecord>;
      for (const [key, record] of Object.entries(read)) records.set(key, record);
    } catch (cause) {
      // Health is advisory: without the object, every facilitator counts as healthy and is asked directly.
      console.error(JSON.stringify({ event: "facilitator_state_unavailable", scope: options.scope, cause: String(cause) }));
    }
    cached = { readAtMs: now, records };
    cache.set(options.scope, cached);
  }
  const view = new FacilitatorView(options, cached.records);
  await view.refreshSupported();
  return view;
}

export class FacilitatorView {
  readonly entries: ViewEntry[];
  readonly #outcomes: ReportedOutcome[] = [];
  #reportScheduled = false;

  constructor(
    private readonly options: FacilitatorViewOptions,
    private readonly records: Map<string, FacilitatorRecord>,
  ) {
    this.entries = options.facilitators.map((facilitator) => {
      const key = stateKey(facilitator);
      const record = records.get(key);
      return { facilitator, key, health: record?.health ?? HEALTHY, supported: record?.supported ?? null };
    });
  }

  availability(entry: ViewEntry): Availability {
    return availabilityOf(entry.health, this.options.policy, this.options.nowMs());
  }

  /** Closed, with no failure since its last success: nothing suggests a call to it would not arrive. */
  unfailing(entry: ViewEntry): boolean {
    return this.availability(entry) === "closed" && entry.health.consecutiveFailures === 0;
  }

  /** Facilitators in preference order: `prefer` (ids) first as listed, then by priority, then document order. */
  ordered(prefer: readonly string[] = []): ViewEntry[] {
    const rank = (entry: ViewEntry) => {
      const at = prefer.indexOf(entry.facilitator.id);
      return at === -1 ? prefer.length : at;
    };
    return [...this.entries].sort(
      (a, b) => rank(a) - rank(b) || a.facilitator.priority - b.facilitator.priority || a.facilitator.index - b.facilitator.index,
    );
  }

  /** The kind this facilitator lists for a payment, if it may and does serve it. */
  kindFor(entry: ViewEntry, scheme: string, network: string, x402Version: number): SupportedKind | undefined {
    if (!isAllowed(entry.facilitator, scheme, network)) return undefined;
    return entry.supported?.kinds.find(
      (kind) =>
        kind.x402Version === x402Version && kind.scheme === scheme && (kind.network === network || caip2FromV1(kind.network) === network),
    );
  }

  /** Whether some facilitator whose circuit is not open settles this kind (what a 402 may offer). */
  canSettle(scheme: string, network: string, x402Version = 2): boolean {
    return this.entries.some(
      (entry) => this.availability(entry) !== "open" && this.kindFor(entry, scheme, network, x402Version) !== undefined,
    );
  }

  /** Every kind healthy facilitators list, most preferred facilitator first (Solana takes its feePayer from the first). */
  supportedKinds(prefer: readonly string[] = []): SupportedKind[] {
    return this.ordered(prefer)
      .filter((entry) => this.availability(entry) !== "open")
      .flatMap((entry) =>
        (entry.supported?.kinds ?? []).filter((kind) =>
          isAllowed(entry.facilitator, kind.scheme, caip2FromV1(kind.network) ?? kind.network),
        ),
      );
  }

  /**
   * Facilitators that may handle this payment, in preference order: allowed, listing the kind, circuit not open,
   * and agreeing with the offer's facts (an offer naming one facilitator's feePayer can settle only there).
   */
  candidates(
    requirements: { scheme: string; network: string; extra?: Record<string, unknown> | undefined },
    x402Version: number,
    prefer: readonly string[] = [],
  ): ViewEntry[] {
    return this.ordered(prefer).filter((entry) => {
      if (this.availability(entry) === "open") return false;
      const kind = this.kindFor(entry, requirements.scheme, requirements.network, x402Version);
      if (!kind) return false;
      return Object.entries(kind.extra ?? {}).every(
        ([name, value]) => requirements.extra?.[name] === undefined || requirements.extra[name] === value,
      );
    });
  }

  /** A half-open facilitator gets one probe across all isolates; closed ones always pass. */
  async admit(entry: ViewEntry): Promise<boolean> {
    const availability = this.availability(entry);
    if (availability === "closed") return true;
    if (availability === "open") return false;
    try {
      return await stub(this.options).claimProbe(entry.key, this.options.policy, this.options.nowMs());
    } catch {
      return false;
    }
  }

  client(entry: ViewEntry): FacilitatorClient {
    const { facilitator } = entry;
    return createHttpFacilitatorClient({
      id: facilitator.id,
      ...this.#endpoint(facilitator),
      verifyTimeoutMs: facilitator.verifyTimeoutMs,
      settleTimeoutMs: facilitator.settleTimeoutMs,
    });
  }

  /** Counts one call's outcome here at once, and in the shared object after the response. */
  record(entry: ViewEntry, ok: boolean, latencyMs: number, error?: string): void {
    const outcome = { key: entry.key, ok, latencyMs, atMs: this.options.nowMs(), ...(error ? { error } : {}) };
    const before = entry.health;
    entry.health = applyOutcome(before, outcome, this.options.policy);
    this.records.set(entry.key, { health: entry.health, supported: entry.supported });
    if (!ok)
      console.warn(
        JSON.stringify({ event: "facilitator_call_failed", facilitator: entry.facilitator.id, error, state: entry.health.state }),
      );
    if (ok && before.state === "closed" && before.consecutiveFailures === 0) {
      const scope = this.options.scope;
      const waiting = routine.get(scope) ?? { outcomes: [], sinceMs: outcome.atMs };
      routine.set(scope, waiting);
      waiting.outcomes.push(outcome);
      if (outcome.atMs - waiting.sinceMs < ROUTINE_REPORT_MS && waiting.outcomes.length < ROUTINE_REPORT_MAX) return;
    } else {
      this.#outcomes.push(outcome);
    }
    if (this.#reportScheduled) return;
    this.#reportScheduled = true;
    // One report per request, sent once the request's calls are done and its answer is written out.
    this.options.waitUntil(
      afterThisTask()
        .then(() => {
          this.#reportScheduled = false;
          const counted = routine.get(this.options.scope)?.outcomes ?? [];
          routine.delete(this.options.scope);
          return stub(this.options).report(this.#outcomes.splice(0), this.options.policy, counted);
        })
        .catch((cause) => console.error(JSON.stringify({ event: "facilitator_report_failed", cause: String(cause) }))),
    );
  }

  /** Asks `/supported` of facilitators that have no answer yet (awaited) or an old one (in the background). */
  async refreshSupported(): Promise<void> {
    const now = this.options.nowMs();
    const missing: Promise<void>[] = [];
    for (const entry of this.entries) {
      if (this.availability(entry) === "open") continue;
      if (!entry.supported) missing.push(this.#fetchSupported(entry));
      else if (now - entry.supported.fetchedAtMs >= SUPPORTED_FRESH_MS && (refreshing.get(entry.key) ?? 0) < now) {
        refreshing.set(entry.key, now + entry.facilitator.verifyTimeoutMs);
        this.options.waitUntil(this.#fetchSupported(entry));
      }
    }
    await Promise.all(missing);
  }

  async #fetchSupported(entry: ViewEntry): Promise<void> {
    const started = this.options.nowMs();
    try {
      const supported = await fetchSupported(this.#endpoint(entry.facilitator), entry.facilitator.verifyTimeoutMs, started);
      entry.supported = supported;
      this.records.set(entry.key, { health: entry.health, supported });
      this.options.waitUntil(
        stub(this.options)
          .storeSupported(entry.key, supported)
          .catch(() => undefined),
      );
    } catch (error) {
      this.record(entry, false, this.options.nowMs() - started, `supported: ${describeError(error)}`);
    } finally {
      refreshing.delete(entry.key);
    }
  }

  /** Asks `/supported` now, for the health check: its answer is reported, not counted in the circuit. */
  async probe(
    entry: ViewEntry,
    timeoutMs: number,
  ): Promise<{ ok: true; ms: number; kinds: number } | { ok: false; ms: number; error: string }> {
    const started = this.options.nowMs();
    try {
      const supported = await fetchSupported(
        this.#endpoint(entry.facilitator),
        Math.min(timeoutMs, entry.facilitator.verifyTimeoutMs),
        started,
      );
      return { ok: true, ms: this.options.nowMs() - started, kinds: supported.kinds.length };
    } catch (error) {
      return { ok: false, ms: this.options.nowMs() - started, error: describeError(error).split(":")[0]! };
    }
  }

  #endpoint(facilitator: ResolvedFacilitator): FacilitatorEndpoint {
    return {
      url: facilitator.url,
      fetch: this.options.fetch,
      authorize: buildAuthorize(facilitator.auth, this.options.secrets, facilitator.id, this.options.nowMs),
    };
  }
}

function stub(options: Pick<FacilitatorViewOptions, "state" | "scope">) {
  return options.state.get(options.state.idFromName(options.scope));
}

export function describeError(error: unknown): string {
  const gateway = error as { error?: { kind?: string; detail?: string } };
  if (gateway?.error?.kind) return gateway.error.detail ? `${gateway.error.kind}: ${gateway.error.detail}` : gateway.error.kind;
  return String(error);
}
