package iamapi_test

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsiam "github.com/aws/aws-sdk-go-v2/service/iam"
)

// BenchmarkServer_GetUser is one signed GetUser through the Go SDK over
// loopback: SigV4 verification, the authorizer reading the caller's
// effective permissions from the store, the lookup and the XML document.
func BenchmarkServer_GetUser(b *testing.B) {
	f := newFixture(b)
	c := f.admin()
	in := &awsiam.GetUserInput{UserName: aws.String("nobody")}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.GetUser(ctx, in); err != nil {
			b.Fatal(err)
		}
	}
}
