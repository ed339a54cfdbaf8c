// The line protocol of the imdsemu lab probes (lab/probes/README.md), shared
// by the JavaScript SDK v3 and v2 probes: one ready line, then one result
// line per retrieve request, in completion order. Never writes a secret.
import { createInterface } from "node:readline";
import { readFileSync } from "node:fs";

// packageVersion is the version of an installed npm package, read from the
// package.json under node_modules beside this file.
export function packageVersion(name) {
  const file = new URL(`./node_modules/${name}/package.json`, import.meta.url);
  return JSON.parse(readFileSync(file, "utf8")).version;
}

function write(obj) {
  // One write per line: Node never interleaves two writes to stdout.
  process.stdout.write(JSON.stringify(obj) + "\n");
}

// iso formats an expiry (Date or undefined) as RFC 3339 in UTC, seconds only.
export function iso(date) {
  if (!date || Number.isNaN(date.getTime())) return "";
  return date.toISOString().replace(/\.\d{3}Z$/, "Z");
}

// serve writes ready, then answers each retrieve request with
// retrieve(check), concurrently, until quit or the end of stdin; it exits 0
// once every request in flight is answered.
export function serve(ready, retrieve) {
  write({ type: "ready", ...ready });
  const inflight = new Set();
  const rl = createInterface({ input: process.stdin, crlfDelay: Infinity });
  let done = false;
  const finish = async () => {
    if (done) return;
    done = true;
    rl.close();
    await Promise.allSettled([...inflight]);
    process.exit(0);
  };
  rl.on("line", (line) => {
    if (done || !line.trim()) return;
    let req;
    try {
      req = JSON.parse(line);
    } catch (e) {
      write({ type: "result", id: 0, error: `probe: bad request line: ${e.message}` });
      return;
    }
    if (req.op === "quit") {
      finish();
      return;
    }
    if (req.op !== "retrieve") {
      write({ type: "result", id: req.id ?? 0, error: `probe: unknown op ${JSON.stringify(req.op)}` });
      return;
    }
    const p = (async () => {
      let res;
      try {
        res = await retrieve(Boolean(req.check));
      } catch (e) {
        res = { access_key_id: "", expires: "", latency_ms: 0, source: "unknown", check: "", error: `probe: ${e?.message ?? e}` };
      }
      write({ type: "result", id: req.id ?? 0, ...res });
    })();
    inflight.add(p);
    p.finally(() => inflight.delete(p));
  });
  rl.on("close", finish);
}

// timed runs get and returns its value or error with the latency in ms.
export async function timed(get) {
  const start = process.hrtime.bigint();
  let value, error;
  try {
    value = await get();
  } catch (e) {
    error = e;
  }
  return { value, error, ms: Number(process.hrtime.bigint() - start) / 1e6 };
}

// errorMessage is an SDK error as the protocol reports it: name and message
// (the SDKs put no secret in either).
export function errorMessage(e) {
  const name = e?.name || e?.code || "Error";
  return `${name}: ${e?.message ?? e}`;
}

// changed tells a fetch from a cache hit when the SDK exposes neither: new
// key id or new expiry since the previous answer.
export function changeTracker() {
  let last = "";
  return (key, expires) => {
    const now = `${key}|${expires}`;
    const source = now !== last ? "fetch" : "cache";
    last = now;
    return source;
  };
}

// settings are the probe's command-line choice of provider ("imds", the
// default, or "default" for the SDK's default chain) and the lab's
// environment: region and imdsemu's STS URL. An unknown choice exits 2.
export function settings(sdk) {
  const mode = process.argv[2] ?? "imds";
  if (mode !== "imds" && mode !== "default") {
    process.stderr.write(`${sdk} probe: unknown provider ${JSON.stringify(mode)}: want "imds" or "default"\n`);
    process.exit(2);
  }
  return {
    mode,
    region: process.env.AWS_REGION || process.env.AWS_DEFAULT_REGION || "us-east-1",
    stsEndpoint: process.env.IMDSEMU_PROBE_STS_ENDPOINT || "",
  };
}
