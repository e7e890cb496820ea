// Timing primitives for `npm run bench`: sequential requests, cases taking turns request by request.

export interface Stats {
  name: string;
  n: number;
  p50: number;
  p95: number;
}

export interface BenchCase {
  name: string;
  once: () => Promise<Response>;
  expectStatus: number;
}

async function timeOne(c: BenchCase): Promise<number> {
  const start = performance.now();
  const response = await c.once();
  await response.arrayBuffer();
  const elapsed = performance.now() - start;
  if (response.status !== c.expectStatus) throw new Error(`${c.name}: expected ${c.expectStatus}, got ${response.status}`);
  return elapsed;
}

export function summarise(name: string, samples: number[]): Stats {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
  return { name, n: sorted.length, p50: at(0.5), p95: at(0.95) };
}

/**
 * `n` rounds after `warmUp` ones; each round times one request of every case, in turn, so a noisy neighbour
 * slows them all alike instead of skewing whichever case happened to be running. Each round starts one case
 * further on: what a request leaves running after its answer (a paid call's ledger writes) then falls on every
 * case alike. In a fixed order it fell on whichever case came next, every round: the bare Worker, first, came
 * after the heaviest gateway case and read ~30% slow.
 */
export async function measureInterleaved(cases: BenchCase[], n: number, warmUp = 20): Promise<Stats[]> {
  const samples = cases.map(() => [] as number[]);
  for (let round = -warmUp; round < n; round++) {
    for (let k = 0; k < cases.length; k++) {
      const i = (((round + k) % cases.length) + cases.length) % cases.length;
      const elapsed = await timeOne(cases[i]!);
      if (round >= 0) samples[i]!.push(elapsed);
    }
  }
  return cases.map((c, i) => summarise(c.name, samples[i]!));
}
