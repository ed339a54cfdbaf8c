package main

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log"
	"log/slog"
	"maps"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/spf13/pflag"
	"golang.org/x/sync/errgroup"

	"github.com/imdsemu/imdsemu/config"
	"github.com/imdsemu/imdsemu/imds"
	"github.com/imdsemu/imdsemu/internal/keyfile"
	"github.com/imdsemu/imdsemu/policy"
	"github.com/imdsemu/imdsemu/refresher"
	"github.com/imdsemu/imdsemu/rolestore"
	"github.com/imdsemu/imdsemu/sts"
)

// Files in the data directory for the metadata server.
const (
	identityKeyFile  = "identity.key"   // RSA 2048, PKCS #8 PEM, 0600: signs the identity document
	identityCertFile = "identity.crt"   // its self-signed certificate: what verifiers trust
	ecsTokenFile     = "ecs-auth.token" // AWS_CONTAINER_AUTHORIZATION_TOKEN for the ECS listener, 0600
)

// identityProfile is the refresher key of the instance identity role
// credentials (identity-credentials/ec2/security-credentials/ec2-instance).
// It is not an instance profile ARN, so the profile issuer never sees it.
const identityProfile = "ec2-instance-identity"

// ecsTokenLen is the length of the generated ECS authorization token.
const ecsTokenLen = 40

// imdsFlags are serve's flags for the metadata protocol settings.
type imdsFlags struct {
	hopLimit               int
	ipv6Addr, ecsAddr      string
	extended, metadataTags bool
	throttleRPS            float64
	throttleBurst          int
}

func addIMDSFlags(fl *pflag.FlagSet, f *imdsFlags) {
	fl.IntVar(&f.hopLimit, "hop-limit", 1, "IP TTL (hop limit) of token PUT responses, 1-64, like EC2's HttpPutResponseHopLimit")
	fl.StringVar(&f.ipv6Addr, "ipv6-addr", "", `also serve metadata on this address, e.g. "[fd00:ec2::254]:80" (only inside a container or network namespace)`)
	fl.StringVar(&f.ecsAddr, "ecs-addr", "", `serve the ECS container credentials endpoint on this address, e.g. "127.0.0.1:1341"`)
	fl.BoolVar(&f.extended, "extended-credentials", true, "serve iam/security-credentials-extended/ (credentials plus AccountId); false answers 404 there")
	fl.BoolVar(&f.metadataTags, "instance-metadata-tags", false, "serve the instance tags under tags/instance/")
	fl.Float64Var(&f.throttleRPS, "throttle-rps", 0, "limit each client IP to this many metadata requests a second (429 beyond); 0 is off")
	fl.IntVar(&f.throttleBurst, "throttle-burst", 0, "requests a client may make at once under --throttle-rps (0: the rate rounded up)")
}

func applyIMDSFlags(fl *pflag.FlagSet, f *imdsFlags, s *config.Settings) {
	if fl.Changed("hop-limit") {
		s.HopLimit = f.hopLimit
	}
	if fl.Changed("ipv6-addr") {
		s.IPv6Addr = f.ipv6Addr
	}
	if fl.Changed("ecs-addr") {
		s.ECSAddr = f.ecsAddr
	}
	if fl.Changed("extended-credentials") {
		v := f.extended
		s.ExtendedCredentials = &v
	}
	if fl.Changed("instance-metadata-tags") {
		s.InstanceMetadataTags = f.metadataTags
	}
	if fl.Changed("throttle-rps") {
		s.Throttle.RPS = f.throttleRPS
	}
	if fl.Changed("throttle-burst") {
		s.Throttle.Burst = f.throttleBurst
	}
}

// imdsSetup is what serve prepares for the metadata server beyond its base
// options: the identity signing key, user data, the ECS token, instance
// identity credentials and the trust check.
type imdsSetup struct {
	s            config.Settings
	log          *slog.Logger
	identityKey  *rsa.PrivateKey
	identityCert *x509.Certificate
	userData     []byte
	ecsToken     string
	trust        *trustGate
}

func newIMDSSetup(s config.Settings, log *slog.Logger) (*imdsSetup, error) {
	x := &imdsSetup{s: s, log: log, trust: newTrustGate(time.Now)}
	var err error
	x.identityKey, x.identityCert, err = loadOrCreateIdentity(s.DataDir, s.Instance.Account, time.Now())
	if err != nil {
		return nil, err
	}
	switch {
	case s.Instance.UserDataFile != "":
		x.userData, err = os.ReadFile(s.Instance.UserDataFile)
		if err != nil {
			return nil, fmt.Errorf("instance.user-data-file: %w", err)
		}
		if len(x.userData) > config.MaxUserData {
			return nil, fmt.Errorf("instance.user-data-file: %s is %d bytes; EC2 allows at most %d", s.Instance.UserDataFile, len(x.userData), config.MaxUserData)
		}
	case s.Instance.UserData != "":
		x.userData = []byte(s.Instance.UserData)
	}
	if s.ECSAddr != "" {
		tok, err := keyfile.LoadOrCreate(filepath.Join(s.DataDir, ecsTokenFile), ecsTokenLen, alnumReader{rand.Reader})
		if err != nil {
			return nil, err
		}
		x.ecsToken = string(tok)
	}
	return x, nil
}

