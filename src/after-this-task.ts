// Work that must not delay the answer: under workerd a Durable Object's storage work or a log line runs on the
// request's thread, and would otherwise run before the answer just returned is written out.

/** Resolves after the tasks already queued, such as writing out the response just returned. */
export function afterThisTask(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}
