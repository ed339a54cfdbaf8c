package credential

import (
	"bytes"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"
)

func TestValue_KeepsSecrets(t *testing.T) {
	v := Value{
		AccessKeyID:     "ASIAABCDEFGHIJKLMNOP",
		SecretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
		SessionToken:    "FwoGZXIvYXdzEXAMPLETOKEN",
		Issued:          time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC),
		Expires:         time.Date(2030, 1, 1, 6, 0, 0, 0, time.UTC),
	}
	var buf bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&buf, nil))
	log.Info("minted", "credentials", v)
	slog.New(slog.NewTextHandler(&buf, nil)).Info("minted", "credentials", v)
	out := map[string]string{
		"slog":  buf.String(),
		"%v":    fmt.Sprintf("%v", v),
		"%+v":   fmt.Sprintf("%+v", v),
		"%#v":   fmt.Sprintf("%#v", v),
		"%s":    fmt.Sprintf("%s", v),
		"error": fmt.Errorf("using %v: denied", v).Error(),
	}
	for how, s := range out {
		if strings.Contains(s, v.SecretAccessKey) || strings.Contains(s, v.SessionToken) {
			t.Errorf("%s shows a secret: %s", how, s)
		}
		if !strings.Contains(s, v.AccessKeyID) || !strings.Contains(s, "2030-01-01T06:00:00Z") {
			t.Errorf("%s leaves out the key id or the expiry: %s", how, s)
		}
	}
}

func TestValue_Public(t *testing.T) {
	now := time.Now()
	v := Value{AccessKeyID: "ASIA1", SecretAccessKey: "s", SessionToken: "t", Issued: now, Expires: now.Add(time.Hour)}
	if got, want := v.Public(), (Public{AccessKeyID: "ASIA1", Issued: now, Expires: now.Add(time.Hour)}); got != want {
		t.Errorf("Public() = %v, want %v", got, want)
	}
}
