package main

import (
	"log/slog"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/imdsemu/imdsemu/config"
	"github.com/imdsemu/imdsemu/federation"
	"github.com/imdsemu/imdsemu/iamapi"
	"github.com/imdsemu/imdsemu/rolestore"
	"github.com/imdsemu/imdsemu/sts"
)

// newSTS builds the STS Query API on the store and the issuer, with the
// built-in OIDC IdP (its issuer: url, the STS listener's) beside it and the
// stand-ins for the well-known web identity providers, and the IAM Query
// API on the same verifier and authorizer. It returns what the STS
// listener serves (both APIs, told apart by the credential scope) and the
// IAM API alone, for --iam-addr.
func newSTS(s config.Settings, url string, store *rolestore.SQLite, issuer *sts.Issuer, keyUse *sts.KeyUsage, profiles iamapi.ProfileWatcher, log *slog.Logger, reg prometheus.Registerer) (both, iam http.Handler, err error) {
	idp, err := federation.OpenIdP(s.DataDir, url, time.Now)
	if err != nil {
		return nil, nil, err
	}
	web, err := federation.OpenWebIdPs(s.DataDir, time.Now)
	if err != nil {
		return nil, nil, err
	}
	st, err := sts.NewServer(sts.Options{
		Issuer:     issuer,
		Directory:  store,
		IdP:        idp.Handler(),
		WellKnown:  web,
		KeyUse:     keyUse,
		Logger:     log.With("component", "sts"),
		Registerer: reg,
	})
	if err != nil {
		return nil, nil, err
	}
	iam, err = iamapi.NewServer(iamapi.Options{
		Auth: st, Store: store, Profiles: profiles, KeyUse: keyUse,
		Logger: log.With("component", "iam"), Registerer: reg,
	})
	if err != nil {
		return nil, nil, err
	}
	return iamapi.Dispatch(iam, st), iam, nil
}
