package cli

import (
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/imdsemu/imdsemu/config"
	"github.com/imdsemu/imdsemu/federation"
)

func newIdPCmd(e Env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "idp",
		Short: "Mint tokens and SAML assertions from imdsemu's built-in identity providers",
		Long: `The built-in identity providers let AssumeRoleWithWebIdentity and
AssumeRoleWithSAML be tried without a real IdP. Their keys live in the data
directory (idp-oidc.key, idp-saml.key and idp-saml.crt, created on first use),
the same one "imdsemu serve" uses, so tokens minted here verify against the
built-in providers it registers.`,
		Args: cobra.NoArgs,
	}
	cmd.AddCommand(newIdPTokenCmd(e), newIdPAccessTokenCmd(e), newIdPJWKSCmd(e), newIdPSAMLMetadataCmd(e), newIdPSAMLAssertionCmd(e))
	return cmd
}

type idpTokenFlags struct {
	dataDir, issuer, sub, provider string
	aud, claims                    []string
	ttl                            time.Duration
}

func newIdPTokenCmd(e Env) *cobra.Command {
	var f idpTokenFlags
	cmd := &cobra.Command{
		Use:   "token --sub SUBJECT --aud AUDIENCE",
		Short: "Print an OIDC ID token signed by the built-in provider",
		Long: `Print an RS256 OIDC ID token for AssumeRoleWithWebIdentity, signed with the
data directory's idp-oidc.key. Its iss is --issuer, whose discovery document
and JWKS "imdsemu serve" publishes on the STS listener.

--claim adds a claim; a value that is valid JSON (a number, true, a list,
an object) is used as such, anything else as a string:
  --claim email=dev@example.com --claim 'amr=["pwd","mfa"]'
  --claim 'https://aws.amazon.com/tags={"principal_tags":{"team":["blue"]}}'
A negative --ttl mints a token that has already expired.

--provider google (or accounts.google.com) or cognito
(cognito-identity.amazonaws.com) mints the token as that well-known
provider instead, signed with idp-web.key, with iss https://accounts.google.com
or https://cognito-identity.amazonaws.com; roles trust it as
{"Federated": "accounts.google.com"} with no OIDC provider registered.
A Cognito token's amr is ["authenticated"] unless --claim sets it.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			extra, err := federation.ParseClaims(f.claims)
			if err != nil {
				return fmt.Errorf("--%w", err)
			}
			dir, err := config.MakeDataDir(f.dataDir, e.Getenv)
			if err != nil {
				return err
			}
			var tok string
			if f.provider != "" {
				tok, err = wellKnownIDToken(dir, f, extra)
			} else {
				tok, err = builtinIDToken(dir, f, extra)
			}
			if err != nil {
				return err
			}
			_, err = fmt.Fprintln(cmd.OutOrStdout(), tok)
			return err
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.sub, "sub", "", "subject (sub claim)")
	fl.StringSliceVar(&f.aud, "aud", nil, "audience (aud claim); repeat or comma-separate for several")
	fl.DurationVar(&f.ttl, "ttl", federation.DefaultTokenTTL, "lifetime of the token")
	fl.StringArrayVar(&f.claims, "claim", nil, "extra claim as NAME=VALUE (repeatable)")
	fl.StringVar(&f.issuer, "issuer", federation.DefaultIssuer, "issuer (iss claim): the URL of imdsemu's STS listener")
	fl.StringVar(&f.provider, "provider", "", "mint as a well-known provider: google or cognito (then --issuer is not used)")
	fl.StringVar(&f.dataDir, "data-dir", "", "data directory holding the key (default "+config.EnvDataDir+", $XDG_DATA_HOME/imdsemu or ~/.local/share/imdsemu)")
	cmd.MarkFlagRequired("sub")
	cmd.MarkFlagRequired("aud")
	return cmd
}

func builtinIDToken(dir string, f idpTokenFlags, extra map[string]any) (string, error) {
	idp, err := federation.OpenIdP(dir, f.issuer, time.Now)
	if err != nil {
		return "", err
	}
	return idp.Token(f.sub, f.aud, f.ttl, extra)
}

func wellKnownIDToken(dir string, f idpTokenFlags, extra map[string]any) (string, error) {
	name, ok := federation.LookupWellKnown(f.provider)
	if !ok || federation.IsOAuthProvider(name) {
		return "", fmt.Errorf("--provider %q: want google or cognito (facebook and amazon issue access tokens: imdsemu idp access-token)", f.provider)
	}
	web, err := federation.OpenWebIdPs(dir, time.Now)
	if err != nil {
		return "", err
	}
	return web.IDToken(name, f.sub, f.aud, f.ttl, extra)
}

type idpAccessTokenFlags struct {
	dataDir, provider, appID, userID string
	ttl                              time.Duration
}

func newIdPAccessTokenCmd(e Env) *cobra.Command {
	var f idpAccessTokenFlags
	cmd := &cobra.Command{
		Use:   "access-token --provider facebook|amazon --app-id APP --user-id USER",
		Short: "Print an OAuth 2.0 access token as Facebook or Login with Amazon",
		Long: `Print an opaque OAuth 2.0 access token as graph.facebook.com or www.amazon.com
would issue it to the app --app-id for the user --user-id. Present it to
AssumeRoleWithWebIdentity with ProviderId graph.facebook.com or www.amazon.com.

Nothing is sent to Facebook or Amazon: the token is sealed with the data
directory's idp-oauth.key, and "imdsemu serve" with the same data directory
opens it. A negative --ttl mints a token that has already expired.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			name, ok := federation.LookupWellKnown(f.provider)
			if !ok || !federation.IsOAuthProvider(name) {
				return fmt.Errorf("--provider %q: want facebook or amazon (google and cognito issue ID tokens: imdsemu idp token --provider)", f.provider)
			}
			dir, err := config.MakeDataDir(f.dataDir, e.Getenv)
			if err != nil {
				return err
			}
			web, err := federation.OpenWebIdPs(dir, time.Now)
			if err != nil {
				return err
			}
			tok, err := web.AccessToken(name, f.appID, f.userID, f.ttl)
			if err != nil {
				return err
			}
			_, err = fmt.Fprintln(cmd.OutOrStdout(), tok)
			return err
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.provider, "provider", "", "facebook (graph.facebook.com) or amazon (www.amazon.com)")
	fl.StringVar(&f.appID, "app-id", "", "the app the token is issued to (PROVIDER:app_id)")
	fl.StringVar(&f.userID, "user-id", "", "the user (graph.facebook.com:id, www.amazon.com:user_id)")
	fl.DurationVar(&f.ttl, "ttl", federation.DefaultTokenTTL, "lifetime of the token")
	fl.StringVar(&f.dataDir, "data-dir", "", "data directory holding the key (default as for serve)")
	cmd.MarkFlagRequired("provider")
	cmd.MarkFlagRequired("app-id")
	cmd.MarkFlagRequired("user-id")
	return cmd
}

