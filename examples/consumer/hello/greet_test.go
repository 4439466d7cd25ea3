package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"example.com/consumer/hello/api/hello"
)

// TestGreet checks the handler's reply and its error through the generated client.
func TestGreet(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cli := startTestService(t)
	got, err := cli.Greet(ctx, hello.Person{Name: "ada", Age: 36})
	if err != nil || got != "hello, ada (36)" {
		t.Fatalf("greet = %q, %v; want \"hello, ada (36)\"", got, err)
	}
	if _, err := cli.Greet(ctx, hello.Person{}); err == nil || !strings.Contains(err.Error(), "who.name is empty") {
		t.Fatalf("greet of an empty name: err = %v, want the handler's error", err)
	}
}
