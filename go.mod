module github.com/svrkit/svrkit

go 1.26

require (
	github.com/go-ini/ini v1.67.0
	github.com/golang/groupcache v0.0.0-20241129210726-2c02b8208cf8
	github.com/shamaton/msgpack/v2 v2.4.0
	go.uber.org/goleak v1.3.0
)
