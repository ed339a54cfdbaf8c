// The AWS SDK for JavaScript v3 probe of the imdsemu provider lab
// (lab/probes/README.md). One STS client holds the credential provider for
// the life of the process, exactly as in an application: the client's
// config memoizes the identity and refreshes it within its expiry window.
//
//   node lab/probes/js/v3.mjs [imds|default]
//
// imds (the default): fromInstanceMetadata(), which fetches on every call it
// gets, so counting its calls tells a fetch from a cache hit. default: the
// client's default chain (fromNodeProviderChain), where a fetch shows only
// as a new key id or expiry.
import { fromInstanceMetadata, fromNodeProviderChain } from "@aws-sdk/credential-providers";
import { STSClient, GetCallerIdentityCommand } from "@aws-sdk/client-sts";
import { changeTracker, errorMessage, iso, packageVersion, serve, settings, timed } from "./protocol.mjs";

const { mode, region, stsEndpoint } = settings("js-v3");

let fetches = 0;
let provider;
if (mode === "imds") {
  const imds = fromInstanceMetadata();
  provider = (options) => {
    fetches++;
    return imds(options);
  };
} else {
  provider = fromNodeProviderChain();
}
// The application's client: its config.credentials is the SDK's memoized
// provider. It sends nothing itself.
const app = new STSClient({ region, credentials: provider });
const tracker = changeTracker();

async function check(identity) {
  if (!stsEndpoint) return ["error", "IMDSEMU_PROBE_STS_ENDPOINT is not set"];
  const sts = new STSClient({
    region,
    endpoint: stsEndpoint,
    maxAttempts: 1,
    credentials: {
      accessKeyId: identity.accessKeyId,
      secretAccessKey: identity.secretAccessKey,
      sessionToken: identity.sessionToken,
    },
  });
  try {
    await sts.send(new GetCallerIdentityCommand({}));
    return ["ok", ""];
  } catch (e) {
    if (e?.$metadata?.httpStatusCode) return [e.name, ""];
    return ["error", errorMessage(e)];
  } finally {
    sts.destroy();
  }
}

async function retrieve(wantCheck) {
  const before = fetches;
  const { value: identity, error, ms } = await timed(() => app.config.credentials());
  const res = { access_key_id: "", expires: "", latency_ms: ms, source: "unknown", check: "", error: "" };
  if (mode === "imds") res.source = fetches !== before ? "fetch" : "cache";
  if (error) {
    res.error = errorMessage(error);
    return res;
  }
  res.access_key_id = identity.accessKeyId;
  res.expires = iso(identity.expiration);
  if (mode === "default") res.source = tracker(res.access_key_id, res.expires);
  if (wantCheck) [res.check, res.check_error] = await check(identity);
  return res;
}

const version =
  `${packageVersion("@aws-sdk/credential-providers")} ` +
  `(client-sts ${packageVersion("@aws-sdk/client-sts")}, @smithy/credential-provider-imds ${packageVersion("@smithy/credential-provider-imds")})`;
serve({ sdk: "js-v3", version, provider: mode === "imds" ? "fromInstanceMetadata" : "fromNodeProviderChain" }, retrieve);
