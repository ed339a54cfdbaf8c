package iamapi_test

import (
	"context"
	"errors"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awsiam "github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	awssts "github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"

	"github.com/imdsemu/imdsemu/iamapi"
	"github.com/imdsemu/imdsemu/sts"
)

// apiError is the code and message of an SDK error.
func apiError(err error) (code, msg string) {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode(), ae.ErrorMessage()
	}
	return "", ""
}

// TestUsers_GoSDK drives the user actions with aws-sdk-go-v2's IAM client,
// whose deserializers follow the same model as botocore's.
func TestUsers_GoSDK(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	c := f.admin()
	for _, name := range []string{"carol", "dave", "erin"} {
		out, err := c.CreateUser(ctx, &awsiam.CreateUserInput{UserName: aws.String(name), Path: aws.String("/staff/"),
			Tags: []iamtypes.Tag{{Key: aws.String("team"), Value: aws.String("web")}}})
		if err != nil {
			t.Fatalf("CreateUser(%s): %v", name, err)
		}
		if aws.ToString(out.User.Arn) != "arn:aws:iam::123456789012:user/staff/"+name || len(out.User.Tags) != 1 || out.User.CreateDate == nil {
			t.Errorf("CreateUser(%s) = %+v", name, out.User)
		}
	}
	_, err := c.CreateUser(ctx, &awsiam.CreateUserInput{UserName: aws.String("CAROL")})
	var exists *iamtypes.EntityAlreadyExistsException
	if !errors.As(err, &exists) || aws.ToString(exists.Message) != "User with name CAROL already exists." {
		t.Errorf("CreateUser(CAROL) = %v, want EntityAlreadyExists (names ignore case)", err)
	}
	_, err = c.GetUser(ctx, &awsiam.GetUserInput{UserName: aws.String("zed")})
	var missing *iamtypes.NoSuchEntityException
	if !errors.As(err, &missing) || aws.ToString(missing.Message) != "The user with name zed cannot be found." {
		t.Errorf("GetUser(zed) = %v, want NoSuchEntity", err)
	}

	// Pagination: two pages of two and one, with IsTruncated and Marker.
	var names []string
	p := awsiam.NewListUsersPaginator(c, &awsiam.ListUsersInput{PathPrefix: aws.String("/staff/"), MaxItems: aws.Int32(2)})
	pages := 0
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, u := range out.Users {
			names = append(names, aws.ToString(u.UserName))
		}
	}
	if pages != 2 || strings.Join(names, ",") != "carol,dave,erin" {
		t.Errorf("ListUsers pages = %d, users %v", pages, names)
	}

	// GetUser without UserName is the caller.
	me, err := c.GetUser(ctx, &awsiam.GetUserInput{})
	if err != nil || aws.ToString(me.User.UserName) != "admin" {
		t.Errorf("GetUser() = %v, %v", me, err)
	}
	if _, err := c.UpdateUser(ctx, &awsiam.UpdateUserInput{UserName: aws.String("erin"), NewPath: aws.String("/ops/")}); err != nil {
		t.Fatal(err)
	}
	got, err := c.GetUser(ctx, &awsiam.GetUserInput{UserName: aws.String("erin")})
	if err != nil || aws.ToString(got.User.Path) != "/ops/" {
		t.Errorf("after UpdateUser, GetUser = %v, %v", got, err)
	}
	if _, err := c.DeleteUser(ctx, &awsiam.DeleteUserInput{UserName: aws.String("erin")}); err != nil {
		t.Fatal(err)
	}
}