// options completes the metadata server's options.
func (x *imdsSetup) options(o imds.Options, sched *refresher.Scheduler) imds.Options {
	s := x.s
	in := &o.Instance
	in.AMIID, in.Hostname, in.LocalIPv4, in.PublicIPv4 = s.Instance.AMIID, s.Instance.Hostname, s.Instance.LocalIPv4, s.Instance.PublicIPv4
	in.MAC, in.AvailabilityZoneID, in.Tags, in.UserData = s.Instance.MAC, s.Instance.AvailabilityZoneID, s.Instance.Tags, x.userData
	o.HopLimit = s.HopLimit
	o.ExtendedCredentials = s.ExtendedCredentials == nil || *s.ExtendedCredentials
	o.InstanceMetadataTags = s.InstanceMetadataTags
	o.Throttle = imds.Throttle{RPS: s.Throttle.RPS, Burst: s.Throttle.Burst}
	o.IdentityKey, o.IdentityCertificate = x.identityKey, x.identityCert
	o.IdentityCredentials = func() (imds.Credentials, bool) {
		g := sched.Current(identityProfile)
		if g == nil {
			return imds.Credentials{}, false
		}
		return credentialsOf(g), true
	}
	return o
}

func credentialsOf(g *refresher.Generation) imds.Credentials {
	return imds.Credentials{
		AccessKeyID:     g.Credentials.AccessKeyID,
		SecretAccessKey: g.Credentials.SecretAccessKey,
		Token:           g.Credentials.SessionToken,
		LastUpdated:     g.Credentials.Issued,
		Expiration:      g.Credentials.Expires,
	}
}

// issuer wraps the instance-profile issuer so that the refresher can also
// keep the instance identity role credentials current under identityProfile.
func (x *imdsSetup) issuer(profiles refresher.Issuer, iss *sts.Issuer) refresher.Issuer {
	account, id := x.s.Instance.Account, x.s.Instance.ID
	return refresher.IssuerFunc(func(ctx context.Context, profile string, lifetime time.Duration) (refresher.Credentials, error) {
		if profile != identityProfile {
			return profiles.Issue(ctx, profile, lifetime)
		}
		// EC2 User Guide, "Instance identity roles": a session of the
		// service role aws:ec2-instance named after the instance, with no
		// permissions.
		c, err := iss.Issue(ctx, sts.Request{
			Action:       sts.ActionInstanceProfile,
			AccountID:    account,
			PrincipalARN: "arn:aws:sts::" + account + ":assumed-role/aws:ec2-instance/" + id,
			SessionName:  id,
			Duration:     lifetime,
		})
		if err != nil {
			return refresher.Credentials{}, err
		}
		return refresher.Credentials{
			AccessKeyID: c.AccessKeyID, SecretAccessKey: c.SecretAccessKey, SessionToken: c.SessionToken,
			Issued: c.Session.IssuedAt, Expires: c.Expires,
		}, nil
	})
}

// addToScheduler has the refresher keep the instance identity credentials.
func (x *imdsSetup) addToScheduler(sched *refresher.Scheduler) { sched.Add(identityProfile) }

// imdsListeners are the optional IPv6 metadata and ECS listeners.
type imdsListeners struct {
	srvs  []*http.Server
	lns   []net.Listener
	lines []string
}