func newIdPJWKSCmd(e Env) *cobra.Command {
	var dataDir string
	cmd := &cobra.Command{
		Use:   "jwks",
		Short: "Print the built-in OIDC provider's JWK Set",
		Long: `Print the public JWK Set of the built-in OIDC provider (the data directory's
idp-oidc.key), for registering the provider with an inline key set
(jwks-file: in oidc-providers:) instead of fetching it from the issuer.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			dir, err := config.MakeDataDir(dataDir, e.Getenv)
			if err != nil {
				return err
			}
			idp, err := federation.OpenIdP(dir, "", time.Now)
			if err != nil {
				return err
			}
			_, err = fmt.Fprintf(cmd.OutOrStdout(), "%s\n", idp.JWKS())
			return err
		},
	}
	cmd.Flags().StringVar(&dataDir, "data-dir", "", "data directory holding the key (default as for serve)")
	return cmd
}

func newIdPSAMLMetadataCmd(e Env) *cobra.Command {
	var dataDir, entityID string
	cmd := &cobra.Command{
		Use:   "saml-metadata",
		Short: "Print the built-in SAML IdP's metadata",
		Long: `Print the SAML 2.0 metadata (md:EntityDescriptor) of the built-in SAML IdP, with
its signing certificate from the data directory. Register it as a SAML provider
(saml-providers: in the config file, metadata-file: pointing at this output).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			dir, err := config.MakeDataDir(dataDir, e.Getenv)
			if err != nil {
				return err
			}
			idp, err := federation.OpenSAMLIdP(dir, entityID, time.Now)
			if err != nil {
				return err
			}
			md := idp.Metadata()
			if len(md) > 0 && md[len(md)-1] != '\n' {
				md = append(md, '\n')
			}
			_, err = cmd.OutOrStdout().Write(md)
			return err
		},
	}
	cmd.Flags().StringVar(&entityID, "entity-id", federation.DefaultSAMLEntityID, "entity ID of the IdP")
	cmd.Flags().StringVar(&dataDir, "data-dir", "", "data directory holding the key and certificate (default as for serve)")
	return cmd
}

