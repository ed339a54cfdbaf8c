"""The botocore probe of the imdsemu provider lab.

One botocore session's credentials, kept for the life of the process: with
"imds" (the default) the InstanceMetadataProvider that the session's own
credential resolver builds (IMDS endpoint, timeouts and attempts from the
environment, as in an application); with "default" the session's whole
default chain. The RefreshableCredentials it returns decide, as botocore
does, when to refresh (advisory and mandatory windows before expiry).

Speaks the line protocol in lab/probes/README.md. Run with Debian's
interpreter, /usr/bin/python3, which has python3-botocore:

    /usr/bin/python3 lab/probes/botocore/probe.py [imds|default]

Never writes a secret key or session token.
"""

import datetime
import json
import os
import sys
import threading
import time

# botocore rejects an empty profile name; the lab's safety environment may
# set these to "".
for _name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE"):
    if os.environ.get(_name) == "":
        del os.environ[_name]

import botocore  # noqa: E402
import botocore.session  # noqa: E402
from botocore.config import Config  # noqa: E402
from botocore.exceptions import ClientError  # noqa: E402


class Probe:
    def __init__(self, mode, sts_endpoint, region):
        self.mode = mode
        self.sts_endpoint = sts_endpoint
        self.region = region
        self.session = botocore.session.get_session()
        self.lock = threading.Lock()  # guards creds, clients and fetches
        self.creds = None  # loaded at the first retrieve, not before ready
        self.fetches = 0
        self.counted = False
        self.clients = {}

    def _count(self, refresh):
        def counted():
            with self.lock:
                self.fetches += 1
            return refresh()

        return counted

    def _load(self):
        """Resolves credentials once, the way an application's session does."""
        with self.lock:
            if self.creds is not None:
                return self.creds
            if self.mode == "imds":
                resolver = self.session.get_component("credential_provider")
                creds = resolver.get_provider("iam-role").load()
            else:
                creds = self.session.get_credentials()
            if creds is None:
                raise RuntimeError("botocore found no credentials")
            self.fetches += 1
            # RefreshableCredentials refresh through _refresh_using (the
            # fetcher's retrieve method): count the calls to tell a fetch
            # from a cache hit.
            if hasattr(creds, "_refresh_using"):
                creds._refresh_using = self._count(creds._refresh_using)
                self.counted = True
            self.creds = creds
            return creds

    def retrieve(self, check):
        res = {"access_key_id": "", "expires": "", "source": "unknown", "check": "", "error": ""}
        before = self.fetches
        start = time.perf_counter()
        try:
            creds = self._load()
            frozen = creds.get_frozen_credentials()
        except Exception as e:  # botocore's messages carry no secrets
            res["latency_ms"] = (time.perf_counter() - start) * 1000
            res["error"] = "%s: %s" % (type(e).__name__, e)
            return res
        res["latency_ms"] = (time.perf_counter() - start) * 1000
        if self.counted or before == 0:
            res["source"] = "fetch" if self.fetches != before else "cache"
        res["access_key_id"] = frozen.access_key
        expiry = getattr(creds, "_expiry_time", None)
        if expiry is not None:
            res["expires"] = expiry.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        if check:
            res["check"], res["check_error"] = self.check(frozen)
        return res

    def _client(self, frozen):
        with self.lock:
            client = self.clients.get(frozen.access_key)
            if client is None:
                client = self.session.create_client(
                    "sts",
                    region_name=self.region,
                    endpoint_url=self.sts_endpoint,
                    aws_access_key_id=frozen.access_key,
                    aws_secret_access_key=frozen.secret_key,
                    aws_session_token=frozen.token,
                    config=Config(retries={"total_max_attempts": 1}),
                )
                if len(self.clients) > 8:
                    self.clients.clear()
                self.clients[frozen.access_key] = client
            return client

    def check(self, frozen):
        if not self.sts_endpoint:
            return "error", "IMDSEMU_PROBE_STS_ENDPOINT is not set"
        try:
            self._client(frozen).get_caller_identity()
            return "ok", ""
        except ClientError as e:
            return e.response.get("Error", {}).get("Code", "error"), ""
        except Exception as e:
            return "error", "%s: %s" % (type(e).__name__, e)


class Writer:
    def __init__(self, out):
        self.out = out
        self.lock = threading.Lock()

    def write(self, obj):
        line = json.dumps(obj, separators=(",", ":"))
        with self.lock:
            self.out.write(line + "\n")
            self.out.flush()


def main(argv):
    mode = argv[1] if len(argv) > 1 else "imds"
    if mode not in ("imds", "default"):
        sys.stderr.write('botocore probe: unknown provider %r: want "imds" or "default"\n' % mode)
        return 2
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
    probe = Probe(mode, os.environ.get("IMDSEMU_PROBE_STS_ENDPOINT", ""), region)
    out = Writer(sys.stdout)
    out.write({"type": "ready", "sdk": "botocore", "version": botocore.__version__, "provider": mode})

    def answer(req_id, check):
        res = probe.retrieve(check)
        res["type"], res["id"] = "result", req_id
        out.write(res)

    threads = []
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        try:
            req = json.loads(line)
        except ValueError as e:
            out.write({"type": "result", "id": 0, "error": "probe: bad request line: %s" % e})
            continue
        op = req.get("op")
        if op == "quit":
            break
        if op != "retrieve":
            out.write({"type": "result", "id": req.get("id", 0), "error": "probe: unknown op %r" % op})
            continue
        t = threading.Thread(target=answer, args=(req.get("id", 0), bool(req.get("check"))))
        t.start()
        threads = [x for x in threads if x.is_alive()] + [t]
    for t in threads:
        t.join()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
