// Security review F9: a body another JSON parser would read differently is not priced.
import { describe, expect, it } from "vitest";
import { findAmbiguousKey } from "../../src/pricing/ambiguous-json.js";

describe("findAmbiguousKey", () => {
  it.each<[string, string, string[], RegExp | undefined]>([
    ["plain", '{"options":{"max_tokens":1},"prompt":"x"}', ["options", "max_tokens"], undefined],
    ["a duplicate on the path", '{"options":{"max_tokens":4000,"max_tokens":1}}', ["options", "max_tokens"], /duplicate key "max_tokens"/],
    ["a duplicate elsewhere", '{"a":[{"b":1,"b":2}],"options":{"max_tokens":1}}', ["options", "max_tokens"], /duplicate key "b"/],
    ["a case twin on the path", '{"options":{"max_tokens":1,"MAX_TOKENS":4000}}', ["options", "max_tokens"], /only in case/],
    [
      "a case twin of an outer key",
      '{"Options":{"max_tokens":4000},"options":{"max_tokens":1}}',
      ["options", "max_tokens"],
      /only in case/,
    ],
    // Go's encoding/json folds the long s onto s: max_tokenſ is max_tokens to a Go origin.
    ["a Unicode case twin on the path", '{"options":{"max_tokens":1,"max_token\u017f":4000}}', ["options", "max_tokens"], /only in case/],
    ["a case twin off the path is fine", '{"meta":{"id":1,"ID":2},"options":{"max_tokens":1}}', ["options", "max_tokens"], undefined],
    [
      "escaped keys are compared unescaped",
      '{"options":{"max_tokens":1,"max\\u005ftokens":9}}',
      ["options", "max_tokens"],
      /duplicate key/,
    ],
    ["strings with braces and quotes", '{"p":"}{\\"x\\":1","options":{"max_tokens":1}}', ["options", "max_tokens"], undefined],
    ["too deep", `${"[".repeat(300)}${"]".repeat(300)}`, ["x"], /nested deeper/],
  ])("%s", (_name, text, path, problem) => {
    JSON.parse(text);
    const found = findAmbiguousKey(text, path);
    if (problem) expect(found).toMatch(problem);
    else expect(found).toBeUndefined();
  });
});