type idpAssertionFlags struct {
	dataDir, entityID, sessionName, subject, sourceIdentity string
	roles, tags, transitive                                 []string
	duration, ttl                                           time.Duration
}

func newIdPSAMLAssertionCmd(e Env) *cobra.Command {
	var f idpAssertionFlags
	cmd := &cobra.Command{
		Use:   "saml-assertion --role ROLE_ARN,PROVIDER_ARN --session-name NAME",
		Short: "Print a signed, base64-encoded SAMLResponse from the built-in SAML IdP",
		Long: `Print a SAMLResponse for AssumeRoleWithSAML: base64, with the Response and the
Assertion signed by the built-in IdP, audience and recipient
https://signin.aws.amazon.com/saml, and the AWS attributes from the flags.
Pass it as --saml-assertion to "aws sts assume-role-with-saml".`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			req := federation.AssertionRequest{
				SessionName:       f.sessionName,
				Subject:           f.subject,
				SessionDuration:   f.duration,
				SourceIdentity:    f.sourceIdentity,
				TransitiveTagKeys: f.transitive,
				TTL:               f.ttl,
			}
			for _, r := range f.roles {
				role, provider, ok := strings.Cut(r, ",")
				if !ok || role == "" || provider == "" {
					return fmt.Errorf("--role %q: want ROLE_ARN,PROVIDER_ARN", r)
				}
				req.Roles = append(req.Roles, federation.SAMLRole{RoleARN: role, PrincipalARN: provider})
			}
			for _, t := range f.tags {
				k, v, ok := strings.Cut(t, "=")
				if !ok || k == "" {
					return fmt.Errorf("--tag %q: want KEY=VALUE", t)
				}
				if req.Tags == nil {
					req.Tags = map[string]string{}
				}
				req.Tags[k] = v
			}
			dir, err := config.MakeDataDir(f.dataDir, e.Getenv)
			if err != nil {
				return err
			}
			idp, err := federation.OpenSAMLIdP(dir, f.entityID, time.Now)
			if err != nil {
				return err
			}
			out, err := idp.Assertion(req)
			if err != nil {
				return err
			}
			_, err = fmt.Fprintln(cmd.OutOrStdout(), out)
			return err
		},
	}
	fl := cmd.Flags()
	fl.StringArrayVar(&f.roles, "role", nil, "ROLE_ARN,PROVIDER_ARN pair for the Role attribute (repeatable)")
	fl.StringVar(&f.sessionName, "session-name", "", "RoleSessionName attribute")
	fl.DurationVar(&f.duration, "duration", 0, "SessionDuration attribute, 15m to 12h (omitted when 0)")
	fl.StringArrayVar(&f.tags, "tag", nil, "session tag as KEY=VALUE (PrincipalTag:KEY attribute; repeatable)")
	fl.StringArrayVar(&f.transitive, "transitive-tag-key", nil, "TransitiveTagKeys value (repeatable)")
	fl.StringVar(&f.sourceIdentity, "source-identity", "", "SourceIdentity attribute")
	fl.StringVar(&f.subject, "subject", "", "NameID (default: the session name)")
	fl.DurationVar(&f.ttl, "ttl", federation.DefaultAssertionTTL, "how long the assertion may be presented (negative: already expired)")
	fl.StringVar(&f.entityID, "entity-id", federation.DefaultSAMLEntityID, "entity ID of the IdP (Issuer)")
	fl.StringVar(&f.dataDir, "data-dir", "", "data directory holding the key and certificate (default as for serve)")
	cmd.MarkFlagRequired("role")
	cmd.MarkFlagRequired("session-name")
	return cmd
}
