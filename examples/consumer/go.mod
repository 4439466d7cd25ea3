module example.com/consumer

go 1.26

require (
	github.com/svrkit/svrkit v0.0.0
	go.uber.org/goleak v1.3.0
)

require github.com/shamaton/msgpack/v2 v2.4.0 // indirect

replace github.com/svrkit/svrkit => ../..
