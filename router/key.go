package router

import "context"

type keyCtx struct{}

// WithKey returns a context whose calls go to the hashring server of key, like
// CallOptions.Key; CallOptions.Key wins when both are set. It lets a caller pin
// requests made through a generated typed client, which takes no CallOptions:
//
//	cli.Echo(router.WithKey(ctx, userID), msg)
//
// Ignored in sharding mode.
func WithKey(ctx context.Context, key string) context.Context {
	return context.WithValue(ctx, keyCtx{}, key)
}

// keyOf fills opt.Key from ctx when the call did not set it.
func keyOf(ctx context.Context, opt CallOptions) CallOptions {
	if opt.Key == "" {
		if k, ok := ctx.Value(keyCtx{}).(string); ok {
			opt.Key = k
		}
	}
	return opt
}
