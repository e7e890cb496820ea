// A bench run on its own (`npm run bench:faults`, `npm run bench:wide`) updates its section of BENCHMARKS.md in place,
// leaving the rest of the last full run's figures as they were.
import { readFileSync, writeFileSync } from "node:fs";

/** The lines of the section under `heading` in BENCHMARKS.md, heading left out; undefined when there is none. */
export function readBenchmarksSection(heading: string): string[] | undefined {
  const benchmarks = readFileSync("BENCHMARKS.md", "utf8");
  const start = benchmarks.indexOf(heading);
  if (start < 0) return undefined;
  const end = benchmarks.indexOf("\n## ", start + 1);
  return benchmarks
    .slice(start + heading.length, end < 0 ? undefined : end)
    .trim()
    .split("\n");
}

/** Replaces the section that starts with `lines[0]` (a `## ` heading) up to the next one, or appends it. */
export function writeBenchmarksSection(lines: readonly string[]): void {
  const heading = lines[0]!;
  const benchmarks = readFileSync("BENCHMARKS.md", "utf8");
  const start = benchmarks.indexOf(heading);
  const end = start < 0 ? -1 : benchmarks.indexOf("\n## ", start + 1);
  const section = `${lines.join("\n")}\n`;
  const updated =
    start < 0 ? `${benchmarks.trimEnd()}\n\n${section}` : `${benchmarks.slice(0, start)}${section}${end < 0 ? "" : benchmarks.slice(end)}`;
  writeFileSync("BENCHMARKS.md", updated);
}
