// sts.mjs calls STS GetCallerIdentity with the JavaScript SDK v3's STSClient,
// signing with credentials from the default chain, and prints one JSON line:
// {"arn","account","user_id","key"} or {"error","code","status"}.
//
// Usage: node sts.mjs [ENDPOINT]
//
// Without ENDPOINT the client finds the endpoint as a user's would: from
// AWS_ENDPOINT_URL_STS (or AWS_ENDPOINT_URL) in the environment.
import { GetCallerIdentityCommand, STSClient } from "@aws-sdk/client-sts";
import { fromNodeProviderChain } from "@aws-sdk/credential-providers";

const endpoint = process.argv[2];
const credentials = fromNodeProviderChain();
const client = new STSClient({ credentials, maxAttempts: 1, ...(endpoint ? { endpoint } : {}) });
try {
  const r = await client.send(new GetCallerIdentityCommand({}));
  const c = await credentials();
  process.stdout.write(JSON.stringify({ arn: r.Arn, account: r.Account, user_id: r.UserId, key: c.accessKeyId }) + "\n");
} catch (e) {
  process.stdout.write(
    JSON.stringify({ error: `${e.name}: ${e.message}`, code: e.Code ?? e.name, status: e.$metadata?.httpStatusCode }) + "\n",
  );
}
process.exit(0);
