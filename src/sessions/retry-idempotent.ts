// Retries an idempotent Durable Object call that failed transiently. Workers marks such errors
// `retryable`; an `overloaded` object is left alone, since retrying only adds to its load.

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
export async function retryIdempotent<T>(call: () => Promise<T>, options: RetryOptions): Promise<T> {
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  for (let attempt = 1; ; attempt++) {
    try {
      return await call();
    } catch (error) {
      if (attempt >= options.attempts || !isRetryableDurableObjectError(error)) throw error;
      await sleep(Math.random() * options.baseDelayMs * 2 ** (attempt - 1));
    }
  }
}