func TestAccessKeys_GoSDK(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	c := f.admin()
	if _, err := c.CreateUser(ctx, &awsiam.CreateUserInput{UserName: aws.String("carol")}); err != nil {
		t.Fatal(err)
	}
	var ids []string
	for range 2 {
		out, err := c.CreateAccessKey(ctx, &awsiam.CreateAccessKeyInput{UserName: aws.String("carol")})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, aws.ToString(out.AccessKey.AccessKeyId))
	}
	_, err := c.CreateAccessKey(ctx, &awsiam.CreateAccessKeyInput{UserName: aws.String("carol")})
	if code, msg := apiError(err); code != "LimitExceeded" || msg != "Cannot exceed quota for AccessKeysPerUser: 2" {
		t.Errorf("third CreateAccessKey = %v", err)
	}
	_, err = c.DeleteUser(ctx, &awsiam.DeleteUserInput{UserName: aws.String("carol")})
	if code, msg := apiError(err); code != "DeleteConflict" || msg != "Cannot delete entity, must delete access keys first." {
		t.Errorf("DeleteUser with keys = %v", err)
	}
	_, err = c.UpdateAccessKey(ctx, &awsiam.UpdateAccessKeyInput{UserName: aws.String("admin"), AccessKeyId: aws.String(ids[0]), Status: iamtypes.StatusTypeInactive})
	if code, msg := apiError(err); code != "NoSuchEntity" || msg != "The Access Key with id "+ids[0]+" cannot be found for user admin." {
		t.Errorf("UpdateAccessKey of another user's key = %v", err)
	}
	if _, err := c.UpdateAccessKey(ctx, &awsiam.UpdateAccessKeyInput{UserName: aws.String("carol"), AccessKeyId: aws.String(ids[0]), Status: iamtypes.StatusTypeInactive}); err != nil {
		t.Fatal(err)
	}
	list, err := c.ListAccessKeys(ctx, &awsiam.ListAccessKeysInput{UserName: aws.String("carol")})
	if err != nil || len(list.AccessKeyMetadata) != 2 {
		t.Fatalf("ListAccessKeys = %v, %v", list, err)
	}
	for _, k := range list.AccessKeyMetadata {
		want := iamtypes.StatusTypeActive
		if aws.ToString(k.AccessKeyId) == ids[0] {
			want = iamtypes.StatusTypeInactive
		}
		if k.Status != want || aws.ToString(k.UserName) != "carol" {
			t.Errorf("key %s: %s of %s, want %s", aws.ToString(k.AccessKeyId), k.Status, aws.ToString(k.UserName), want)
		}
	}
	lu, err := c.GetAccessKeyLastUsed(ctx, &awsiam.GetAccessKeyLastUsedInput{AccessKeyId: aws.String(ids[1])})
	if err != nil || aws.ToString(lu.UserName) != "carol" || aws.ToString(lu.AccessKeyLastUsed.ServiceName) != "N/A" {
		t.Errorf("GetAccessKeyLastUsed = %+v, %v", lu, err)
	}
	used, err := c.GetAccessKeyLastUsed(ctx, &awsiam.GetAccessKeyLastUsedInput{AccessKeyId: aws.String(adminKey)})
	if err != nil || used.AccessKeyLastUsed.LastUsedDate == nil || aws.ToString(used.AccessKeyLastUsed.ServiceName) != "iam" || aws.ToString(used.AccessKeyLastUsed.Region) != "us-east-1" {
		t.Errorf("GetAccessKeyLastUsed(the key signing these calls) = %+v, %v", used, err)
	}
	// The root user's own keys, without UserName.
	root, err := f.client(rootKey, rootSec).ListAccessKeys(ctx, &awsiam.ListAccessKeysInput{})
	if err != nil || len(root.AccessKeyMetadata) != 1 || aws.ToString(root.AccessKeyMetadata[0].AccessKeyId) != rootKey {
		t.Errorf("root ListAccessKeys() = %v, %v", root, err)
	}
	for _, id := range ids {
		if _, err := c.DeleteAccessKey(ctx, &awsiam.DeleteAccessKeyInput{UserName: aws.String("carol"), AccessKeyId: aws.String(id)}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.DeleteUser(ctx, &awsiam.DeleteUserInput{UserName: aws.String("carol")}); err != nil {
		t.Fatal(err)
	}
}

// TestAuthorization checks who may call IAM: IAM's AccessDenied wording for
// a user without the permission, role sessions under their role's
// policies, the root user always, and no call with the temporary
// credentials AWS refuses (GetFederationToken, GetSessionToken without MFA).
func TestAuthorization(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	_, err := f.client(nobodyKey, nobodySec).CreateUser(ctx, &awsiam.CreateUserInput{UserName: aws.String("carol"), Path: aws.String("/x/")})
	want := "User: arn:aws:iam::123456789012:user/nobody is not authorized to perform: iam:CreateUser on resource: arn:aws:iam::123456789012:user/x/carol because no identity-based policy allows the iam:CreateUser action"
	if code, msg := apiError(err); code != "AccessDenied" || msg != want {
		t.Errorf("nobody CreateUser = %q %q, want %q", code, msg, want)
	}
	_, err = f.client(nobodyKey, nobodySec).ListUsers(ctx, &awsiam.ListUsersInput{})
	if _, msg := apiError(err); !strings.Contains(msg, "iam:ListUsers on resource: arn:aws:iam::123456789012:user/ because") {
		t.Errorf("nobody ListUsers = %v", err)
	}
	if _, err := f.client(rootKey, rootSec).CreateUser(ctx, &awsiam.CreateUserInput{UserName: aws.String("carol")}); err != nil {
		t.Errorf("root CreateUser = %v", err)
	}

	stsc := awssts.NewFromConfig(aws.Config{Region: "us-east-1", Credentials: credentials.StaticCredentialsProvider{Value: aws.Credentials{AccessKeyID: adminKey, SecretAccessKey: adminSec}}},
		func(o *awssts.Options) { o.BaseEndpoint = aws.String(f.hs.URL); o.Retryer = aws.NopRetryer{} })
	fed, err := stsc.GetFederationToken(ctx, &awssts.GetFederationTokenInput{Name: aws.String("fed"), Policy: aws.String(allowIAM)})
	if err != nil {
		t.Fatal(err)
	}
	sess, err := stsc.GetSessionToken(ctx, &awssts.GetSessionTokenInput{})
	if err != nil {
		t.Fatal(err)
	}
	for name, creds := range map[string]*awssts.GetFederationTokenOutput{"GetFederationToken": fed, "GetSessionToken": {Credentials: sess.Credentials}} {
		c := awsiam.NewFromConfig(aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider(
			aws.ToString(creds.Credentials.AccessKeyId), aws.ToString(creds.Credentials.SecretAccessKey), aws.ToString(creds.Credentials.SessionToken))},
			func(o *awsiam.Options) { o.BaseEndpoint = aws.String(f.hs.URL); o.Retryer = aws.NopRetryer{} })
		_, err := c.GetUser(ctx, &awsiam.GetUserInput{UserName: aws.String("admin")})
		if code, msg := apiError(err); code != "InvalidClientTokenId" || msg != "The security token included in the request is invalid" {
			t.Errorf("GetUser with %s credentials = %v, want InvalidClientTokenId", name, err)
		}
	}
}

