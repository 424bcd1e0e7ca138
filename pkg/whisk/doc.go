// Package whisk is a small client for the OpenWhisk REST API (actions, packages,
// triggers, rules, activations, namespaces, web action URLs) and for the client
// side of the feed protocol, following what the real wsk CLI sends.
//
// A Client is safe for concurrent use. Errors from the API are *APIError; an
// invocation whose action failed is *ActionError; a blocking invocation that
// outlived the server's wait is *PendingError. HTTPStatus, IsNotFound and
// IsConflict read the HTTP status from any of them. Requests are retried by one
// classifier (see RetryPolicy) and never beyond the caller's context.
package whisk
