package codec

import (
	"errors"
	"fmt"
)

// Causes of a FrameError; test with errors.Is.
var (
	ErrTooLarge         = errors.New("message exceeds MaxMessageSize")
	ErrContainerTooLong = errors.New("container exceeds MaxContainerLen")
	ErrTooDeep          = errors.New("nesting exceeds MaxDepth")
	ErrMalformed        = errors.New("malformed msgpack")
	ErrBadEnvelope      = errors.New("not a msgpack-rpc message")
)

// FrameError reports a message the Decoder rejected. The stream cannot be
// resynchronised after it: close the connection.
type FrameError struct {
	Offset int64  // stream offset of the first byte of the offending message
	Err    error  // one of ErrTooLarge, ErrContainerTooLong, ErrTooDeep, ErrMalformed, ErrBadEnvelope
	Detail string // what exactly was wrong
}

func (e *FrameError) Error() string {
	return fmt.Sprintf("codec: bad message at stream offset %d: %v: %s", e.Offset, e.Err, e.Detail)
}

func (e *FrameError) Unwrap() error { return e.Err }

// ParamCountError reports a params array of the wrong length.
type ParamCountError struct{ Want, Got int }

func (e *ParamCountError) Error() string {
	return fmt.Sprintf("expects %d params, got %d", e.Want, e.Got)
}

// ArgError reports a parameter that could not be decoded into its Go argument.
type ArgError struct {
	Index int    // position in the params array
	Name  string // the argument's name, "" when unknown
	Err   error
}

func (e *ArgError) Error() string {
	arg := fmt.Sprintf("arg %d", e.Index)
	if e.Name != "" {
		arg += " (" + e.Name + ")"
	}
	if pe, ok := e.Err.(*pathError); ok {
		return arg + pe.path + ": " + pe.err.Error() // arg 0 (x).pos.x: want int, got float 1.9
	}
	return arg + ": " + e.Err.Error()
}

func (e *ArgError) Unwrap() error { return e.Err }

// valueError is a short, allocation-light error used below the public API.
type valueError string

func (e valueError) Error() string { return string(e) }