// TestProtocol checks the documents on the wire: the response and error
// shapes, the namespace, the request id, and what happens to requests that
// are not IAM calls.
func TestProtocol(t *testing.T) {
	f := newFixture(t)
	reqID := regexp.MustCompile(`<RequestId>[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}</RequestId>`)
	golden := func(t *testing.T, got, want string) {
		t.Helper()
		got = reqID.ReplaceAllString(got, "<RequestId>ID</RequestId>")
		got = regexp.MustCompile(`<(UserId|CreateDate)>[^<]+</`).ReplaceAllString(got, "<$1>X</")
		if got != want {
			t.Errorf("document\n got %s\nwant %s", got, want)
		}
	}
	status, body := f.raw(t, adminKey, adminSec, "iam", url.Values{"Action": {"CreateUser"}, "UserName": {"carol"}})
	golden(t, body, `<CreateUserResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><CreateUserResult><User><Path>/</Path><UserName>carol</UserName><UserId>X</UserId><Arn>arn:aws:iam::123456789012:user/carol</Arn><CreateDate>X</CreateDate></User></CreateUserResult><ResponseMetadata><RequestId>ID</RequestId></ResponseMetadata></CreateUserResponse>`+"\n")
	if status != http.StatusOK {
		t.Errorf("CreateUser status %d", status)
	}
	status, body = f.raw(t, adminKey, adminSec, "iam", url.Values{"Action": {"DeleteUser"}, "UserName": {"carol"}})
	golden(t, body, `<DeleteUserResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><ResponseMetadata><RequestId>ID</RequestId></ResponseMetadata></DeleteUserResponse>`+"\n")
	status, body = f.raw(t, adminKey, adminSec, "iam", url.Values{"Action": {"DeleteUser"}, "UserName": {"carol"}})
	golden(t, body, `<ErrorResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><Error><Type>Sender</Type><Code>NoSuchEntity</Code><Message>The user with name carol cannot be found.</Message></Error><RequestId>ID</RequestId></ErrorResponse>`+"\n")
	if status != http.StatusNotFound {
		t.Errorf("NoSuchEntity status %d, want 404", status)
	}

	cases := []struct {
		name         string
		id, service  string
		form         url.Values
		status       int
		code, substr string
	}{
		{"unsigned", "", "", url.Values{"Action": {"ListUsers"}}, 403, "MissingAuthenticationToken", "Request is missing Authentication Token"},
		{"unknown action", adminKey, "iam", url.Values{"Action": {"CreateBucket"}}, 400, "InvalidAction", "Could not find operation CreateBucket for version 2010-05-08"},
		{"wrong version", adminKey, "iam", url.Values{"Action": {"ListUsers"}, "Version": {"2011-06-15"}}, 400, "InvalidAction", "for version 2011-06-15"},
		{"missing name", adminKey, "iam", url.Values{"Action": {"CreateUser"}}, 400, "ValidationError", "1 validation error detected: Value null at 'userName' failed to satisfy constraint: Member must not be null"},
		{"two violations", adminKey, "iam", url.Values{"Action": {"CreateUser"}, "UserName": {strings.Repeat("a", 65)}, "Path": {"nopath"}}, 400, "ValidationError", "2 validation errors detected"},
		{"bad marker", adminKey, "iam", url.Values{"Action": {"ListUsers"}, "Marker": {"zzz"}}, 400, "ValidationError", "at 'marker'"},
		{"MaxItems 0", adminKey, "iam", url.Values{"Action": {"ListUsers"}, "MaxItems": {"0"}}, 400, "ValidationError", "Member must have value greater than or equal to 1"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			status, body := f.raw(t, tc.id, adminSec, tc.service, tc.form)
			body = html.UnescapeString(body)
			if status != tc.status || !strings.Contains(body, "<Code>"+tc.code+"</Code>") || !strings.Contains(body, tc.substr) {
				t.Errorf("= %d %s, want %d %s containing %q", status, body, tc.status, tc.code, tc.substr)
			}
		})
	}

	// Scoped to STS and sent to the IAM server itself (not Dispatch).
	hs := f.iamOnly(t)
	status, body = rawTo(t, hs, adminKey, adminSec, "sts", url.Values{"Action": {"ListUsers"}, "Version": {iamapi.APIVersion}})
	if status != 403 || !strings.Contains(html.UnescapeString(body), "Credential should be scoped to correct service: 'iam'.") {
		t.Errorf("STS-scoped request to the IAM server = %d %s", status, body)
	}
}

