// Command stspresign prints a presigned STS GetCallerIdentity URL for
// scripts/bench-sts.sh: it takes the instance role's credentials from an
// imdsemu metadata endpoint with the SDK's own IMDS client and presigns
// against imdsemu's STS endpoint, so that wrk can replay the URL as
// often as it likes until it expires (one hour).
//
//	go run ./bench/stspresign -imds http://127.0.0.1:PORT -sts http://127.0.0.1:PORT
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials/ec2rolecreds"
	"github.com/aws/aws-sdk-go-v2/feature/ec2/imds"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

func main() {
	imdsURL := flag.String("imds", "", "imdsemu metadata endpoint, http://127.0.0.1:PORT")
	stsURL := flag.String("sts", "", "imdsemu STS endpoint, http://127.0.0.1:PORT")
	flag.Parse()
	if *imdsURL == "" || *stsURL == "" {
		log.Fatal("stspresign: -imds and -sts are required")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	creds := ec2rolecreds.New(func(o *ec2rolecreds.Options) {
		o.Client = imds.New(imds.Options{Endpoint: *imdsURL})
	})
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
