package federation

import (
	"context"
	"net/http/httptest"
	"testing"
	"time"
)

func BenchmarkOIDCVerifier_Verify(b *testing.B) {
	clock := newClock()
	idp := newTestIdP(b, "http://127.0.0.1:1339", rsaKey(b, 0), clock)
	tok := mustToken(b, idp, "user", []string{"sts.amazonaws.com"}, time.Hour, map[string]any{"email": "u@example.com"})
	b.Run("inline JWKS", func(b *testing.B) {
		v := NewOIDCVerifier(OIDCOptions{Now: clock.Now})
		providers := []OIDCProvider{idp.Provider("sts.amazonaws.com")}
		for b.Loop() {
			if _, _, err := v.Verify(context.Background(), tok, providers); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("cached discovery", func(b *testing.B) {
		srv := httptest.NewUnstartedServer(nil)
		srvIdP := newTestIdP(b, "http://"+srv.Listener.Addr().String(), rsaKey(b, 0), clock)
		srv.Config.Handler = srvIdP.Handler()
		srv.Start()
		defer srv.Close()
		v := NewOIDCVerifier(OIDCOptions{Now: clock.Now})
		tok := mustToken(b, srvIdP, "user", []string{"sts.amazonaws.com"}, time.Hour, nil)
		providers := []OIDCProvider{{URL: srv.URL, ClientIDs: []string{"sts.amazonaws.com"}}}
		for b.Loop() {
			if _, _, err := v.Verify(context.Background(), tok, providers); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkVerifySAML(b *testing.B) {
	clock := newClock()
	idp := newTestSAMLIdP(b, testEntityID, 0, clock)
	resp, err := idp.Assertion(baseRequest())
	if err != nil {
		b.Fatal(err)
	}
	provider := idp.Provider(testProviderARN)
	for b.Loop() {
		if _, err := VerifySAML(resp, provider, t0); err != nil {
			b.Fatal(err)
		}
	}
}
