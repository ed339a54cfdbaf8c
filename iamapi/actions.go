package iamapi

// handler runs one IAM action: it validates the parameters, authorizes the
// caller, acts, and returns the result document (nil for the actions whose
// output is empty).
type handler func(s *Server, rc *request) (any, *Error)

// actions returns the IAM actions imdsemu serves, by name. docs/iam.md's
// coverage table lists them (TestCoverageTable keeps the two in step).
func actions() map[string]handler {
	m := map[string]handler{
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

		"CreateGroup":         (*Server).createGroup,
		"GetGroup":            (*Server).getGroup,
		"ListGroups":          (*Server).listGroups,
		"ListGroupsForUser":   (*Server).listGroupsForUser,
		"UpdateGroup":         (*Server).updateGroup,
		"DeleteGroup":         (*Server).deleteGroup,
		"AddUserToGroup":      (*Server).addUserToGroup,
		"RemoveUserFromGroup": (*Server).removeUserFromGroup,

		"CreateRole":             (*Server).createRole,
		"GetRole":                (*Server).getRole,
		"ListRoles":              (*Server).listRoles,
		"UpdateRole":             (*Server).updateRole,
		"UpdateAssumeRolePolicy": (*Server).updateAssumeRolePolicy,
		"DeleteRole":             (*Server).deleteRole,

		"CreateInstanceProfile":         (*Server).createInstanceProfile,
		"GetInstanceProfile":            (*Server).getInstanceProfile,
		"ListInstanceProfiles":          (*Server).listInstanceProfiles,
		"ListInstanceProfilesForRole":   (*Server).listInstanceProfilesForRole,
		"AddRoleToInstanceProfile":      (*Server).addRoleToInstanceProfile,
		"RemoveRoleFromInstanceProfile": (*Server).removeRoleFromInstanceProfile,
		"DeleteInstanceProfile":         (*Server).deleteInstanceProfile,

		"CreatePolicy":            (*Server).createPolicy,
		"GetPolicy":               (*Server).getPolicy,
		"ListPolicies":            (*Server).listPolicies,
		"DeletePolicy":            (*Server).deletePolicy,
		"CreatePolicyVersion":     (*Server).createPolicyVersion,
		"GetPolicyVersion":        (*Server).getPolicyVersion,
		"ListPolicyVersions":      (*Server).listPolicyVersions,
		"SetDefaultPolicyVersion": (*Server).setDefaultPolicyVersion,
		"DeletePolicyVersion":     (*Server).deletePolicyVersion,
		"ListEntitiesForPolicy":   (*Server).listEntitiesForPolicy,

		"SimulatePrincipalPolicy":        (*Server).simulatePrincipalPolicy,
		"SimulateCustomPolicy":           (*Server).simulateCustomPolicy,
		"GetAccountAuthorizationDetails": (*Server).getAccountAuthorizationDetails,

		"CreateVirtualMFADevice": (*Server).createVirtualMFADevice,
		"EnableMFADevice":        (*Server).enableMFADevice,
		"ListMFADevices":         (*Server).listMFADevices,
		"ListVirtualMFADevices":  (*Server).listVirtualMFADevices,
		"DeactivateMFADevice":    (*Server).deactivateMFADevice,
		"DeleteVirtualMFADevice": (*Server).deleteVirtualMFADevice,

		"UpdateAccountPasswordPolicy": (*Server).updateAccountPasswordPolicy,
		"GetAccountPasswordPolicy":    (*Server).getAccountPasswordPolicy,
		"DeleteAccountPasswordPolicy": (*Server).deleteAccountPasswordPolicy,

		"GenerateCredentialReport": (*Server).generateCredentialReport,
		"GetCredentialReport":      (*Server).getCredentialReport,
	}
	// The same actions for users, groups and roles.
	for _, k := range []principal{userKind, groupKind, roleKind} {
		m["Put"+k.kind+"Policy"] = func(s *Server, rc *request) (any, *Error) { return s.putInlinePolicy(rc, k) }
		m["Get"+k.kind+"Policy"] = func(s *Server, rc *request) (any, *Error) { return s.getInlinePolicy(rc, k) }
		m["List"+k.kind+"Policies"] = func(s *Server, rc *request) (any, *Error) { return s.listInlinePolicies(rc, k) }
		m["Delete"+k.kind+"Policy"] = func(s *Server, rc *request) (any, *Error) { return s.deleteInlinePolicy(rc, k) }
		m["Attach"+k.kind+"Policy"] = func(s *Server, rc *request) (any, *Error) { return s.attachPolicy(rc, k) }
		m["Detach"+k.kind+"Policy"] = func(s *Server, rc *request) (any, *Error) { return s.detachPolicy(rc, k) }
		m["ListAttached"+k.kind+"Policies"] = func(s *Server, rc *request) (any, *Error) { return s.listAttachedPolicies(rc, k) }
	}
	return m
}
