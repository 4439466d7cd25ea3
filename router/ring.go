package router

import (
	"hash/crc32"
	"strconv"

	"github.com/golang/groupcache/consistenthash"
)

// PointsPerWeight is how many points a hashring server gets on the ring per
// unit of weight: weight 100 (the default) is 2000 points. More points give a
// distribution closer to the weights (see docs/ROUTING.md for measurements)
// at the cost of memory and rebuild time.
const PointsPerWeight = 20

// ringHash is crc32 (IEEE) followed by the murmur3 32-bit finalizer. Plain
// crc32 is linear, so the ring's similar point names ("addr/0", "addr/1", ...)
// land in clumps and the key shares drift far from the weights; the finalizer
// is a bijection that spreads them without adding collisions.
func ringHash(data []byte) uint32 {
	h := crc32.ChecksumIEEE(data)
	h ^= h >> 16
	h *= 0x85ebca6b
	h ^= h >> 13
	h *= 0xc2b2ae35
	h ^= h >> 16
	return h
}

// member is one hashring server. Its identity on the ring is its address
// (plus "#k" for the k-th repeat of an address), not its section name, so
// renumbering sections when a server is removed from the config does not
// move the other servers' keys.
type member struct {
	id     string
	weight int
	ep     *endpoint
	name   string // section or registry key, for messages
}

// memberIDs gives each config server its ring identity.
func memberIDs(servers []Server) []string {
	seen := make(map[string]int, len(servers))
	ids := make([]string, len(servers))
	for i, s := range servers {
		seen[s.Addr]++
		ids[i] = s.Addr
		if n := seen[s.Addr]; n > 1 {
			ids[i] += "#" + strconv.Itoa(n)
		}
	}
	return ids
}

// ring is an immutable weighted consistent-hash ring over some members.
type ring struct {
	m     *consistenthash.Map
	owner map[string]int // point name -> member index (shared, read-only)
	all   bool           // every member is down: the ring holds them all anyway
	fixed int            // member of the client's default key
	live  []bool         // the member states it was built from
}

// points holds every member's point names, computed once per client so that
// a rebuild (on ejection or readmission) only re-hashes them.
type points struct {
	names [][]string     // per member
	owner map[string]int // point name -> member index
}

func newPoints(members []member) *points {
	p := &points{names: make([][]string, len(members)), owner: make(map[string]int)}
	for i, mb := range members {
		for j := 0; j < mb.weight*PointsPerWeight; j++ {
			name := mb.id + "/" + strconv.Itoa(j)
			p.names[i] = append(p.names[i], name)
			p.owner[name] = i
		}
	}
	return p
}

// build puts the members with live[i] true on a ring, or all members when
// none is live. defKey is the client's default key, looked up once here.
func (p *points) build(live []bool, defKey string) *ring {
	r := &ring{m: consistenthash.New(1, ringHash), owner: p.owner, all: true, live: live}
	n := 0
	for i, ok := range live {
		if ok {
			r.all = false
			n += len(p.names[i])
		}
	}
	all := make([]string, 0, n)
	for i, names := range p.names {
		if r.all || live[i] {
			all = append(all, names...)
		}
	}
	r.m.Add(all...) // one Add: the map sorts its points once per call
	r.fixed = r.lookup(defKey)
	return r
}

// buildRing is newPoints(members).build(live, defKey).
func buildRing(members []member, live []bool, defKey string) *ring {
	return newPoints(members).build(live, defKey)
}

// member returns the index of the member owning key, "" meaning the
// client's default key (cached).
func (r *ring) member(key string) int {
	if key == "" {
		return r.fixed
	}
	return r.lookup(key)
}

// lookup returns the index of the member owning key.
func (r *ring) lookup(key string) int {
	return r.owner[r.m.Get(key)]
}
