package etcd

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/svrkit/svrkit/router"
)

// Value is the JSON registered for a server under <prefix>/<addr>:
//
//	{"addr": "10.0.0.5:3000", "weight": 100, "shardbegin": 0, "shardend": 49, "role": "master"}
//
// addr is required; the other fields may be absent: weight 0 means the client's default
// weight, absent shards mean 0, role "" means master. Unknown fields are ignored, so that
// other tools may add theirs.
type Value struct {
	Addr       string `json:"addr"`
	Weight     int    `json:"weight,omitempty"`
	ShardBegin int    `json:"shardbegin,omitempty"`
	ShardEnd   int    `json:"shardend,omitempty"`
	Role       string `json:"role,omitempty"`
}

// parseValue decodes a registered value; key is only for the router's messages.
func parseValue(key string, data []byte) (router.Member, error) {
	var v Value
	if err := json.Unmarshal(data, &v); err != nil {
		return router.Member{}, fmt.Errorf("not the svrkit JSON value: %w", err)
	}
	if v.Addr == "" {
		return router.Member{}, errors.New(`no "addr"`)
	}
	return router.Member{Key: key, Addr: v.Addr, Weight: v.Weight, ShardBegin: v.ShardBegin, ShardEnd: v.ShardEnd, Role: v.Role}, nil
}
