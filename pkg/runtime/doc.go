// Package runtime turns typed Go functions into native OpenWhisk actions that
// speak the actionloop protocol: an ack on fd 3, one JSON activation per line on
// stdin, one JSON result per line on fd 3.
//
// An action main is one call:
//
//	func main() { runtime.Start(runtime.Typed(greet)) }
//
// Each activation runs with a context that expires at the activation's
// deadline and carries its metadata (ActivationFrom) and a JSON logger with
// secrets redacted (Logger). Web actions use the Web adapter, which turns the
// __ow_* parameters into a WebRequest and a WebResponse into the
// {statusCode, headers, body} result the platform expects. The same binary runs
// locally and, packed as exec with exec.env in a zip, on the official Go images.
package runtime
