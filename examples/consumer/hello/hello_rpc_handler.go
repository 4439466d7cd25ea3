// This file was written once by svrkit gen and is yours to edit:
// svrkit gen never overwrites it (unless run with -force).

package main

import (
	"context"
	"fmt"

	"example.com/consumer/hello/api/hello"
)

// Greet handles the rpc "greet".
func Greet(ctx context.Context, who hello.Person) (string, error) {
	if who.Name == "" {
		return "", fmt.Errorf("greet: who.name is empty")
	}
	return fmt.Sprintf("hello, %s (%d)", who.Name, who.Age), nil
}

// Seen handles the one-way notification "seen".
func Seen(ctx context.Context, who hello.Person) error {
	return nil
}
