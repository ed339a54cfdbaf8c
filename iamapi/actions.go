package iamapi

// handler runs one IAM action: it validates the parameters, authorizes the
// caller, acts, and returns the result document (nil for the actions whose
// output is empty).
type handler func(s *Server, rc *request) (any, *Error)

// actions returns the IAM actions imdsemu serves, by name. docs/iam.md's
// coverage table lists them (TestCoverageTable keeps the two in step).
func actions() map[string]handler {
	return map[string]handler{
		"CreateUser": (*Server).createUser,
		"GetUser":    (*Server).getUser,
		"ListUsers":  (*Server).listUsers,
		"UpdateUser": (*Server).updateUser,
		"DeleteUser": (*Server).deleteUser,

		"CreateAccessKey":      (*Server).createAccessKey,
		"ListAccessKeys":       (*Server).listAccessKeys,
		"UpdateAccessKey":      (*Server).updateAccessKey,
		"DeleteAccessKey":      (*Server).deleteAccessKey,
		"GetAccessKeyLastUsed": (*Server).getAccessKeyLastUsed,

		"GenerateCredentialReport": (*Server).generateCredentialReport,
		"GetCredentialReport":      (*Server).getCredentialReport,
	}
}
