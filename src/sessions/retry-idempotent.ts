// Retries an idempotent Durable Object call that failed transiently. Workers marks such errors
// `retryable`; an `overloaded` object is left alone, since retrying only adds to its load.
import { retryWithBackoff } from "../retry-with-backoff.js";

export interface RetryOptions {
  attempts: number;
  /** First back-off; each further one doubles, with full jitter. */
  baseDelayMs: number;
  sleep?: (ms: number) => Promise<void>;
}

export function isRetryableDurableObjectError(error: unknown): boolean {
  const flags = error as { retryable?: unknown; overloaded?: unknown } | null;
  return typeof flags === "object" && flags !== null && flags.retryable === true && flags.overloaded !== true;
}

/** Only for calls that are safe to repeat (a repeat must not apply twice). */
export function retryIdempotent<T>(call: () => Promise<T>, options: RetryOptions): Promise<T> {
  return retryWithBackoff(call, { ...options, jitter: "full", retryable: isRetryableDurableObjectError });
}
