// The paywall page's only script, inline (no remote code; allowed by its CSP hash). Plain ES2020 for any
// browser: it signs the EIP-3009 authorization of the chosen `exact` offer with the injected EIP-1193 wallet,
// retries the same URL with PAYMENT-SIGNATURE and shows what the origin answered. Kept as text, not
// bundled code: the bundler's helpers (keep-names) must never leak into a page.
// biome-ignore lint/complexity/noUselessStringRaw: the page's script is kept as written, backslashes included, if it gains any
export const PAYWALL_SCRIPT = String.raw`(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("x402-data").textContent);
  var required = data.paymentRequired;
  var status = document.getElementById("status");
  var result = document.getElementById("result");
  var buttons = Array.prototype.slice.call(document.querySelectorAll("button[data-offer]"));
  var wallet = window.ethereum;

  function say(text, kind) { status.textContent = text; status.setAttribute("data-kind", kind || "info"); }
  function lock(locked) { buttons.forEach(function (b) { b.disabled = locked || !wallet; }); }
  function hex(bytes) { return "0x" + Array.prototype.map.call(bytes, function (x) { return (x < 16 ? "0" : "") + x.toString(16); }).join(""); }
  function base64(text) {
    var bytes = new TextEncoder().encode(text), binary = "";
    for (var i = 0; i < bytes.length; i++) binary += String.fromCharCode(bytes[i]);
    return btoa(binary);
  }
  function unbase64(text) {
    var binary = atob(text), bytes = new Uint8Array(binary.length);
    for (var i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
    return JSON.parse(new TextDecoder().decode(bytes));
  }
  function randomId() { return hex(crypto.getRandomValues(new Uint8Array(16))).slice(2); }
  function explain(error) {
    if (error && error.code === 4001) return "You declined the request in your wallet.";
    if (error && error.code === 4902) return "Your wallet does not know this network; add it to your wallet and try again.";
    return "The payment did not go through: " + (error && error.message ? error.message : String(error));
  }

  if (!wallet) say("No browser wallet found. Install an EVM wallet to pay here, or pay with any x402 client.", "error");
  lock(false);
  buttons.forEach(function (button) {
    button.addEventListener("click", function () { pay(Number(button.getAttribute("data-offer"))); });
  });

  async function pay(index) {
    var offer = required.accepts[index];
    var chainId = Number(offer.network.split(":")[1]);
    lock(true);
    try {
      say("Connecting to your wallet…");
      var accounts = await wallet.request({ method: "eth_requestAccounts" });
      var from = accounts[0];
      if (Number(await wallet.request({ method: "eth_chainId" })) !== chainId) {
        say("Switching your wallet to " + data.offers[index].networkName + "…");
        await wallet.request({ method: "wallet_switchEthereumChain", params: [{ chainId: "0x" + chainId.toString(16) }] });
      }
      var now = Math.floor(Date.now() / 1000);
      var authorization = {
        from: from, to: offer.payTo, value: offer.amount,
        validAfter: String(now - 600), validBefore: String(now + offer.maxTimeoutSeconds),
        nonce: hex(crypto.getRandomValues(new Uint8Array(32)))
      };
      var typedData = {
        types: {
          EIP712Domain: [{ name: "name", type: "string" }, { name: "version", type: "string" }, { name: "chainId", type: "uint256" }, { name: "verifyingContract", type: "address" }],
          TransferWithAuthorization: [{ name: "from", type: "address" }, { name: "to", type: "address" }, { name: "value", type: "uint256" }, { name: "validAfter", type: "uint256" }, { name: "validBefore", type: "uint256" }, { name: "nonce", type: "bytes32" }]
        },
        primaryType: "TransferWithAuthorization",
        domain: { name: offer.extra.name, version: offer.extra.version, chainId: chainId, verifyingContract: offer.asset },
        message: authorization
      };
      say("Confirm the payment of " + data.offers[index].price + " in your wallet…");
      var signature = await wallet.request({ method: "eth_signTypedData_v4", params: [from, JSON.stringify(typedData)] });
      var payment = { x402Version: required.x402Version, resource: required.resource, accepted: offer, payload: { signature: signature, authorization: authorization } };
      var identifier = required.extensions && required.extensions["payment-identifier"];
      // An id makes a retry of this very payment safe: the gateway answers it from its store, never charging twice.
      if (identifier) payment.extensions = { "payment-identifier": { info: { required: identifier.info.required, id: "pw_" + randomId() } } };
      say("Paying…");
      var response = await fetch(location.href, { headers: { "PAYMENT-SIGNATURE": base64(JSON.stringify(payment)) }, cache: "no-store", credentials: "same-origin" });
      await show(response);
    } catch (error) {
      say(explain(error), "error");
      lock(false);
    }
  }

  async function show(response) {
    if (response.status === 402) {
      var refused = response.headers.get("PAYMENT-REQUIRED");
      var reason = refused ? unbase64(refused).error : "payment refused";
      say("The payment was refused (" + reason + "); nothing was charged.", "error");
      lock(false);
      return;
    }
    if (!response.ok) {
      var problem = await response.json().catch(function () { return {}; });
      say("The request failed (" + response.status + "): " + (problem.message || response.statusText) + ".", "error");
      lock(false);
      return;
    }
    var receipt = response.headers.get("PAYMENT-RESPONSE");
    var settled = receipt ? unbase64(receipt) : undefined;
    say(settled && settled.transaction ? "Paid. Transaction " + settled.transaction + " on " + settled.network + "." : "Paid.", "ok");
    document.getElementById("offers").hidden = true;
    document.getElementById("badge").textContent = response.status + " · Paid";
    document.title = document.title.replace(/^Payment required/, "Paid");
    result.hidden = false;
    await render(response);
  }

  async function render(response) {
    var type = (response.headers.get("content-type") || "").toLowerCase();
    var heading = document.createElement("h2");
    heading.textContent = "Response";
    result.appendChild(heading);
    if (type.indexOf("json") !== -1 || type.indexOf("text/") === 0 && type.indexOf("text/html") !== 0) {
      var text = await response.text();
      try { if (type.indexOf("json") !== -1) text = JSON.stringify(JSON.parse(text), null, 2); } catch (ignored) { /* shown as sent */ }
      var pre = document.createElement("pre");
      pre.id = "content";
      pre.textContent = text;
      result.appendChild(pre);
      return;
    }
    var blob = await response.blob();
    if (type.indexOf("image/") === 0) {
      var image = document.createElement("img");
      image.id = "content";
      image.alt = "The paid image";
      image.src = URL.createObjectURL(blob);
      result.appendChild(image);
      return;
    }
    // Anything else is offered as a download only: a blob with the origin's type (HTML, SVG) opened in a new tab
    // would render in the gateway's own origin (security review F16).
    var link = document.createElement("a");
    link.id = "content";
    link.href = URL.createObjectURL(new Blob([blob], { type: "application/octet-stream" }));
    link.download = location.pathname.split("/").pop() || "response";
    link.textContent = "Download the response (" + (type || "unknown type") + ", " + blob.size + " bytes)";
    result.appendChild(link);
  }
})();
`;
