// creds.mjs asks one of the JavaScript SDK v3's credential providers for
// credentials CALLS times in one process and prints one JSON line:
//
//   {"provider":…, "calls":[{"key","secret","token","expiration",
//    "original_expiration","source","error"}…], "warnings":[…]}
//
// Usage: node creds.mjs PROVIDER [CALLS] [--pause]
//
//   chain          fromNodeProviderChain() (@aws-sdk/credential-providers),
//                  the default chain: memoized, IMDS or the container
//                  endpoint chosen by the environment
//   imds           fromInstanceMetadata() from @smithy/credential-provider-imds,
//                  one provider object for every call (its IMDSv1 switch and
//                  static-stability memory live in it)
//   imds-wrapped   fromInstanceMetadata() from @aws-sdk/credential-providers,
//                  which builds a new @smithy provider on every call
//   container      fromContainerMetadata() from @aws-sdk/credential-providers
//
// --pause: after each call but the last, write "paused N\n" to file
// descriptor 3 and wait for a line on stdin, so the test can change the
// server between calls.
//
// Secrets are never printed: only whether a secret and a token came back.
// The SDK's log messages (warn and error) are collected into "warnings".
import { writeSync } from "node:fs";
import { createInterface } from "node:readline";
import {
  fromContainerMetadata,
  fromInstanceMetadata as wrappedInstanceMetadata,
  fromNodeProviderChain,
} from "@aws-sdk/credential-providers";
import { fromInstanceMetadata } from "@smithy/credential-provider-imds";

const args = process.argv.slice(2);
const pause = args.includes("--pause");
const [name, callsArg = "1"] = args.filter((a) => a !== "--pause");
const calls = Number.parseInt(callsArg, 10);

const warnings = [];
const text = (parts) => parts.map((p) => (p instanceof Error ? `${p.name}: ${p.message}` : String(p))).join("");
const logger = {
  trace() {},
  debug() {},
  info() {},
  warn: (...parts) => warnings.push(text(parts)),
  error: (...parts) => warnings.push(text(parts)),
};

const providers = {
  chain: () => fromNodeProviderChain({ logger }),
  imds: () => fromInstanceMetadata({ logger }),
  "imds-wrapped": () => wrappedInstanceMetadata({ logger }),
  container: () => fromContainerMetadata({ logger }),
};
if (!(name in providers) || !(calls >= 1)) {
  process.stderr.write(`usage: node creds.mjs ${Object.keys(providers).join("|")} [CALLS] [--pause]\n`);
  process.exit(2);
}
const provider = providers[name]();
const stdin = createInterface({ input: process.stdin })[Symbol.asyncIterator]();

const out = { provider: name, calls: [], warnings };
for (let i = 1; i <= calls; i++) {
  try {
    const c = await provider();
    out.calls.push({
      key: c.accessKeyId,
      secret: Boolean(c.secretAccessKey),
      token: Boolean(c.sessionToken),
      expiration: c.expiration?.toISOString(),
      original_expiration: c.originalExpiration?.toISOString(),
      source: Object.keys(c.$source ?? {}),
    });
  } catch (e) {
    out.calls.push({ error: `${e.name}: ${e.message}` });
  }
  if (pause && i < calls) {
    writeSync(3, `paused ${i}\n`);
    await stdin.next();
  }
}
process.stdout.write(JSON.stringify(out) + "\n");
process.exit(0);
