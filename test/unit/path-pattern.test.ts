import { describe, expect, it } from "vitest";
import {
  comparePatternSpecificity,
  matchPathPattern,
  parsePathPattern,
  patternShapeKey,
  type PathPattern,
} from "../../src/pricing/path-pattern.js";

function pattern(source: string): PathPattern {
  const parsed = parsePathPattern(source);
  if (!parsed.ok) throw new Error(parsed.reason);
  return parsed.pattern;
}

describe("parsePathPattern", () => {
  it.each([
    ["weather", "must start with /"],
    ["/a/**/b", "** is only allowed as the last segment"],
    ["/a/b*", '"*" must be a whole segment in "b*"'],
    ["/a/:1x", 'invalid parameter name ":1x"'],
    ["/a?x=1", "must not contain a query or fragment"],
    ["/a/%zz", 'invalid segment "%zz"'],
    ["/a%2Fb", 'invalid segment "a%2Fb"'],
  ])("refuses %s", (source, reason) => {
    expect(parsePathPattern(source)).toEqual({ ok: false, reason });
  });
});

describe("matchPathPattern", () => {
  it.each([
    ["/weather/:city", ["weather", "paris"], { city: "paris" }],
    ["/weather/*", ["weather", "paris"], { "1": "paris" }],
    ["/weather/:city", ["weather"], undefined],
    ["/weather/:city", ["weather", "paris", "extra"], undefined],
    ["/reports/**", ["reports"], {}],
    ["/reports/**", ["reports", "2024", "q1"], {}],
    ["/reports/**", ["report"], undefined],
    ["/**", [], {}],
    ["/", [], {}],
    ["/", ["x"], undefined],
    ["/Weather/Paris", ["weather", "paris"], {}],
  ])("%s against %j", (source, segments, expected) => {
    expect(matchPathPattern(pattern(source), segments)).toEqual(expected);
  });
});

describe("comparePatternSpecificity", () => {
  it.each([
    ["/a/b", "/a/:x"],
    ["/a/:x", "/a/**"],
    ["/a/b/**", "/a/**"],
    ["/a/b/c", "/a/b"],
    ["/a/:x/c", "/a/:x/**"],
    ["/a/b/:x", "/a/:x/c"],
  ])("%s is more specific than %s", (specific, general) => {
    expect(comparePatternSpecificity(pattern(specific), pattern(general))).toBeLessThan(0);
    expect(comparePatternSpecificity(pattern(general), pattern(specific))).toBeGreaterThan(0);
  });
});

describe("patternShapeKey", () => {
  it.each([
    ["/a/:id", "/a/:name", true],
    ["/a/*", "/a/:id", true],
    ["/a/**", "/a/**", true],
    ["/a/:id", "/a/id", false],
    ["/a/**", "/a/*", false],
    ["/a/b", "/a/b/c", false],
    ["/a", "/b", false],
    // A literal that reads like a key's own syntax is still a literal.
    ['/a/{"kind":"param"}', "/a/:x", false],
  ])("%s vs %s: same shape %s", (a, b, same) => {
    expect(patternShapeKey(pattern(a)) === patternShapeKey(pattern(b))).toBe(same);
  });
});
