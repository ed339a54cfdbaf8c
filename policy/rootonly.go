package policy

import "strings"

// RootTask is a task that only an account's root user can perform: no
// policy grants it to an IAM user, a role or a federated user, whatever it
// allows (IAM User Guide, "Tasks that require root user credentials"; the
// root-only rows of the seed notes' table: change the account settings,
// change the support plan, close the account, create CloudFront key pairs).
type RootTask struct {
	// Task says what the root user does, as AWS's list words it.
	Task string
	// Actions are the IAM action names imdsemu gives the task.
	Actions []string
}

// RootTasks returns the root-only tasks imdsemu enforces. AWS performs most
// of them in the console, not through an API; where IAM has an action name
// for the task it is used (account:CloseAccount, account:PutAccountName,
// supportplans:CreateSupportPlanSchedule), and the CloudFront key pair
// action is imdsemu's name for a console-only task.
func RootTasks() []RootTask {
	return []RootTask{
		{Task: "Change your account settings (account name, root user email address, password and access keys)",
			Actions: []string{"account:PutAccountName", "account:StartPrimaryEmailUpdate", "account:AcceptPrimaryEmailUpdate"}},
		{Task: "Change or cancel your AWS Support plan",
			Actions: []string{"supportplans:CreateSupportPlanSchedule"}},
		{Task: "Close your AWS account",
			Actions: []string{"account:CloseAccount"}},
		{Task: "Create a CloudFront key pair",
			Actions: []string{"cloudfront:CreateCloudFrontKeyPair"}},
	}
}

// RootOnly reports whether action (case-insensitive, as IAM matches
// actions) is a root-only task, and which.
func RootOnly(action string) (RootTask, bool) {
	for _, t := range RootTasks() {
		for _, a := range t.Actions {
			if strings.EqualFold(a, action) {
				return t, true
			}
		}
	}
	return RootTask{}, false
}

// rootOnlyDenial is the explanation of a root-only task asked by another
// principal than the account's root user.
func rootOnlyDenial(action string, t RootTask) string {
	return "only the account root user can perform " + action + ` ("` + t.Task +
		`", a task that requires root user credentials); no policy can allow it to an IAM user, role or federated user`
}
