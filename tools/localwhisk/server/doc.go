// Package server is localwhisk's controller: an OpenWhisk-compatible REST API
// (actions, packages, triggers, rules, activations, web actions, limits) for
// wsk, wskdeploy and the JS client, with entitlement, throttles and optional
// persistence. Code actions run through an Executor (the runner's process
// pool); built-in actions run in process.
//
// # Embedding
//
//	srv, err := server.New(server.Config{Executor: pool, APIHost: url})
//	defer srv.Close()
//	http.ListenAndServe(addr, srv.Handler())
//
// With httptest, create the listener first (httptest.NewUnstartedServer) so
// that Config.APIHost can name the server's own URL, which actions receive
// as __OW_API_HOST.
//
// # Built-in actions
//
// RegisterBuiltin serves an action from Go code in process instead of a zip:
//
//	srv.RegisterBuiltin("whisk.system", "alarms", "interval", handler,
//		server.WithPublicPackage(),
//		server.WithPackageParameter("trigger_payload", ""),
//		server.WithAnnotation("feed", true),
//		server.WithParameter("isInterval", true))
//
// A built-in action is an ordinary entity for clients: it is listed, read,
// bound, invoked (blocking or not), used by rules, exported as a web action,
// throttled and recorded as activations like any other. Its handler gets
// the merged parameters and the Identity it runs as; it returns a JSON-able
// result or an error (an application error). A feed provider built this way
// (e.g. /whisk.system/alarms) keeps its own schedule and fires triggers the
// way the real providers do: POST {APIHost}/api/v1/namespaces/{ns}/triggers/{t}
// with Basic auth of the authKey it was given at CREATE.
package server
