package greet

import (
	"testing"

	"github.com/svrkit/svrkit/codec"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestRoundTrip(t *testing.T) {
	b, err := Request(7, "bazel")
	if err != nil {
		t.Fatal(err)
	}
	id, name, err := Name(b)
	if err != nil {
		t.Fatal(err)
	}
	if id != 7 || name != "bazel" {
		t.Fatalf("Name = %d, %q; want 7, %q", id, name, "bazel")
	}
}

func TestRejectsOtherMessages(t *testing.T) {
	b, err := codec.AppendNotification(nil, Method, "x")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := Name(b); err == nil {
		t.Fatal("Name accepted a notification")
	}
	if _, _, err := Name([]byte{0x94}); err == nil {
		t.Fatal("Name accepted a truncated frame")
	}
}
