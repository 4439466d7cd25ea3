package router

import (
	"fmt"
	"math"
	"strconv"
	"testing"
)

const ringKeys = 100000

func ringOf(weights []int, addrs []string) ([]member, *ring) {
	servers := make([]Server, len(addrs))
	for i := range addrs {
		servers[i] = Server{Addr: addrs[i], Weight: weights[i]}
	}
	ids := memberIDs(servers)
	ms := make([]member, len(addrs))
	live := make([]bool, len(addrs))
	for i := range ms {
		ms[i] = member{id: ids[i], weight: weights[i]}
		live[i] = true
	}
	return ms, buildRing(ms, live, "k")
}

// owners maps ringKeys keys to member ids.
func owners(ms []member, r *ring) []string {
	out := make([]string, ringKeys)
	for k := range out {
		out[k] = ms[r.lookup("key-"+strconv.Itoa(k))].id
	}
	return out
}

// TestWeightedDistribution: over 100k keys, each server's share is within
// 10% (relative) of weight/sum(weights), for several address sets.
func TestWeightedDistribution(t *testing.T) {
	const tolerance = 0.10
	weights := []int{100, 200, 300, 50, 100}
	total := 0
	for _, w := range weights {
		total += w
	}
	for set := 0; set < 4; set++ {
		addrs := make([]string, len(weights))
		for i := range addrs {
			addrs[i] = fmt.Sprintf("10.%d.0.%d:%d", set, i+1, 3000+i)
		}
		ms, r := ringOf(weights, addrs)
		count := map[string]int{}
		for _, o := range owners(ms, r) {
			count[o]++
		}
		for i, m := range ms {
			want := float64(ringKeys) * float64(weights[i]) / float64(total)
			dev := math.Abs(float64(count[m.id])-want) / want
			t.Logf("set %d %s weight %d: %d keys (want %.0f, %+.1f%%)", set, m.id, weights[i], count[m.id], want, 100*(float64(count[m.id])-want)/want)
			if dev > tolerance {
				t.Errorf("set %d %s: %d keys, want %.0f within %.0f%%", set, m.id, count[m.id], want, 100*tolerance)
			}
		}
	}
}

// TestKeyMovement: adding a server to N moves about 1/(N+1) of the keys,
// all of them to the new server; removing one moves only its own keys.
func TestKeyMovement(t *testing.T) {
	addrs := []string{"10.0.0.1:3000", "10.0.0.2:3000", "10.0.0.3:3000", "10.0.0.4:3000", "10.0.0.5:3000"}
	w := []int{100, 100, 100, 100, 100, 100}
	ms5, r5 := ringOf(w[:5], addrs)
	ms6, r6 := ringOf(w, append(addrs, "10.0.0.6:3000"))
	before, after := owners(ms5, r5), owners(ms6, r6)
	moved := 0
	for k := range before {
		if before[k] != after[k] {
			moved++
			if after[k] != "10.0.0.6:3000" {
				t.Fatalf("key %d moved %s -> %s, not to the new server", k, before[k], after[k])
			}
		}
	}
	frac := float64(moved) / ringKeys
	t.Logf("adding 1 server to 5 moved %.2f%% of keys (ideal %.2f%%)", 100*frac, 100.0/6)
	if math.Abs(frac-1.0/6)/(1.0/6) > 0.15 {
		t.Errorf("moved %.3f of keys, want 1/6 within 15%%", frac)
	}

	// Removal: eject 10.0.0.3 from the 5-server ring.
	live := []bool{true, true, false, true, true}
	r4 := buildRing(ms5, live, "k")
	removed := owners(ms5, r4)
	moved = 0
	for k := range before {
		if before[k] != removed[k] {
			moved++
			if before[k] != "10.0.0.3:3000" {
				t.Fatalf("key %d moved off %s, which stayed up", k, before[k])
			}
		}
		if removed[k] == "10.0.0.3:3000" {
			t.Fatalf("key %d still on the removed server", k)
		}
	}
	frac = float64(moved) / ringKeys
	t.Logf("removing 1 server of 5 moved %.2f%% of keys (ideal 20%%)", 100*frac)
	if math.Abs(frac-0.2)/0.2 > 0.15 {
		t.Errorf("moved %.3f of keys, want 1/5 within 15%%", frac)
	}
	// Readmission restores the original mapping exactly.
	if back := owners(ms5, buildRing(ms5, []bool{true, true, true, true, true}, "k")); fmt.Sprint(back) != fmt.Sprint(before) {
		t.Error("readmitting the server did not restore the mapping")
	}
}

func TestMemberIDs(t *testing.T) {
	ids := memberIDs([]Server{{Addr: "a:1"}, {Addr: "b:1"}, {Addr: "a:1"}, {Addr: "a:1"}})
	if fmt.Sprint(ids) != "[a:1 b:1 a:1#2 a:1#3]" {
		t.Errorf("got %v", ids)
	}
}

func TestAllDownRingKeepsEveryone(t *testing.T) {
	ms, _ := ringOf([]int{1, 1}, []string{"a:1", "b:1"})
	r := buildRing(ms, []bool{false, false}, "k")
	if !r.all || r.m.IsEmpty() {
		t.Fatal("an all-down ring must still hold every member")
	}
}

func TestShardOf(t *testing.T) {
	cases := []struct {
		id   int64
		sum  int
		want int
	}{
		{0, 1000, 0}, {999, 1000, 999}, {1000, 1000, 0}, {123456, 1000, 456},
		{-1, 1000, 999}, {-1000, 1000, 0}, {-1001, 1000, 999},
		{math.MaxInt64, 1000, 807}, {math.MinInt64, 1000, 192}, {5, 1, 0},
	}
	for _, c := range cases {
		if got := shardOf(c.id, c.sum); got != c.want {
			t.Errorf("shardOf(%d, %d) = %d, want %d", c.id, c.sum, got, c.want)
		}
	}
}
