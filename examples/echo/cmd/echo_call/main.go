// Command echo_call calls the echo service once through the generated client, like the
// seed's echo_test.py: echo_call -f echo_cli.conf [-id N] [message].
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/svrkit/svrkit/examples/echo/api/echo"
)

func main() {
	conf := flag.String("f", "echo_cli.conf", "client config (`file`)")
	id := flag.Int64("id", -1, "client id (the hash key; -1 = a random key, as pysvrkit)")
	timeout := flag.Duration("timeout", 5*time.Second, "deadline of the call")
	flag.Parse()
	msg := "testtest"
	if flag.NArg() > 0 {
		msg = flag.Arg(0)
	}
	if err := run(*conf, *id, msg, *timeout); err != nil {
		fmt.Fprintln(os.Stderr, "echo_call:", err)
		os.Exit(1)
	}
}

func run(conf string, id int64, msg string, timeout time.Duration) error {
	var ids []int64
	if id >= 0 {
		ids = append(ids, id)
	}
	cli, err := echo.NewClient(conf, ids...)
	if err != nil {
		return err
	}
	defer cli.Close()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	reply, err := cli.Echo(ctx, echo.Echomsg{Value: msg})
	if err != nil {
		return err
	}
	fmt.Println(reply)
	return nil
}
