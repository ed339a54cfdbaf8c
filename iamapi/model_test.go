package iamapi_test

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awsiam "github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	awssts "github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"
)

const listOnly = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:List*","Resource":"*"}]}`

// TestGroupsPoliciesSimulate_GoSDK: a group with a customer managed policy
// (two versions), a member, the simulator and the member's own calls agree;
// conflicts and missing entities answer IAM's codes.
func TestGroupsPoliciesSimulate_GoSDK(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	c := f.admin()
	must := func(_ any, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(c.CreateGroup(ctx, &awsiam.CreateGroupInput{GroupName: aws.String("devs")}))
	pol, err := c.CreatePolicy(ctx, &awsiam.CreatePolicyInput{PolicyName: aws.String("lister"), PolicyDocument: aws.String(readPolicy)})
	if err != nil {
		t.Fatal(err)
	}
	arn := pol.Policy.Arn
	must(c.CreatePolicyVersion(ctx, &awsiam.CreatePolicyVersionInput{PolicyArn: arn, PolicyDocument: aws.String(listOnly), SetAsDefault: true}))
	v2, err := c.GetPolicyVersion(ctx, &awsiam.GetPolicyVersionInput{PolicyArn: arn, VersionId: aws.String("v2")})
	if err != nil || !aws.ToBool(&v2.PolicyVersion.IsDefaultVersion) || !strings.Contains(aws.ToString(v2.PolicyVersion.Document), "%22iam%3AList%2A%22") {
		t.Errorf("GetPolicyVersion(v2) = %+v, %v (the document URL-encoded, as IAM sends it)", v2, err)
	}
	must(c.AttachGroupPolicy(ctx, &awsiam.AttachGroupPolicyInput{GroupName: aws.String("devs"), PolicyArn: arn}))
	must(c.AddUserToGroup(ctx, &awsiam.AddUserToGroupInput{GroupName: aws.String("devs"), UserName: aws.String("nobody")}))
	_, err = c.AttachGroupPolicy(ctx, &awsiam.AttachGroupPolicyInput{GroupName: aws.String("devs"), PolicyArn: aws.String("arn:aws:iam::aws:policy/NoSuchPolicy")})
	if code, _ := apiError(err); code != "NoSuchEntity" {
		t.Errorf("attaching an unknown AWS managed policy = %v", err)
	}
	_, err = c.DeleteGroup(ctx, &awsiam.DeleteGroupInput{GroupName: aws.String("devs")})
	if code, _ := apiError(err); code != "DeleteConflict" {
		t.Errorf("DeleteGroup with a member = %v", err)
	}
	_, err = c.PutUserPolicy(ctx, &awsiam.PutUserPolicyInput{UserName: aws.String("nobody"), PolicyName: aws.String("bad"), PolicyDocument: aws.String(`{"Statement":[{"Effect":"Maybe"}]}`)})
	if code, _ := apiError(err); code != "MalformedPolicyDocument" {
		t.Errorf("PutUserPolicy(bad) = %v", err)
	}

	sim, err := c.SimulatePrincipalPolicy(ctx, &awsiam.SimulatePrincipalPolicyInput{
		PolicySourceArn: aws.String("arn:aws:iam::123456789012:user/nobody"), ActionNames: []string{"iam:ListRoles", "iam:GetRole"}})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]iamtypes.PolicyEvaluationDecisionType{}
	for _, r := range sim.EvaluationResults {
		got[aws.ToString(r.EvalActionName)] = r.EvalDecision
	}
	if got["iam:ListRoles"] != iamtypes.PolicyEvaluationDecisionTypeAllowed || got["iam:GetRole"] != iamtypes.PolicyEvaluationDecisionTypeImplicitDeny {
		t.Errorf("simulate = %v (v2 of lister allows List* only)", got)
	}
	nobody := f.client(nobodyKey, nobodySec)
	if _, err := nobody.ListRoles(ctx, &awsiam.ListRolesInput{}); err != nil {
		t.Errorf("nobody ListRoles through the group = %v", err)
	}
	if _, err := nobody.GetRole(ctx, &awsiam.GetRoleInput{RoleName: aws.String("app")}); err == nil {
		t.Error("nobody GetRole allowed; the simulator said implicitDeny")
	}
	custom, err := c.SimulateCustomPolicy(ctx, &awsiam.SimulateCustomPolicyInput{PolicyInputList: []string{listOnly}, ActionNames: []string{"iam:ListUsers"},
		ResourceArns: []string{"arn:aws:iam::123456789012:user/x"}})
	if err != nil || len(custom.EvaluationResults) != 1 || custom.EvaluationResults[0].EvalDecision != iamtypes.PolicyEvaluationDecisionTypeAllowed ||
		aws.ToString(custom.EvaluationResults[0].MatchedStatements[0].SourcePolicyId) != "PolicyInputList.1" {
		t.Errorf("SimulateCustomPolicy = %+v, %v", custom, err)
	}
	details, err := c.GetAccountAuthorizationDetails(ctx, &awsiam.GetAccountAuthorizationDetailsInput{})
	if err != nil || len(details.GroupDetailList) != 1 || len(details.UserDetailList) != 2 || len(details.Policies) != 1 || len(details.Policies[0].PolicyVersionList) != 2 {
		t.Errorf("GetAccountAuthorizationDetails = %+v, %v", details, err)
	}
}

