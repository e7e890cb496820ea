import { describe, expect, it } from "vitest";
import { canonicalizePath } from "../../src/pricing/canonical-path.js";

describe("canonicalizePath", () => {
  it.each([
    ["/weather/paris", ["weather", "paris"]],
    ["/", []],
    ["", []],
    ["/Weather/PARIS", ["weather", "paris"]],
    ["/weather/paris/", ["weather", "paris"]],
    ["//weather///paris", ["weather", "paris"]],
    ["/weather/./paris", ["weather", "paris"]],
    ["/free/../weather/paris", ["weather", "paris"]],
    ["/../../weather", ["weather"]],
    ["/weather%2Fparis", ["weather", "paris"]],
    ["/weather%252Fparis", ["weather", "paris"]],
    ["/weather%5Cparis", ["weather", "paris"]],
    ["/weather\\paris", ["weather", "paris"]],
    ["/free/%2e%2e/weather/paris", ["weather", "paris"]],
    ["/weather;jsessionid=1/paris", ["weather", "paris"]],
    ["/%77eather/paris", ["weather", "paris"]],
    ["/caf%C3%A9", ["café"]],
  ])("%s → %j", (input, segments) => {
    expect(canonicalizePath(input)).toEqual({ ok: true, segments });
  });

  it.each([
    ["/weather%zz", "invalid percent-encoding"],
    ["/weather%", "invalid percent-encoding"],
    ["/%C3%28", "invalid percent-encoding"],
    ["/a%00b", "control character in path"],
    ["/a%0Ab", "control character in path"],
    ["/a%25252525Fb", "too many levels of percent-encoding"],
  ])("refuses %s", (input, reason) => {
    expect(canonicalizePath(input)).toEqual({ ok: false, reason });
  });
});
