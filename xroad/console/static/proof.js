// RFC 6962 / RFC 9162 inclusion proof of an audit record, checked in the auditor's browser.
//
// The page (templates/audit/record.html) puts everything on one element, as data attributes
// (the console's CSP forbids inline scripts):
//   data-proof            marks the element
//   data-leaf             base64 of the record's leaf bytes, exactly as the log holds them
//   data-index            the record's index in the log
//   data-audit-path       base64 hashes, separated by spaces
//   data-checkpoint       the signed checkpoint note (origin, size, base64 root, signature)
// and inside it an element [data-proof-status] with data-text-verified / -failed /
// -unavailable. The root is read from the checkpoint note itself, not from the API's "root"
// field: what is proven is membership in the tree the log signed. Only WebCrypto SHA-256 is
// used; no library, no network.
"use strict";

(function () {
  function fromBase64(text) {
    const binary = atob(text);
    const bytes = new Uint8Array(binary.length);
    for (let i = 0; i < binary.length; i += 1) {
      bytes[i] = binary.charCodeAt(i);
    }
    return bytes;
  }

  async function sha256(prefix, parts) {
    const length = parts.reduce((n, p) => n + p.length, 1);
    const data = new Uint8Array(length);
    data[0] = prefix;
    let offset = 1;
    for (const part of parts) {
      data.set(part, offset);
      offset += part.length;
    }
    return new Uint8Array(await crypto.subtle.digest("SHA-256", data));
  }

  const leafHash = (leaf) => sha256(0, [leaf]);
  const nodeHash = (left, right) => sha256(1, [left, right]);

  function equal(a, b) {
    if (a.length !== b.length) {
      return false;
    }
    let diff = 0;
    for (let i = 0; i < a.length; i += 1) {
      diff |= a[i] ^ b[i];
    }
    return diff === 0;
  }

  // RFC 9162 section 2.1.3.2. Indexes may pass 2^31, so halve with Math.floor, not ">>".
  async function rootFromPath(hash, index, size, path) {
    if (!(index >= 0 && index < size)) {
      return null;
    }
    const half = (n) => Math.floor(n / 2);
    let fn = index;
    let sn = size - 1;
    let r = hash;
    for (const p of path) {
      if (sn === 0) {
        return null;
      }
      if (fn % 2 === 1 || fn === sn) {
        r = await nodeHash(p, r);
        if (fn % 2 === 0) {
          while (fn !== 0 && fn % 2 === 0) {
            fn = half(fn);
            sn = half(sn);
          }
        }
      } else {
        r = await nodeHash(r, p);
      }
      fn = half(fn);
      sn = half(sn);
    }
    return sn === 0 ? r : null;
  }

  function checkpointTree(note) {
    const lines = note.split("\n");
    if (lines.length < 3 || !/^[0-9]+$/.test(lines[1])) {
      throw new Error("checkpoint note is malformed");
    }
    return { size: Number(lines[1]), root: fromBase64(lines[2]) };
  }

  async function verify(element) {
    const leaf = fromBase64(element.dataset.leaf || "");
    const index = Number(element.dataset.index);
    const path = (element.dataset.auditPath || "").split(" ").filter((s) => s !== "")
      .map(fromBase64);
    const tree = checkpointTree(element.dataset.checkpoint || "");
    const computed = await rootFromPath(await leafHash(leaf), index, tree.size, path);
    return computed !== null && equal(computed, tree.root);
  }

  function show(status, state) {
    status.dataset.proofState = state;
    status.textContent = status.dataset["text" + state[0].toUpperCase() + state.slice(1)]
      || state;
  }

  async function run() {
    for (const element of document.querySelectorAll("[data-proof]")) {
      const status = element.querySelector("[data-proof-status]");
      if (status === null) {
        continue;
      }
      if (!(window.crypto && window.crypto.subtle)) {
        show(status, "unavailable"); // WebCrypto needs HTTPS (or loopback)
        continue;
      }
      try {
        show(status, (await verify(element)) ? "verified" : "failed");
      } catch (error) {
        show(status, "failed");
        status.title = String(error);
      }
    }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", run);
  } else {
    run();
  }
})();
