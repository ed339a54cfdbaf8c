// Package instance is one emulated EC2 instance: its metadata, the instance
// profile attached to it, the decision whether EC2 may assume that
// profile's role, the instance identity role, and the key that signs its
// identity document.
//
// An [Instance] connects the packages beside it through the small
// interfaces they declare:
//
//   - it is a refresher.Issuer for instance profiles: [Instance.Issue] looks
//     up the profile's role in the store, checks that the role's trust
//     policy lets ec2.amazonaws.com call sts:AssumeRole, and asks STS for a
//     session named after the instance, as EC2 does
//     (arn:aws:sts::ACCOUNT:assumed-role/ROLE/i-…);
//   - it keeps the instance identity role credentials as a refresher entry
//     of their own, keyed by their session ARN
//     (arn:aws:sts::ACCOUNT:assumed-role/aws:ec2-instance/i-…, see
//     [Instance.IdentityRoleKey]), minted on first use
//     ([Instance.IdentityCredentials]) since most instances of a large
//     fleet are never asked for them;
//   - it is an imds.CredentialSource ([Instance.Current]): the attached
//     profile's current credentials, or EC2's error document
//     (AssumeRoleUnauthorizedAccess) while the role does not trust EC2;
//   - it is the admin API's Attacher (attach, detach) and Profiles (list,
//     rotate, freeze).
//
// # Many instances
//
// Nothing in the package is global: every instance holds its own
// attachment, trust decisions and identity role entry, so one process can
// run several, each with its own role. The signing key is passed in, since
// on EC2 every instance of a region shares the key AWS signs with;
// [LoadOrCreateSigningKey] makes one in a data directory. One limit for
// now: the scheduler keys instance profile credentials by the profile's
// ARN, so two instances with the same profile would share one session
// (named after the instance that keeps it).
//
// A [Router] sends each metadata request to the instance that serves its
// client, by source address (the longest prefix wins), else to a default
// instance, else answers 404; instances can be added and removed while it
// serves. [ECSByRole] routes the ECS container credentials endpoint by
// path, /role/NAME to the instance holding role NAME.
//
// # Concurrency
//
// [Instance.Current] and [Instance.RoleARN] are lock-free or take a short
// lock and never do I/O: they run on the metadata server's request path
// and on the scheduler's goroutine. [Instance.IdentityCredentials] is
// too, but for its first call, which mints (in-process, bounded by the
// request's context). Attach and Detach are serialised and write the store. The
// package starts no goroutines.
//
// Sources: EC2 User Guide, "IAM roles for Amazon EC2" (sessions named after
// the instance; the AssumeRoleUnauthorizedAccess document), "Instance
// identity roles" (aws:ec2-instance), and "Instance identity documents".
package instance