func TestRoleSessionUnderRolePolicies(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	role, err := f.store.Role(ctx, acct, "app")
	if err != nil {
		t.Fatal(err)
	}
	c, err := f.issuer().Issue(ctx, sts.Request{Action: sts.ActionAssumeRole, AccountID: acct, RoleARN: role.ARN(), RoleID: role.ID, SessionName: "s1"})
	if err != nil {
		t.Fatal(err)
	}
	cl := awsiam.NewFromConfig(aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider(c.AccessKeyID, c.SecretAccessKey, c.SessionToken)},
		func(o *awsiam.Options) { o.BaseEndpoint = aws.String(f.hs.URL); o.Retryer = aws.NopRetryer{} })
	if _, err := cl.GetUser(ctx, &awsiam.GetUserInput{UserName: aws.String("admin")}); err != nil {
		t.Errorf("role session GetUser (allowed by iam:Get*) = %v", err)
	}
	_, err = cl.ListUsers(ctx, &awsiam.ListUsersInput{})
	want := "User: arn:aws:sts::123456789012:assumed-role/app/s1 is not authorized to perform: iam:ListUsers on resource: arn:aws:iam::123456789012:user/ because no identity-based policy allows the iam:ListUsers action"
	if _, msg := apiError(err); msg != want {
		t.Errorf("role session ListUsers = %v, want %q", err, want)
	}
	_, err = cl.GetUser(ctx, &awsiam.GetUserInput{})
	if code, msg := apiError(err); code != "ValidationError" || msg != "Must specify userName when calling with non-User credentials" {
		t.Errorf("role session GetUser() = %v", err)
	}
}
