package cli

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/imdsemu/imdsemu/awsmanaged"
	"github.com/imdsemu/imdsemu/policy"
	"github.com/imdsemu/imdsemu/rolestore"
)

// storedPolicies adds to set the policies of --policy-arn, --user and
// --role, and defaults the principal to the user or role.
func storedPolicies(cmd *cobra.Command, opts *policySimulateOptions, set *policy.Set) error {
	if opts.user != "" && opts.role != "" {
		return badInput(errors.New("give --user or --role, not both"))
	}
	needStore := opts.user != "" || opts.role != ""
	for _, arn := range opts.policyARNs {
		if !awsmanaged.IsAWSManaged(arn) {
			needStore = true
		}
	}
	var store *rolestore.SQLite
	if needStore {
		var err error
		if store, err = openStore(cmd.Context(), opts.store, opts.getenv); err != nil {
			return badInput(err)
		}
		defer store.Close()
	}
	for _, arn := range opts.policyARNs {
		doc, err := managedDocument(cmd, store, arn)
		if err != nil {
			return badInput(fmt.Errorf("--policy-arn %s: %w", arn, err))
		}
		if err := addParsed(&set.Identity, policy.KindManaged, arn, doc); err != nil {
			return err
		}
	}
	var perm rolestore.Permissions
	switch {
	case opts.user != "":
		u, p, err := store.UserPermissions(cmd.Context(), opts.store.account, opts.user)
		if err != nil {
			return badInput(fmt.Errorf("--user %s: %w", opts.user, err))
		}
		perm = p
		if opts.principal == "" {
			opts.principal = u.ARN()
		}
	case opts.role != "":
		r, err := store.Role(cmd.Context(), opts.store.account, opts.role)
		if err != nil {
			return badInput(fmt.Errorf("--role %s: %w", opts.role, err))
		}
		if _, perm, err = store.RolePermissions(cmd.Context(), r.ARN()); err != nil {
			return badInput(fmt.Errorf("--role %s: %w", opts.role, err))
		}
		if opts.principal == "" {
			opts.principal = "arn:aws:sts::" + r.AccountID + ":assumed-role/" + r.Name + "/simulate"
			opts.equivalent = append(opts.equivalent, r.ARN())
		}
	default:
		return nil
	}
	for _, pd := range perm.Policies {
		if err := addParsed(&set.Identity, policy.KindManaged, pd.Name, pd.Document); err != nil {
			return err
		}
	}
	if b := perm.Boundary; b != nil {
		return addParsed(&set.Boundary, policy.KindBoundary, b.Name, b.Document)
	}
	return nil
}

// managedDocument is the default version of a managed policy: from the
// catalogue, or from the store for a customer managed policy.
func managedDocument(cmd *cobra.Command, store *rolestore.SQLite, arn string) (string, error) {
	if store == nil {
		a, ok := awsmanaged.Lookup(arn)
		if !ok {
			return "", errors.New("no such AWS managed policy in imdsemu's catalogue")
		}
		return a.Document, nil
	}
	return store.PolicyDocument(cmd.Context(), arn)
}

func addParsed(dst *[]*policy.Document, kind policy.Kind, name, doc string) error {
	d, err := policy.ParseOptions([]byte(doc), policy.Options{Kind: kind, Name: name, MaxSize: -1})
	if err != nil {
		return badInput(fmt.Errorf("%s: invalid %s: %s", name, kind, errorDetail(err)))
	}
	*dst = append(*dst, d)
	return nil
}
