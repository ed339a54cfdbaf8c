package main

import (
	"log/slog"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/imdsemu/imdsemu/config"
	"github.com/imdsemu/imdsemu/federation"
	"github.com/imdsemu/imdsemu/sts"
)

// newSTS builds the STS Query API on the store's directory and the issuer,
// with the built-in OIDC IdP (its issuer: url, the STS listener's) beside it
// and the stand-ins for the well-known web identity providers.
func newSTS(s config.Settings, url string, dir sts.Directory, issuer *sts.Issuer, keyUse sts.KeyUseRecorder, log *slog.Logger, reg prometheus.Registerer) (http.Handler, error) {
	idp, err := federation.OpenIdP(s.DataDir, url, time.Now)
	if err != nil {
		return nil, err
	}
	web, err := federation.OpenWebIdPs(s.DataDir, time.Now)
	if err != nil {
		return nil, err
	}
	return sts.NewServer(sts.Options{
		Issuer:     issuer,
		Directory:  dir,
		IdP:        idp.Handler(),
		WellKnown:  web,
		KeyUse:     keyUse,
		Logger:     log.With("component", "sts"),
		Registerer: reg,
	})
}
