// Command hello_call calls the hello service through the client library that
// svrkit_service generated: hello_call -f hello_cli.conf NAME. The conf may list the
// servers ([serverN]) or name an etcd registry ([registry]: docs/ROUTING.md); the blank
// import of svrkit's etcd package is what links the etcd registry in.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"time"

	_ "github.com/svrkit/svrkit/etcd"

	"example.com/consumer/hello/api/hello"
)

func main() {
	conf := flag.String("f", "hello_cli.conf", "client config (`file`)")
	flag.Parse()
	cli, err := hello.NewClient(*conf)
	if err != nil {
		fmt.Fprintln(os.Stderr, "hello_call:", err)
		os.Exit(1)
	}
	defer cli.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	reply, err := cli.Greet(ctx, hello.Person{Name: flag.Arg(0), Age: 1})
	if err != nil {
		fmt.Fprintln(os.Stderr, "hello_call:", err)
		os.Exit(1)
	}
	fmt.Println(reply)
}
