-- wrk script: the IMDSv2 token PUT.
wrk.method = "PUT"
wrk.headers["X-aws-ec2-metadata-token-ttl-seconds"] = "21600"
