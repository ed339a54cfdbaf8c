package awsmanaged

// catalogue lists the shipped policies, sorted by path and name. Versions,
// descriptions and dates are those of AWS's managed policy reference
// (docs.aws.amazon.com/aws-managed-policy/latest/reference/NAME.html);
// where the reference gives minutes only, the seconds are zero. The
// documents are AWS's, formatted as the reference shows them.
func catalogue() []Policy {
	return []Policy{
		{Name: "AWSAccountManagementReadOnlyAccess", Path: "/", VersionID: "v1",
			Description: "Provides read-only access to AWS Account Management",
			Created:     date("2021-09-30T23:29:00Z"), Updated: date("2021-09-30T23:29:00Z")},
		{Name: "AdministratorAccess", Path: "/", VersionID: "v1",
			Description: "Provides full access to AWS services and resources.",
			Created:     date("2015-02-06T18:39:46Z"), Updated: date("2015-02-06T18:39:46Z")},
		{Name: "AmazonEC2ReadOnlyAccess", Path: "/", VersionID: "v5",
			Description: "Provides read only access to Amazon EC2 via the AWS Management Console.",
			Created:     date("2015-02-06T18:40:00Z"), Updated: date("2026-02-12T18:03:17Z")},
		{Name: "AmazonS3ReadOnlyAccess", Path: "/", VersionID: "v3",
			Description: "Provides read only access to all buckets via the AWS Management Console.",
			Created:     date("2015-02-06T18:40:00Z"), Updated: date("2023-08-10T21:31:00Z")},
		{Name: "AmazonSSMManagedInstanceCore", Path: "/", VersionID: "v2",
			Description: "The policy for Amazon EC2 Role to enable AWS Systems Manager service core functionality.",
			Created:     date("2019-03-15T17:22:00Z"), Updated: date("2019-05-23T16:54:00Z")},
		{Name: "AmazonSSMReadOnlyAccess", Path: "/", VersionID: "v1",
			Description: "Provides read only access to Amazon SSM.",
			Created:     date("2015-05-29T17:44:00Z"), Updated: date("2015-05-29T17:44:00Z")},
		{Name: "IAMFullAccess", Path: "/", VersionID: "v2",
			Description: "Provides full access to IAM via the AWS Management Console.",
			Created:     date("2015-02-06T18:40:00Z"), Updated: date("2019-06-21T19:40:00Z")},
		{Name: "IAMReadOnlyAccess", Path: "/", VersionID: "v4",
			Description: "Provides read only access to IAM via the AWS Management Console.",
			Created:     date("2015-02-06T18:40:00Z"), Updated: date("2018-01-25T19:11:00Z")},
		{Name: "IAMUserChangePassword", Path: "/", VersionID: "v3",
			Description: "Provides the ability for an IAM user to change their own password.",
			Created:     date("2016-11-15T00:25:00Z"), Updated: date("2025-05-29T21:52:00Z")},
		{Name: "PowerUserAccess", Path: "/", VersionID: "v12",
			Description: "Provides full access to AWS services and resources, but does not allow management of Users and groups.",
			Created:     date("2015-02-06T18:39:00Z"), Updated: date("2026-02-12T17:59:14Z")},
		// ReadOnlyAccess v178 lists about 4,000 actions of several hundred
		// services in its statements; imdsemu keeps the entries of its
		// first statement (ReadOnlyActionsGroup1) for the account, Auto
		// Scaling, billing views, EC2, IAM and S3 (docs/iam.md).
		{Name: "ReadOnlyAccess", Path: "/", VersionID: "v178",
			Description: "Provides read-only access to AWS services and resources.",
			Created:     date("2015-02-06T18:39:00Z"), Updated: date("2026-02-12T18:01:33Z"), Subset: true},
		{Name: "Billing", Path: "/job-function/", VersionID: "v28",
			Description: "Grants permissions for billing and cost management. This includes viewing account usage and viewing and modifying budgets and payment methods.",
			Created:     date("2016-11-10T17:33:00Z"), Updated: date("2026-04-08T17:12:18Z")},
	}
}
