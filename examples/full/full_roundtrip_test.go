package main

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/svrkit/svrkit/examples/full/api/full"
)

// TestRoundTrip sends every IDL type through the generated client to the handlers in
// full_rpc_handler.go and checks what comes back.
func TestRoundTrip(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cli := startTestService(t)

	item := full.Item{
		Name: "testtest", On: true,
		Tags:  []any{"a", int64(2), 3.5, true, nil},
		Pair:  []any{"left", int64(-7)},
		Attrs: map[string]any{"k": "v", "n": int64(1), "nested": map[string]any{"x": []any{int64(1)}}},
		Pos:   full.Point{X: -3, Y: 0.25},
	}
	t.Run("echo: proto with list, tuple, dict, nested proto", func(t *testing.T) {
		got, err := cli.Echo(ctx, item)
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]any{
			"name": "testtest", "on": true, "tags": item.Tags, "pair": item.Pair, "attrs": item.Attrs,
			"pos": map[string]any{"x": int64(-3), "y": 0.25},
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("echo returned\n%#v\nwant\n%#v", got, want)
		}
	})
	t.Run("put and get_item: typed containers of protos", func(t *testing.T) {
		e := full.Everything{
			S: "s", B: true, I: time.Now().UnixNano(), F: 1.5, // a fresh id: the store is per process L: []any{"l"}, T: []any{int64(1), "t"},
			D: map[string]any{"d": int64(1)}, P: full.Point{X: 1, Y: 2},
			ItemList: []full.Item{item}, Counts: map[string]int64{"a": 1, "b": -2},
			Matrix: [][]float64{{1, 2}, {3}}, ByName: map[string]full.Point{"o": {X: 0, Y: 0}},
		}
		isNew, err := cli.Put(ctx, e, "everything")
		if err != nil || !isNew {
			t.Fatalf("put = %v, %v; want true, nil", isNew, err)
		}
		got, err := cli.GetItem(ctx, e.I)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, item) {
			t.Errorf("get_item returned\n%#v\nwant\n%#v", got, item)
		}
		if got, err := cli.GetItem(ctx, -7); err != nil || got.Name != "" {
			t.Errorf("get_item of a missing id = %#v, %v; want an empty item", got, err)
		}
	})
	t.Run("sum: list<int>", func(t *testing.T) {
		if got, err := cli.Sum(ctx, []int64{1, 2, 3, -10}); err != nil || got != -4 {
			t.Errorf("sum = %v, %v; want -4", got, err)
		}
	})
	t.Run("scale: float and proto", func(t *testing.T) {
		if got, err := cli.Scale(ctx, 2, full.Point{X: 1, Y: 0.5}); err != nil || got != 3 {
			t.Errorf("scale = %v, %v; want 3", got, err)
		}
	})
	t.Run("walk: recursive proto through list and dict", func(t *testing.T) {
		tree := full.Tree{Label: "root", Children: []full.Tree{{Label: "a"}, {Label: "b", Index: map[string]full.Tree{"c": {Label: "c"}}}}}
		got, err := cli.Walk(ctx, tree)
		if err != nil {
			t.Fatal(err)
		}
		if got.Label != "root" || len(got.Children) != 2 || got.Children[1].Index["c"].Label != "c" {
			t.Errorf("walk returned %#v", got)
		}
	})
	t.Run("swap: tuple keeps its length", func(t *testing.T) {
		got, err := cli.Swap(ctx, []any{"x", int64(9)}, map[string]any{}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if want := []any{int64(9), "x"}; !reflect.DeepEqual(got, want) {
			t.Errorf("swap returned %#v, want %#v", got, want)
		}
	})
	t.Run("notify and log_point: one-way", func(t *testing.T) {
		// The count is per process: other tests may have notified already.
		before, err := cli.Ping(ctx)
		if err != nil {
			t.Fatal(err)
		}
		want := before.(int64) + 2
		if err := cli.Notify(ctx, "e", true); err != nil {
			t.Fatal(err)
		}
		if err := cli.LogPoint(ctx, full.Point{X: 1}); err != nil {
			t.Fatal(err)
		}
		// Notifications are not answered; poll ping until both arrived.
		deadline := time.Now().Add(5 * time.Second)
		for {
			n, err := cli.Ping(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if n == want {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("ping reports %v notifications after 5s, want %d", n, want)
			}
			time.Sleep(10 * time.Millisecond)
		}
	})
}
