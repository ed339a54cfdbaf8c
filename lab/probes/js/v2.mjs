// The AWS SDK for JavaScript v2 (npm aws-sdk) probe of the imdsemu provider
// lab (lab/probes/README.md). One credentials object for the life of the
// process, as in an application: get() refreshes it when it is expired or
// within its expiryWindow of expiry.
//
//   node lab/probes/js/v2.mjs [imds|default]
//
// imds (the default): new AWS.EC2MetadataCredentials(). default: whatever
// AWS.CredentialProviderChain's default providers resolve to. Either way the
// probe counts calls to the object's load(), the fetch behind refresh().
import { errorMessage, iso, serve, settings, timed } from "./protocol.mjs";

// The v2 SDK appends "/latest/..." to the endpoint verbatim, so the lab's
// "http://host:port/" would ask for "//latest/...". It reads the variable
// when it loads, so the slash goes before the import.
const endpointVar = "AWS_EC2_METADATA_SERVICE_ENDPOINT";
if (process.env[endpointVar]) process.env[endpointVar] = process.env[endpointVar].replace(/\/+$/, "");
const { default: AWS } = await import("aws-sdk");

const { mode, region, stsEndpoint } = settings("js-v2");

let fetches = 0;
function counted(creds) {
  const load = creds.load.bind(creds);
  creds.load = (callback) => {
    fetches++;
    load(callback);
  };
  return creds;
}

// creds is the credentials object; the default chain resolves it at the
// first retrieve (that resolution is the first fetch).
let creds = mode === "imds" ? counted(new AWS.EC2MetadataCredentials()) : undefined;
let resolving;
async function credentials() {
  if (!creds) {
    resolving ??= new AWS.CredentialProviderChain().resolvePromise().then((c) => {
      fetches++;
      creds = counted(c);
      return c;
    });
    resolving.catch(() => (resolving = undefined));
    await resolving;
  }
  await creds.getPromise();
  return creds;
}

async function check(c) {
  if (!stsEndpoint) return ["error", "IMDSEMU_PROBE_STS_ENDPOINT is not set"];
  const sts = new AWS.STS({
    region,
    endpoint: stsEndpoint,
    maxRetries: 0,
    credentials: new AWS.Credentials(c),
  });
  try {
    await sts.getCallerIdentity({}).promise();
    return ["ok", ""];
  } catch (e) {
    if (e?.statusCode) return [e.code, ""];
    return ["error", errorMessage(e)];
  }
}

async function retrieve(wantCheck) {
  const before = fetches;
  const { value: c, error, ms } = await timed(async () => {
    const c = await credentials();
    // A copy taken at once: a concurrent refresh may change the object.
    return {
      accessKeyId: c.accessKeyId,
      secretAccessKey: c.secretAccessKey,
      sessionToken: c.sessionToken,
      expireTime: c.expireTime,
    };
  });
  const res = { access_key_id: "", expires: "", latency_ms: ms, source: fetches !== before ? "fetch" : "cache", check: "", error: "" };
  if (error) {
    res.error = errorMessage(error);
    return res;
  }
  res.access_key_id = c.accessKeyId;
  res.expires = iso(c.expireTime);
  if (wantCheck) [res.check, res.check_error] = await check(c);
  return res;
}

serve({ sdk: "js-v2", version: AWS.VERSION, provider: mode === "imds" ? "EC2MetadataCredentials" : "CredentialProviderChain" }, retrieve);
