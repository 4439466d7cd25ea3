package transport

import (
	"fmt"

	"github.com/svrkit/svrkit/codec"
)

// Args is a call's arguments, encoding themselves: AppendParams appends the
// request's params, one msgpack array of the arguments in order. Generated
// clients pass a struct of the API's arguments; Call and Notify pass their
// ...any as an ArgList. Every request goes to the wire through this one path.
type Args interface {
	AppendParams(b []byte) ([]byte, error)
}

// ArgList is Args for arguments held in a []any, each encoded by
// codec.AppendValue: the bytes Call(ctx, method, reply, l...) sends.
type ArgList []any

// AppendParams implements Args.
func (l *ArgList) AppendParams(b []byte) ([]byte, error) { return appendList(b, *l) }

func appendList(b []byte, list []any) ([]byte, error) {
	b = codec.AppendArrayHeader(b, len(list))
	var err error
	for i, a := range list {
		if b, err = codec.AppendValue(b, a); err != nil {
			return b, fmt.Errorf("arg %d: %w", i, err)
		}
	}
	return b, nil
}

// A request's params are args, or list when args is nil: Call and Notify
// pass their ...any down as a list rather than as an *ArgList, which would
// move it to the heap (an allocation per call); the bytes are the same.

// appendRequest appends the request [0, id, method, params] to b.
func appendRequest(b []byte, id uint32, method string, args Args, list []any) ([]byte, error) {
	b = append(b, 0x94, 0x00)
	b = codec.AppendUint(b, uint64(id))
	b = codec.AppendString(b, method)
	return appendParams(b, args, list)
}

// appendNotification appends the notification [2, method, params] to b.
func appendNotification(b []byte, method string, args Args, list []any) ([]byte, error) {
	b = append(b, 0x93, 0x02)
	b = codec.AppendString(b, method)
	return appendParams(b, args, list)
}

func appendParams(b []byte, args Args, list []any) ([]byte, error) {
	if args != nil {
		return args.AppendParams(b)
	}
	return appendList(b, list)
}
