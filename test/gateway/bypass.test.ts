// Paid-route matching must not be bypassable by spelling the path or method differently.
import { describe, expect, it } from "vitest";
import { buildHarness, buildRule } from "../fixtures/builders.js";

const rules = [buildRule(), buildRule({ id: "admin", methods: "*", path: "/admin/**" })];

describe("paid-route bypass attempts", () => {
  it.each([
    ["GET", "/weather/paris"],
    ["GET", "/WEATHER/Paris"],
    ["GET", "/weather/paris/"],
    ["GET", "//weather//paris"],
    ["GET", "/weather/./paris"],
    ["GET", "/free/../weather/paris"],
    ["GET", "/free/%2e%2e/weather/paris"],
    ["GET", "/weather%2Fparis"],
    ["GET", "/weather%2fparis"],
    ["GET", "/weather%252Fparis"],
    ["GET", "/weather%5Cparis"],
    ["GET", "/%77eather/paris"],
    ["GET", "/weather/paris;jsessionid=1"],
    ["GET", "/weather;x/paris"],
    ["GET", "/weather/paris?free=1"],
    ["GET", "/weather/paris#x"],
    ["HEAD", "/weather/paris"],
    ["GET", "/admin"],
    ["GET", "/admin/"],
    ["POST", "/ADMIN/users/1"],
    ["DELETE", "/admin%2Fusers"],
    ["OPTIONS", "/admin/x"],
  ])("%s %s is challenged and never reaches the origin", async (method, path) => {
    const harness = await buildHarness({ rules });
    const response = await harness.fetch(path, { method });
    expect(response.status).toBe(402);
    expect(response.headers.get("PAYMENT-REQUIRED")).toBeTruthy();
    expect(await harness.originCalls()).toEqual([]);
  });

  it.each(["/weather/%zz", "/weather/paris%00", "/weather/%C3%28", "/weather%25252525Fparis"])(
    "%s is refused as malformed",
    async (path) => {
      const harness = await buildHarness({ rules });
      const response = await harness.fetch(path);
      expect(response.status).toBe(400);
      expect(await response.json()).toMatchObject({ error: "path_malformed" });
      expect(await harness.originCalls()).toEqual([]);
    },
  );

  it.each([
    ["GET", "/weatherx/paris"],
    ["GET", "/weather"],
    ["GET", "/weather/paris/extra"],
    ["POST", "/weather/paris"],
    ["GET", "/administrator"],
  ])("%s %s is not priced and passes through", async (method, path) => {
    const harness = await buildHarness({ rules });
    const response = await harness.fetch(path, { method });
    expect(response.status).toBe(200);
    expect(await harness.originCalls()).toHaveLength(1);
  });

  it("lets a CORS preflight through to the origin unpaid", async () => {
    const harness = await buildHarness({ rules });
    const response = await harness.fetch("/admin/x", {
      method: "OPTIONS",
      headers: { origin: "https://app.example", "access-control-request-method": "POST" },
    });
    expect(response.status).toBe(200);
    expect(await harness.originCalls()).toHaveLength(1);
  });

  // Security review F8: a POST that tells the origin "treat me as GET" must not read a GET-priced route for free.
  it.each(["X-HTTP-Method-Override", "X-HTTP-Method", "X-Method-Override"])(
    "a method override (%s) never reaches the origin",
    async (header) => {
      const harness = await buildHarness({ rules });
      const response = await harness.fetch("/weather/paris", { method: "POST", headers: { [header]: "GET" } });
      expect(response.status).toBe(200);
      const [call] = await harness.originCalls();
      expect(call!.method).toBe("POST");
      expect(Object.keys(call!.headers).filter((name) => name.includes("method"))).toEqual([]);
    },
  );
});