// TestInstanceProfiles_GoSDK: a role put in a profile is announced to the
// watcher, once; a second role is LimitExceeded; removing it is announced.
func TestInstanceProfiles_GoSDK(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	c := f.admin()
	if _, err := c.CreateInstanceProfile(ctx, &awsiam.CreateInstanceProfileInput{InstanceProfileName: aws.String("web")}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.AddRoleToInstanceProfile(ctx, &awsiam.AddRoleToInstanceProfileInput{InstanceProfileName: aws.String("web"), RoleName: aws.String("app")}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateRole(ctx, &awsiam.CreateRoleInput{RoleName: aws.String("other"), AssumeRolePolicyDocument: aws.String(ec2Trust)}); err != nil {
		t.Fatal(err)
	}
	_, err := c.AddRoleToInstanceProfile(ctx, &awsiam.AddRoleToInstanceProfileInput{InstanceProfileName: aws.String("web"), RoleName: aws.String("other")})
	if code, msg := apiError(err); code != "LimitExceeded" || msg != "Cannot exceed quota for InstanceSessionsPerInstanceProfile: 1" {
		t.Errorf("a second role = %v", err)
	}
	got, err := c.GetInstanceProfile(ctx, &awsiam.GetInstanceProfileInput{InstanceProfileName: aws.String("web")})
	if err != nil || len(got.InstanceProfile.Roles) != 1 || aws.ToString(got.InstanceProfile.Roles[0].RoleName) != "app" {
		t.Fatalf("GetInstanceProfile = %+v, %v", got, err)
	}
	doc, _ := url.QueryUnescape(aws.ToString(got.InstanceProfile.Roles[0].AssumeRolePolicyDocument))
	if doc != ec2Trust {
		t.Errorf("the role's trust policy = %q", doc)
	}
	_, err = c.DeleteRole(ctx, &awsiam.DeleteRoleInput{RoleName: aws.String("app")})
	if code, _ := apiError(err); code != "DeleteConflict" {
		t.Errorf("DeleteRole of a role with policies, in a profile = %v", err)
	}
	if _, err := c.RemoveRoleFromInstanceProfile(ctx, &awsiam.RemoveRoleFromInstanceProfileInput{InstanceProfileName: aws.String("web"), RoleName: aws.String("app")}); err != nil {
		t.Fatal(err)
	}
	want := "arn:aws:iam::123456789012:instance-profile/web=app,arn:aws:iam::123456789012:instance-profile/web="
	if strings.Join(f.profiles.calls, ",") != want {
		t.Errorf("watcher heard %v, want %s", f.profiles.calls, want)
	}
	if _, err := c.DeleteInstanceProfile(ctx, &awsiam.DeleteInstanceProfileInput{InstanceProfileName: aws.String("web")}); err != nil {
		t.Fatal(err)
	}
}

func TestPasswordPolicy_GoSDK(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	c := f.admin()
	_, err := c.GetAccountPasswordPolicy(ctx, &awsiam.GetAccountPasswordPolicyInput{})
	if code, msg := apiError(err); code != "NoSuchEntity" || msg != "The Password Policy with domain name 123456789012 cannot be found." {
		t.Errorf("GetAccountPasswordPolicy before any = %v", err)
	}
	if _, err := c.UpdateAccountPasswordPolicy(ctx, &awsiam.UpdateAccountPasswordPolicyInput{MinimumPasswordLength: aws.Int32(14), RequireSymbols: true, MaxPasswordAge: aws.Int32(90)}); err != nil {
		t.Fatal(err)
	}
	got, err := c.GetAccountPasswordPolicy(ctx, &awsiam.GetAccountPasswordPolicyInput{})
	if err != nil || aws.ToInt32(got.PasswordPolicy.MinimumPasswordLength) != 14 || !got.PasswordPolicy.RequireSymbols || !got.PasswordPolicy.ExpirePasswords || aws.ToInt32(got.PasswordPolicy.MaxPasswordAge) != 90 {
		t.Errorf("GetAccountPasswordPolicy = %+v, %v", got, err)
	}
	if _, err := c.UpdateAccountPasswordPolicy(ctx, &awsiam.UpdateAccountPasswordPolicyInput{MinimumPasswordLength: aws.Int32(5)}); err == nil {
		t.Error("a minimum length of 5 accepted")
	}
	if _, err := c.DeleteAccountPasswordPolicy(ctx, &awsiam.DeleteAccountPasswordPolicyInput{}); err != nil {
		t.Fatal(err)
	}
}

// TestMFA_GoSDK: a virtual device made unassigned, enabled for a user with
// two consecutive codes, listed, and the user's GetSessionToken with it
// makes credentials IAM accepts (without MFA it refuses them).
func TestMFA_GoSDK(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	c := f.admin()
	dev, err := c.CreateVirtualMFADevice(ctx, &awsiam.CreateVirtualMFADeviceInput{VirtualMFADeviceName: aws.String("admin-phone")})
	if err != nil {
		t.Fatal(err)
	}
	serial := aws.ToString(dev.VirtualMFADevice.SerialNumber)
	seed := string(dev.VirtualMFADevice.Base32StringSeed)
	if serial != "arn:aws:iam::123456789012:mfa/admin-phone" || len(seed) < 16 {
		t.Fatalf("CreateVirtualMFADevice = %s, %d-character seed", serial, len(seed))
	}
	now := time.Now()
	code := func(at time.Time) string {
		s, err := totp.GenerateCodeCustom(seed, at, totp.ValidateOpts{Period: 30, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	_, err = c.EnableMFADevice(ctx, &awsiam.EnableMFADeviceInput{UserName: aws.String("admin"), SerialNumber: aws.String(serial),
		AuthenticationCode1: aws.String(code(now)), AuthenticationCode2: aws.String(code(now))})
	if code, _ := apiError(err); code != "InvalidAuthenticationCode" {
		t.Errorf("EnableMFADevice with one code twice = %v", err)
	}
	if _, err := c.EnableMFADevice(ctx, &awsiam.EnableMFADeviceInput{UserName: aws.String("admin"), SerialNumber: aws.String(serial),
		AuthenticationCode1: aws.String(code(now.Add(-30 * time.Second))), AuthenticationCode2: aws.String(code(now))}); err != nil {
		t.Fatal(err)
	}
	list, err := c.ListMFADevices(ctx, &awsiam.ListMFADevicesInput{UserName: aws.String("admin")})
	if err != nil || len(list.MFADevices) != 1 || aws.ToString(list.MFADevices[0].SerialNumber) != serial {
		t.Errorf("ListMFADevices = %+v, %v", list, err)
	}
	_, err = c.DeleteVirtualMFADevice(ctx, &awsiam.DeleteVirtualMFADeviceInput{SerialNumber: aws.String(serial)})
	if code, _ := apiError(err); code != "DeleteConflict" {
		t.Errorf("DeleteVirtualMFADevice of an enabled device = %v", err)
	}

	stsc := awssts.NewFromConfig(aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider(adminKey, adminSec, "")},
		func(o *awssts.Options) { o.BaseEndpoint = aws.String(f.hs.URL); o.Retryer = aws.NopRetryer{} })
	sess, err := stsc.GetSessionToken(ctx, &awssts.GetSessionTokenInput{SerialNumber: aws.String(serial), TokenCode: aws.String(code(time.Now()))})
	if err != nil {
		t.Fatal(err)
	}
	mfaIAM := awsiam.NewFromConfig(aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider(
		aws.ToString(sess.Credentials.AccessKeyId), aws.ToString(sess.Credentials.SecretAccessKey), aws.ToString(sess.Credentials.SessionToken))},
		func(o *awsiam.Options) { o.BaseEndpoint = aws.String(f.hs.URL); o.Retryer = aws.NopRetryer{} })
	if _, err := mfaIAM.ListUsers(ctx, &awsiam.ListUsersInput{}); err != nil {
		t.Errorf("ListUsers with an MFA session = %v", err)
	}

	if _, err := c.DeactivateMFADevice(ctx, &awsiam.DeactivateMFADeviceInput{UserName: aws.String("admin"), SerialNumber: aws.String(serial)}); err != nil {
		t.Fatal(err)
	}
	virt, err := c.ListVirtualMFADevices(ctx, &awsiam.ListVirtualMFADevicesInput{AssignmentStatus: iamtypes.AssignmentStatusTypeUnassigned})
	if err != nil || len(virt.VirtualMFADevices) != 1 {
		t.Errorf("ListVirtualMFADevices(Unassigned) after deactivating = %+v, %v", virt, err)
	}
	if _, err := c.DeleteVirtualMFADevice(ctx, &awsiam.DeleteVirtualMFADeviceInput{SerialNumber: aws.String(serial)}); err != nil {
		t.Fatal(err)
	}
}
