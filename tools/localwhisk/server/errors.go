package server

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
)

// Messages the controller sends; the wording is OpenWhisk's, because clients
// and their users match on it.
const (
	msgNotFound             = "The requested resource does not exist."
	msgForbidden            = "The supplied authentication is not authorized to access this resource."
	msgAuthMissing          = "The resource requires authentication, which was not supplied with the request"
	msgAuthInvalid          = "The supplied authentication is invalid"
	msgRouteNotFound        = "The requested resource could not be found."
	msgExists               = "resource already exists"
	msgConformance          = "Resource by this name exists but is not in this collection."
	msgNameIllegal          = "The name of the entity contains illegal characters."
	msgNamespaceIllegal     = "The namespace contains illegal characters."
	msgMalformedFQN         = "The fully qualified name of the entity must contain at least the namespace and the name of the entity."
	msgMalformed            = "The request content was malformed:\n"
	msgBindingMissing       = "Binding references a package that does not exist."
	msgPackageToBinding     = "Resource is a package and cannot be converted into a binding."
	msgBindingToBinding     = "Cannot bind to another package binding."
	msgBindingNotPackage    = "Cannot bind to a resource that is not a package."
	msgNotAllowedOnBinding  = "Operation not permitted on package binding."
	msgParamsNotAllowed     = "Request defines parameters that are not allowed (e.g., reserved properties)."
	msgActivationIDIllegal  = "The activation id is not valid."
	msgDocsWithCount        = "The parameter 'docs' is not permitted with 'count'."
	msgFeedInvalid          = "Feed name is not valid"
	msgRuleNeedsTrigger     = "Only rules with existing triggers can be activated"
	msgRuleNeedsBoth        = "rule requires a valid trigger and a valid action"
	msgErrorProcessing      = "There was an error processing your request."
	msgResponseNotReady     = "Response not yet ready."
	msgPropertyNotFound     = "Response does not include requested property."
	msgHTTPUnknownType      = "Response did not specify a known content-type."
	msgHTTPTypeMismatch     = "Response type in header did not match generated content type."
	msgUnsupportedContent   = "Content type is not supported."
	msgAbnormalRun          = "The action did not produce a valid response and exited unexpectedly."
	msgInternalServerError  = "There was an internal server error."
	msgServiceUnavailable   = "The server is currently unavailable (because it is overloaded or down for maintenance)."
	msgSequenceUnsupported  = "localwhisk does not support sequence actions"
	msgBlackboxUnsupported  = "localwhisk does not support blackbox (docker) actions"
	headerActivationID      = "x-openwhisk-activation-id"
	headerWWWAuthenticate   = `Basic realm="OpenWhisk secure realm"`
	maxListLimit            = 200
	defaultListLimit        = 30
	payloadMax              = 1 << 20  // activation.payload.max
	parameterSizeMax        = 1 << 20  // parameter-size-limit
	execSizeMax             = 48 << 20 // exec-size-limit
	requestEntityMax        = 50 << 20 // HTTP entity parse limit
	resultMax               = 1 << 20  // activation.payload.truncation
	maxBlockingWaitMillis   = 60000
	defaultActionTimeoutMS  = 60000
	defaultActionMemoryMB   = 256
	defaultActionLogsMB     = 10
	defaultConcurrency      = 1
	minActionTimeoutMS      = 100
	maxActionTimeoutMS      = 300000
	minActionMemoryMB       = 128
	maxActionMemoryMB       = 512
	minActionLogsMB         = 0
	maxActionLogsMB         = 10
	minActionConcurrency    = 1
	maxActionConcurrency    = 1
	entityNameMaxLength     = 256
	activationIDLength      = 32
	packageDefault          = "default"
	annotationExec          = "exec"
	annotationProvideAPIKey = "provide-api-key"
	annotationWebExport     = "web-export"
	annotationRawHTTP       = "raw-http"
	annotationFinal         = "final"
	annotationRequireAuth   = "require-whisk-auth"
	annotationCustomOptions = "web-custom-options"
	annotationFeed          = "feed"
	annotationBinding       = "binding"
)

func msgForbiddenOn(resource string) string {
	return fmt.Sprintf("The supplied authentication is not authorized to access '%s'.", resource)
}

func msgTooManyRequests(count, allowed int) string {
	return fmt.Sprintf("Too many requests in the last minute (count: %d, allowed: %d).", count, allowed)
}

func msgTooManyConcurrent(count, allowed int) string {
	return fmt.Sprintf("Too many concurrent requests in flight (count: %d, allowed: %d).", count, allowed)
}

func msgTooLarge(field string, is, allowed int) string {
	return fmt.Sprintf("%s larger than allowed: %d > %d bytes.", field, is, allowed)
}

func msgNameTooLong(is int) string {
	// "segement" is the controller's spelling.
	return fmt.Sprintf("Name segement longer than allowed: %d > %d.", is, entityNameMaxLength)
}

// apiError is an error answered to the client as {"error", "code"}.
type apiError struct {
	status  int
	message string
	header  http.Header
}

func (e *apiError) Error() string { return fmt.Sprintf("%d %s", e.status, e.message) }

func newError(status int, message string) *apiError {
	if message == "" {
		switch status {
		case http.StatusNotFound:
			message = msgNotFound
		case http.StatusForbidden:
			message = msgForbidden
		case http.StatusInternalServerError:
			message = msgInternalServerError
		case http.StatusServiceUnavailable:
			message = msgServiceUnavailable
		default:
			message = http.StatusText(status)
		}
	}
	return &apiError{status: status, message: message}
}

func errorf(status int, format string, args ...any) *apiError {
	return newError(status, fmt.Sprintf(format, args...))
}

func malformed(format string, args ...any) *apiError {
	return newError(http.StatusBadRequest, msgMalformed+fmt.Sprintf(format, args...))
}

// asAPIError converts any error into the response it deserves.
func asAPIError(err error) *apiError {
	var ae *apiError
	if errors.As(err, &ae) {
		return ae
	}
	return newError(http.StatusInternalServerError, "")
}

// newTransactionID returns the random id carried in error bodies ("code").
func newTransactionID() string { return randomHex(16) }

// newActivationID returns 32 lower-case hex characters.
func newActivationID() string { return randomHex(16) }

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on supported platforms
	return hex.EncodeToString(b)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		b, _ = json.Marshal(map[string]string{"error": msgInternalServerError})
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

func writeError(w http.ResponseWriter, r *http.Request, err error) {
	writeErrorIndent(w, r, err, false)
}

func writeErrorIndent(w http.ResponseWriter, r *http.Request, err error, indent bool) {
	ae := asAPIError(err)
	for k, vs := range ae.header {
		for _, v := range vs {
			w.Header().Add(k, v)
		}
	}
	body := map[string]string{"error": ae.message, "code": transactionID(r)}
	if indent {
		b, _ := json.MarshalIndent(body, "", "  ")
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(ae.status)
		_, _ = w.Write(b)
		return
	}
	writeJSON(w, ae.status, body)
}
