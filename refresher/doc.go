// Package refresher keeps the current credentials of every instance profile
// and instance identity role.
//
// Each entry of a [Scheduler] has a key (an instance profile's ARN, an
// instance identity role session's ARN) and its own [Issuer]. The Scheduler
// asks the Issuer for a first generation of credentials as soon as the entry
// is added ([Scheduler.Add]), or, for an entry kept on first use, when
// [Scheduler.Ensure] first asks for it (minting in Ensure's caller, so the
// first request gets fresh credentials), then for the next generation
// before the current one gets old: by default a new generation every hour for sessions that live six
// hours, as EC2 does. A generation that has been superseded stays valid until
// its own expiry; the Scheduler only forgets it then. EC2 promises new
// credentials at least five minutes before the old ones expire, and the
// Scheduler keeps that promise whatever interval is configured (for very short
// demo lifetimes, a quarter of the lifetime stands in for five minutes).
//
// Entries are scheduled by their next due time in a heap: the Scheduler sleeps
// until the earliest one and never polls. A failed mint is retried with capped
// exponential backoff and never replaces good credentials with nothing.
//
// [Scheduler.Freeze] stops an entry's rotation, so that its current
// generation is served until (and after) it expires, and [Scheduler.RotateNow]
// mints the next generation at once; both are for tests and demos.
//
// [Scheduler.Current] is one atomic load and is safe to call from any number of
// goroutines on a request path. [Scheduler.Run] is the Scheduler's only
// goroutine (Ensure's first mint runs in its caller's); the caller owns it and stops it by cancelling its context.
package refresher
