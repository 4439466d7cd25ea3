// This file was written once by svrkit gen and is yours to edit:
// svrkit gen never overwrites it (unless run with -force).

package main

import (
	"context"
	"fmt"
	"sync"

	"github.com/svrkit/svrkit/examples/full/api/full"
)

// store is this example's state: what put stored and how many notifications arrived.
// Each rpc worker process has its own (worker_type process), as with pysvrkit.
var store = struct {
	sync.Mutex
	items    map[int64]full.Everything
	notified int64
}{items: map[int64]full.Everything{}}

// Echo handles the rpc "echo": it returns the item it was given.
func Echo(ctx context.Context, msg full.Item) (any, error) {
	return msg, nil
}

// Ping handles the rpc "ping": it returns how many notifications arrived so far.
func Ping(ctx context.Context) (any, error) {
	store.Lock()
	defer store.Unlock()
	return store.notified, nil
}

// GetItem handles the rpc "get_item": the first item of what put stored under id, or
// an empty item.
func GetItem(ctx context.Context, id int64) (full.Item, error) {
	store.Lock()
	defer store.Unlock()
	if e := store.items[id]; len(e.ItemList) > 0 {
		return e.ItemList[0], nil
	}
	return full.Item{}, nil
}

// Put handles the rpc "put": it stores e under e.I and reports whether the id was new.
// type_ is only a label here.
func Put(ctx context.Context, e full.Everything, type_ string) (bool, error) {
	store.Lock()
	defer store.Unlock()
	_, had := store.items[e.I]
	store.items[e.I] = e
	return !had, nil
}

// Sum handles the rpc "sum".
func Sum(ctx context.Context, values []int64) (int64, error) {
	var n int64
	for _, v := range values {
		n += v
	}
	return n, nil
}

// Scale handles the rpc "scale": factor × (x + y).
func Scale(ctx context.Context, factor float64, p full.Point) (float64, error) {
	return factor * (float64(p.X) + p.Y), nil
}

// Walk handles the rpc "walk": it returns the tree it was given.
func Walk(ctx context.Context, t full.Tree) (full.Tree, error) {
	return t, nil
}

// Swap handles the rpc "swap": it returns the pair reversed.
func Swap(ctx context.Context, pair []any, attrs map[string]any, tags []any) ([]any, error) {
	if len(pair) != 2 {
		return nil, fmt.Errorf("swap: pair has %d elements, want 2", len(pair))
	}
	return []any{pair[1], pair[0]}, nil
}

// Notify handles the one-way notification "notify".
func Notify(ctx context.Context, event string, on bool) error {
	store.Lock()
	store.notified++
	store.Unlock()
	return nil
}

// LogPoint handles the one-way notification "log_point".
func LogPoint(ctx context.Context, p full.Point) error {
	return Notify(ctx, "log_point", true)
}
