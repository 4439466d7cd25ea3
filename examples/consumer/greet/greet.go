// Package greet is a consumer of svrkit built in its own Bazel workspace: it
// encodes a msgpack-rpc "hello" request and reads the name back out of one.
package greet

import (
	"bytes"
	"fmt"

	"github.com/svrkit/svrkit/codec"
)

// Method is the msgpack-rpc method name greet uses.
const Method = "hello"

// Request returns the msgpack-rpc request hello(name) with the given msgid.
func Request(id uint32, name string) ([]byte, error) {
	b, err := codec.AppendRequest(nil, id, Method, name)
	if err != nil {
		return nil, fmt.Errorf("greet: encoding request %d: %w", id, err)
	}
	return b, nil
}

// Name reads one request from frame and returns its msgid and name argument.
func Name(frame []byte) (uint32, string, error) {
	var m codec.Message
	if err := codec.NewDecoder(bytes.NewReader(frame), codec.Limits{}).Next(&m); err != nil {
		return 0, "", fmt.Errorf("greet: reading request: %w", err)
	}
	if m.Kind != codec.Request || m.Method != Method {
		return 0, "", fmt.Errorf("greet: got message kind %d method %q, want a %q request", m.Kind, m.Method, Method)
	}
	var name string
	if err := codec.DecodeParams(m.Params, []string{"name"}, &name); err != nil {
		return 0, "", fmt.Errorf("greet: request %d: %w", m.ID, err)
	}
	return m.ID, name, nil
}