// listen opens the optional listeners. The IPv6 one serves h (the metadata
// handler, with whatever wraps it) with the hop limit; the ECS one serves
// only container credentials.
func (x *imdsSetup) listen(metadata *imds.Server, h http.Handler, errorLog *log.Logger) (*imdsListeners, error) {
	l := &imdsListeners{}
	add := func(addr, what string, h http.Handler, connCtx func(context.Context, net.Conn) context.Context) error {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			return fmt.Errorf("%s listener: %w", what, err)
		}
		l.lns = append(l.lns, ln)
		l.srvs = append(l.srvs, &http.Server{Handler: h, ConnContext: connCtx, ReadHeaderTimeout: 5 * time.Second, ErrorLog: errorLog})
		return nil
	}
	if a := x.s.IPv6Addr; a != "" {
		if err := add(a, "IPv6 metadata", h, metadata.ConnContext); err != nil {
			return nil, err
		}
		l.lines = append(l.lines, fmt.Sprintf("imdsemu: metadata service also on http://%s", l.lns[len(l.lns)-1].Addr()))
	}
	if a := x.s.ECSAddr; a != "" {
		h, err := metadata.ECSHandler(x.ecsToken)
		if err != nil {
			l.close()
			return nil, err
		}
		if err := add(a, "ECS", h, nil); err != nil {
			l.close()
			return nil, err
		}
		url := "http://" + l.lns[len(l.lns)-1].Addr().String() + "/v2/credentials/imdsemu"
		l.lines = append(l.lines,
			fmt.Sprintf("imdsemu: ECS container credentials on %s (token in %s)", url, filepath.Join(x.s.DataDir, ecsTokenFile)),
			"export AWS_CONTAINER_CREDENTIALS_FULL_URI="+url,
			"export AWS_CONTAINER_AUTHORIZATION_TOKEN="+x.ecsToken)
	}
	return l, nil
}

func (l *imdsListeners) close() {
	for _, ln := range l.lns {
		ln.Close()
	}
}

// run serves every listener in g.
func (l *imdsListeners) run(g *errgroup.Group) {
	for i := range l.srvs {
		srv, ln := l.srvs[i], l.lns[i]
		g.Go(func() error { return serveUntilClosed(srv, ln) })
	}
}

func (l *imdsListeners) shutdown(ctx context.Context) error {
	var errs []error
	for _, srv := range l.srvs {
		errs = append(errs, srv.Shutdown(ctx))
	}
	return errors.Join(errs...)
}

// print writes the listeners' lines and where the identity certificate is.
func (x *imdsSetup) print(w io.Writer, l *imdsListeners) {
	fmt.Fprintf(w, "imdsemu: identity document signed by %s (trust this certificate to verify pkcs7, rsa2048, signature)\n", filepath.Join(x.s.DataDir, identityCertFile))
	for _, line := range l.lines {
		fmt.Fprintln(w, line)
	}
}

// loadOrCreateIdentity returns the RSA 2048 key that signs the identity
// document and its self-signed certificate, creating both in dir the first
// time (the key mode 0600, linked into place so a crash leaves no half key).
func loadOrCreateIdentity(dir, account string, now time.Time) (*rsa.PrivateKey, *x509.Certificate, error) {
	keyPath, certPath := filepath.Join(dir, identityKeyFile), filepath.Join(dir, identityCertFile)
	key, err := loadIdentityKey(keyPath)
	if errors.Is(err, fs.ErrNotExist) {
		var k *rsa.PrivateKey
		if k, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			return nil, nil, fmt.Errorf("identity key: %w", err)
		}
		der, merr := x509.MarshalPKCS8PrivateKey(k)
		if merr != nil {
			return nil, nil, fmt.Errorf("identity key: %w", merr)
		}
		if werr := writeNew(keyPath, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); werr != nil && !errors.Is(werr, fs.ErrExist) {
			return nil, nil, werr
		}
		key, err = loadIdentityKey(keyPath) // another process may have won the race
		if err != nil {
			return nil, nil, err
		}
	} else if err != nil {
		return nil, nil, err
	}
	cert, err := loadCert(certPath)
	if err == nil && !key.PublicKey.Equal(cert.PublicKey) {
		return nil, nil, fmt.Errorf("%s is not the certificate of %s: remove it to have a new one made", certPath, keyPath)
	}
	if errors.Is(err, fs.ErrNotExist) {
		tmpl := &x509.Certificate{
			SerialNumber: new(big.Int).SetInt64(now.UnixNano()),
			Subject:      pkix.Name{Organization: []string{"imdsemu"}, CommonName: "imdsemu instance identity " + account},
			NotBefore:    now.Add(-time.Hour),
			NotAfter:     now.AddDate(20, 0, 0),
			KeyUsage:     x509.KeyUsageDigitalSignature,
		}
		der, cerr := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
		if cerr != nil {
			return nil, nil, fmt.Errorf("identity certificate: %w", cerr)
		}
		if werr := writeNew(certPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); werr != nil && !errors.Is(werr, fs.ErrExist) {
			return nil, nil, werr
		}
		cert, err = loadCert(certPath)
	}
	if err != nil {
		return nil, nil, err
	}
	return key, cert, nil
}

