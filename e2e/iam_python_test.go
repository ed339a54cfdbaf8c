package e2e

import (
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
)

// iamBotoScript drives the IAM API with Debian's boto3 (botocore 1.29):
// a group with a managed policy, a user in it, the simulator, paginators,
// a policy document decoded by botocore, the credential report, and an
// error as boto3 raises it.
const iamBotoScript = `
import base64, csv, io, json, os
import boto3
from botocore.exceptions import ClientError
iam = boto3.client("iam", endpoint_url=os.environ["IAM"], region_name="us-east-1")
out = {}
iam.create_group(GroupName="devs")
doc = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "iam:List*", "Resource": "*"}]}
arn = iam.create_policy(PolicyName="lister", PolicyDocument=json.dumps(doc))["Policy"]["Arn"]
iam.create_policy_version(PolicyArn=arn, PolicyDocument=json.dumps(doc), SetAsDefault=True)
out["versions"] = [v["VersionId"] for v in iam.list_policy_versions(PolicyArn=arn)["Versions"]]
out["document"] = iam.get_policy_version(PolicyArn=arn, VersionId="v2")["PolicyVersion"]["Document"]
iam.attach_group_policy(GroupName="devs", PolicyArn=arn)
for i in range(5):
    iam.create_user(UserName="dev%d" % i)
    iam.add_user_to_group(GroupName="devs", UserName="dev%d" % i)
names = []
for page in iam.get_paginator("list_users").paginate(PaginationConfig={"PageSize": 2}):
    names += [u["UserName"] for u in page["Users"]]
out["users"] = names
sim = iam.simulate_principal_policy(PolicySourceArn="arn:aws:iam::123456789012:user/dev0",
    ActionNames=["iam:ListRoles", "iam:DeleteRole"])["EvaluationResults"]
out["simulate"] = {r["EvalActionName"]: r["EvalDecision"] for r in sim}
custom = iam.simulate_custom_policy(PolicyInputList=[json.dumps(doc)], ActionNames=["iam:ListGroups"],
    ContextEntries=[{"ContextKeyName": "aws:username", "ContextKeyValues": ["dev0"], "ContextKeyType": "string"}])
out["custom"] = custom["EvaluationResults"][0]["EvalDecision"]
try:
    iam.delete_policy(PolicyArn=arn)
    out["delete_attached"] = "deleted"
except ClientError as e:
    out["delete_attached"] = e.response["Error"]["Code"]
out["policies_aws"] = len(iam.list_policies(Scope="AWS")["Policies"]) > 0
out["policies_local"] = [p["PolicyName"] for p in iam.list_policies(Scope="Local")["Policies"]]
iam.generate_credential_report()
report = iam.get_credential_report()
rows = list(csv.reader(io.StringIO(report["Content"].decode())))
out["report_users"] = [r[0] for r in rows[1:]]
print(json.dumps(out))
`

// TestIAM_Boto3 runs iamBotoScript as the administrator.
func TestIAM_Boto3(t *testing.T) {
	py := requireTool(t, "/usr/bin/python3")
	if err := exec.Command(py, "-c", "import boto3").Run(); err != nil {
		requireTool(t, "/usr/lib/python3/dist-packages/boto3")
	}
	w := startIAMWorld(t)
	cmd := exec.Command(py, "-c", iamBotoScript)
	cmd.Env = cleanEnv(t, append(w.profile(t, "admin"), "IAM="+w.iam)...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("boto3: %v\n%s", err, stderr.String())
	}
	var got struct {
		Versions       []string          `json:"versions"`
		Document       map[string]any    `json:"document"`
		Users          []string          `json:"users"`
		Simulate       map[string]string `json:"simulate"`
		Custom         string            `json:"custom"`
		DeleteAttached string            `json:"delete_attached"`
		PoliciesAWS    bool              `json:"policies_aws"`
		PoliciesLocal  []string          `json:"policies_local"`
		ReportUsers    []string          `json:"report_users"`
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("boto3 printed %q: %v", out, err)
	}
	if strings.Join(got.Versions, ",") != "v1,v2" || got.Document["Version"] != "2012-10-17" {
		t.Errorf("versions %v, document %v (botocore decodes the URL-encoded JSON)", got.Versions, got.Document)
	}
	if len(got.Users) != 7 {
		t.Errorf("paginated list_users = %v, want admin, dev0-4, nobody", got.Users)
	}
	if got.Simulate["iam:ListRoles"] != "allowed" || got.Simulate["iam:DeleteRole"] != "implicitDeny" || got.Custom != "allowed" {
		t.Errorf("simulate = %v, custom = %s", got.Simulate, got.Custom)
	}
	if got.DeleteAttached != "DeleteConflict" || !got.PoliciesAWS || strings.Join(got.PoliciesLocal, ",") != "lister" {
		t.Errorf("delete attached policy = %s, AWS policies listed %t, local %v", got.DeleteAttached, got.PoliciesAWS, got.PoliciesLocal)
	}
	if len(got.ReportUsers) != 8 || got.ReportUsers[0] != "<root_account>" {
		t.Errorf("credential report users = %v", got.ReportUsers)
	}
}
