// Command stspresign prints a presigned STS GetCallerIdentity URL for
// scripts/bench-sts.sh: it takes the instance role's credentials from an
// imdsemu metadata endpoint with the SDK's own IMDS client and presigns
// against imdsemu's STS endpoint, so that wrk can replay the URL as
// often as it likes until it expires (one hour). With -credentials-file
// it presigns with the long-term access key of a profile in that shared
// credentials file instead (`imdsemu key create --credentials-file`).
//
//	go run ./bench/stspresign -imds http://127.0.0.1:PORT -sts http://127.0.0.1:PORT
//	go run ./bench/stspresign -credentials-file FILE -profile NAME -sts http://127.0.0.1:PORT
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials/ec2rolecreds"
	"github.com/aws/aws-sdk-go-v2/feature/ec2/imds"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

func main() {
	imdsURL := flag.String("imds", "", "imdsemu metadata endpoint, http://127.0.0.1:PORT")
	stsURL := flag.String("sts", "", "imdsemu STS endpoint, http://127.0.0.1:PORT")
	credsFile := flag.String("credentials-file", "", "shared credentials file with a long-term key (instead of -imds)")
	profile := flag.String("profile", "default", "profile in -credentials-file")
	flag.Parse()
	if (*imdsURL == "") == (*credsFile == "") || *stsURL == "" {
		log.Fatal("stspresign: -sts and one of -imds and -credentials-file are required")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var creds aws.CredentialsProvider = ec2rolecreds.New(func(o *ec2rolecreds.Options) {
		o.Client = imds.New(imds.Options{Endpoint: *imdsURL})
	})
	if *credsFile != "" {
		// The profile is read from this file only: no environment
		// variable and no other file is consulted.
		sc, err := config.LoadSharedConfigProfile(ctx, *profile, func(o *config.LoadSharedConfigOptions) {
			o.CredentialsFiles, o.ConfigFiles = []string{*credsFile}, []string{}
		})
		if err != nil {
			log.Fatal(err)
		}
		if !sc.Credentials.HasKeys() {
			log.Fatalf("stspresign: profile %s in %s has no access key", *profile, *credsFile)
		}
		creds = aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) { return sc.Credentials, nil })
	}
	client := sts.New(sts.Options{
		Region:       "us-east-1",
		Credentials:  aws.NewCredentialsCache(creds),
		BaseEndpoint: stsURL,
	})
	req, err := sts.NewPresignClient(client).PresignGetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(req.URL)
}