func loadIdentityKey(path string) (*rsa.PrivateKey, error) {
	info, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if info.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("%s has mode %v; it must not be readable by group or others (chmod 600 it)", path, info.Mode().Perm())
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	block, _ := pem.Decode(data)
	if block == nil || block.Type != "PRIVATE KEY" {
		return nil, fmt.Errorf("%s is not a PEM \"PRIVATE KEY\"; remove it to have a new one made", path)
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	rk, ok := k.(*rsa.PrivateKey)
	if !ok || rk.N.BitLen() < 2048 {
		return nil, fmt.Errorf("%s must hold an RSA key of 2048 bits or more", path)
	}
	return rk, nil
}

func loadCert(path string) (*x509.Certificate, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	block, _ := pem.Decode(data)
	if block == nil || block.Type != "CERTIFICATE" {
		return nil, fmt.Errorf("%s is not a PEM certificate; remove it to have a new one made", path)
	}
	c, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return c, nil
}

// writeNew creates path with data and mode, failing with fs.ErrExist if it
// exists. It writes a temporary file and links it into place.
func writeNew(path string, data []byte, mode os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Link(tmp.Name(), path)
}

// alnumReader turns random bytes into letters and digits, for a token that
// fits in an environment variable. It rejects bytes past the largest
// multiple of 62, so every character is equally likely.
type alnumReader struct{ r io.Reader }

func (a alnumReader) Read(p []byte) (int, error) {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	var one [1]byte
	for i := range p {
		for {
			if _, err := io.ReadFull(a.r, one[:]); err != nil {
				return i, err
			}
			if one[0] < 248 { // 4 × 62
				p[i] = alphabet[int(one[0])%62]
				break
			}
		}
	}
	return len(p), nil
}

// trustGate checks, before each mint, that a role's trust policy lets EC2
// (ec2.amazonaws.com) call sts:AssumeRole, and remembers the profiles for
// which it does not, so that the metadata server can serve EC2's error
// document in place of credentials. Reads are lock-free.
type trustGate struct {
	now     func() time.Time
	mu      sync.Mutex // serialises writers
	denials atomic.Pointer[map[string]denial]
}

type denial struct {
	code, message string
	since         time.Time
}

// Documentation link of EC2's AssumeRoleUnauthorizedAccess message.
const rolesTroubleshootingURL = "http://docs.amazonwebservices.com/IAM/latest/UserGuide/RolesTroubleshooting.html"

func newTrustGate(now func() time.Time) *trustGate {
	g := &trustGate{now: now}
	g.denials.Store(&map[string]denial{})
	return g
}

// trustError is returned by check when EC2 may not assume the role.
type trustError struct {
	profileARN, roleARN, why string
}

func (e *trustError) Error() string {
	return fmt.Sprintf("EC2 cannot assume role %s of instance profile %s: %s", e.roleARN, e.profileARN, e.why)
}

// check evaluates role's trust policy for ec2.amazonaws.com and records
// the outcome for profileARN. A nil gate allows everything.
func (g *trustGate) check(profileARN string, role rolestore.Role) error {
	if g == nil {
		return nil
	}
	why := ""
	doc, err := policy.Parse([]byte(role.TrustPolicy), policy.KindTrust)
	if err != nil {
		why = "its trust policy is not valid: " + err.Error()
	} else {
		d := policy.Evaluate(policy.Request{
			Principal: policy.Principal{Type: policy.PrincipalService, ARN: "ec2.amazonaws.com"},
			Action:    "sts:AssumeRole",
			Resource:  role.ARN(),
		}, policy.Set{Trust: []*policy.Document{doc}})
		if !d.Allowed {
			why = d.Explanation
		}
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	old := *g.denials.Load()
	if _, was := old[profileARN]; was == (why != "") {
		// Unchanged; a standing denial keeps the time it began.
	} else {
		m := maps.Clone(old)
		if why == "" {
			delete(m, profileARN)
		} else {
			m[profileARN] = denial{
				code: "AssumeRoleUnauthorizedAccess",
				// EC2's wording, as seen on instances whose role does not trust EC2.
				message: "EC2 cannot assume the role " + role.Name + ". Please see documentation at " + rolesTroubleshootingURL + ".",
				since:   g.now().UTC().Truncate(time.Second),
			}
		}
		g.denials.Store(&m)
	}
	if why != "" {
		return &trustError{profileARN: profileARN, roleARN: role.ARN(), why: why}
	}
	return nil
}

// denied reports whether the last mint for profileARN was refused by the
// role's trust policy.
func (g *trustGate) denied(profileARN string) bool {
	if g == nil {
		return false
	}
	_, ok := (*g.denials.Load())[profileARN]
	return ok
}

// attachment returns att with EC2's error document as its credentials when
// the role's trust policy refuses EC2.
func (g *trustGate) attachment(att imds.Attachment) (imds.Attachment, bool) {
	if g == nil || att.Role == "" {
		return imds.Attachment{}, false
	}
	d, ok := (*g.denials.Load())[att.ProfileARN]
	if !ok {
		return imds.Attachment{}, false
	}
	att.Credentials = imds.Credentials{Code: d.code, Message: d.message, LastUpdated: d.since}
	return att, true
}
