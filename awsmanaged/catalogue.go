package awsmanaged

// catalogue lists the shipped policies, sorted by path and name. Versions
// and dates are those of AWS's managed policy reference
// (docs.aws.amazon.com/aws-managed-policy/latest/reference/NAME.html).
func catalogue() []Policy {
	return []Policy{
		{Name: "AdministratorAccess", Path: "/", VersionID: "v1",
			Description: "Provides full access to AWS services and resources.",
			Created:     date("2015-02-06T18:39:46Z"), Updated: date("2015-02-06T18:39:46Z")},
	}
}
