// This file was written once by svrkit gen and is yours to edit:
// svrkit gen never overwrites it (unless run with -force).

package main

import (
	"context"

	"example.com/svc/api/full"
)

// Echo handles the rpc "echo". The result is sent back as msgpack; a non-nil error
// becomes the response's error string.
func Echo(ctx context.Context, msg full.Item) (any, error) {
	return msg.Name, nil
}

// Ping handles the rpc "ping". The result is sent back as msgpack; a non-nil error
// becomes the response's error string.
func Ping(ctx context.Context) (any, error) {
	return nil, nil
}

// GetItem handles the rpc "get_item", which returns item. A non-nil error becomes the
// response's error string.
func GetItem(ctx context.Context, id int64) (full.Item, error) {
	return full.Item{}, nil
}

// Put handles the rpc "put", which returns bool. A non-nil error becomes the
// response's error string.
func Put(ctx context.Context, e full.Everything, type_ string) (bool, error) {
	return false, nil
}

// Sum handles the rpc "sum", which returns int. A non-nil error becomes the
// response's error string.
func Sum(ctx context.Context, values []int64) (int64, error) {
	return 0, nil
}

// Scale handles the rpc "scale", which returns float. A non-nil error becomes the
// response's error string.
func Scale(ctx context.Context, factor float64, p full.Point) (float64, error) {
	return factor, nil
}

// Walk handles the rpc "walk", which returns tree. A non-nil error becomes the
// response's error string.
func Walk(ctx context.Context, t full.Tree) (full.Tree, error) {
	return t, nil
}

// Swap handles the rpc "swap", which returns tuple. A non-nil error becomes the
// response's error string.
func Swap(ctx context.Context, pair []any, attrs map[string]any, tags []any) ([]any, error) {
	return pair, nil
}

// Notify handles the one-way notification "notify"; the caller gets no reply.
func Notify(ctx context.Context, event string, on bool) error {
	return nil
}

// LogPoint handles the one-way notification "log_point"; the caller gets no reply.
func LogPoint(ctx context.Context, p full.Point) error {
	return nil
}
