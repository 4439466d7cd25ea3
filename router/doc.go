// Package router sends msgpack-rpc calls from a client to the right server of
// a pysvrkit-style cluster described by an <app>_cli.conf file.
//
// Two modes exist, as in pysvrkit. "hashring" (stateless services) picks a
// server on a weighted consistent-hash ring; a server that cannot be reached
// or does not answer in time is ejected from the ring until a background
// probe gets an answer from it again (transport.PingMethod).
// "sharding" (stateful services) maps a client id to shard id % shardsum and
// sends to the server that owns that shard, or to its backup while the
// master is down; a shard's ids never move to another shard.
//
// A Client keeps one multiplexed transport connection per server address,
// dialled lazily and redialled with exponential backoff. Requests are retried
// only when they certainly never reached a server, or when the caller marks
// them idempotent. See docs/ROUTING.md for the full semantics.
package router
