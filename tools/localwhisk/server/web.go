package server

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// webExtensions are the response kinds of web actions; .http is the default.
var webExtensions = []string{".http", ".json", ".html", ".svg", ".text"}

// Reserved argument names of web actions.
const (
	owMethod  = "__ow_method"
	owHeaders = "__ow_headers"
	owPath    = "__ow_path"
	owUser    = "__ow_user"
	owQuery   = "__ow_query"
	owBody    = "__ow_body"
)

var owReserved = []string{owMethod, owHeaders, owPath, owUser, owQuery, owBody}

func webFail(w http.ResponseWriter, r *http.Request, err error) {
	writeErrorIndent(w, r, err, true)
}

func setWebCORS(h http.Header, r *http.Request) {
	h.Set("Access-Control-Allow-Origin", "*")
	h.Set("Access-Control-Allow-Methods", "OPTIONS, GET, DELETE, POST, PUT, HEAD, PATCH")
	if req := r.Header.Get("Access-Control-Request-Headers"); req != "" {
		h.Set("Access-Control-Allow-Headers", req)
	} else {
		h.Set("Access-Control-Allow-Headers", "Authorization, Origin, X-Requested-With, Content-Type, Accept, User-Agent")
	}
}

// serveWeb serves /api/v1/web/{ns}/{pkg|default}/{action}[.ext][/path].
func (s *Server) serveWeb(w http.ResponseWriter, r *http.Request, segs []string) {
	switch r.Method {
	case http.MethodGet, http.MethodPost, http.MethodPut, http.MethodDelete, http.MethodPatch, http.MethodHead, http.MethodOptions:
	default:
		webFail(w, r, newError(http.StatusNotFound, msgRouteNotFound))
		return
	}
	if len(segs) < 3 || !validName(segs[0]) || !validName(segs[1]) || !validName(segs[2]) {
		if r.Method == http.MethodOptions {
			setCORS(w.Header())
			w.WriteHeader(http.StatusOK)
			return
		}
		webFail(w, r, newError(http.StatusNotFound, msgRouteNotFound))
		return
	}
	received := time.Now()
	name, ext := segs[2], ".http"
	for _, e := range webExtensions {
		if strings.HasSuffix(name, e) && len(name) > len(e) {
			name, ext = strings.TrimSuffix(name, e), e
			break
		}
	}
	extraPath := ""
	if len(segs) > 3 {
		// the unmatched rest of the path, as sent
		esc := strings.Split(strings.TrimPrefix(r.URL.EscapedPath(), "/"), "/")
		extraPath = "/" + strings.Join(esc[6:], "/") // api/v1/web/ns/pkg/action/...
	}
	fqn := FQN{Namespace: segs[0], Name: name}
	if segs[1] != packageDefault {
		fqn.Package = segs[1]
	}
	owner, ok := s.ids.byNamespace[fqn.Namespace]
	if !ok {
		webFail(w, r, newError(http.StatusNotFound, ""))
		return
	}
	ra, err := s.resolveAction(fqn)
	if err != nil {
		webFail(w, r, newError(http.StatusNotFound, ""))
		return
	}
	a := ra.action
	if !a.Annotations.Bool(annotationWebExport) {
		webFail(w, r, newError(http.StatusNotFound, ""))
		return
	}
	if err := s.entitle(owner, rightActivate, actionResource(a.fqn())); err != nil {
		webFail(w, r, err)
		return
	}
	if r.ContentLength > payloadMax {
		webFail(w, r, newError(http.StatusRequestEntityTooLarge, msgTooLarge("Request", int(r.ContentLength), payloadMax)))
		return
	}
	var onBehalfOf *Identity
	if id, _, ok := s.ids.authenticate(r); ok {
		onBehalfOf = &id
	}
	allowed := true
	if a.Annotations.Bool(annotationCustomOptions) {
		if r.Method != http.MethodOptions {
			allowed = webAuthorized(a.Annotations, r, onBehalfOf)
		}
	} else {
		setWebCORS(w.Header(), r)
		if r.Method == http.MethodOptions {
			w.WriteHeader(http.StatusOK)
			return
		}
		allowed = webAuthorized(a.Annotations, r, onBehalfOf)
	}
	if !allowed {
		webFail(w, r, newError(http.StatusUnauthorized, msgAuthMissing))
		return
	}
	raw := a.Annotations.Bool(annotationRawHTTP)
	bodyBytes, err := readBody(r, payloadMax, "Request")
	if err != nil {
		webFail(w, r, err)
		return
	}
	body, err := webBody(r, bodyBytes, raw)
	if err != nil {
		webFail(w, r, err)
		return
	}
	args := map[string]json.RawMessage{}
	set := func(k string, v any) {
		b, _ := json.Marshal(v)
		args[k] = b
	}
	set(owMethod, strings.ToLower(r.Method))
	hdrs := requestHeaders(r)
	if ct := r.Header.Get("Content-Type"); ct == "" && len(bodyBytes) > 0 {
		hdrs["content-type"] = "application/octet-stream"
	}
	set(owHeaders, hdrs)
	set(owPath, extraPath)
	if onBehalfOf != nil {
		set(owUser, onBehalfOf.Namespace)
	}
	if raw {
		set(owQuery, r.URL.RawQuery)
		if body == nil {
			set(owBody, "")
		} else {
			args[owBody] = body
		}
	} else {
		request := map[string]json.RawMessage{}
		for k, vs := range r.URL.Query() {
			b, _ := json.Marshal(vs[len(vs)-1])
			request[k] = b
		}
		var obj map[string]json.RawMessage
		if body != nil {
			if json.Unmarshal(body, &obj) == nil && obj != nil {
				for k, v := range obj {
					request[k] = v
				}
			} else {
				request[owBody] = body
			}
		}
		if err := checkFinal(ra, request, owReserved...); err != nil {
			webFail(w, r, err)
			return
		}
		for k, v := range request {
			args[k] = v
		}
	}
	_, done, err := s.launch(invocation{caller: owner, ra: ra, payload: args, tid: transactionID(r), received: received})
	if err != nil {
		webFail(w, r, err)
		return
	}
	timer := time.NewTimer(s.cfg.MaxBlockingWait)
	defer timer.Stop()
	var rec *Activation
	select {
	case rec = <-done:
	case <-timer.C:
		webFail(w, r, newError(http.StatusAccepted, msgResponseNotReady))
		return
	case <-r.Context().Done():
		return
	}
	w.Header().Set(headerActivationID, rec.ActivationID)
	result := rec.Response.Result
	switch rec.Response.statusCode {
	case statusSuccess:
	case statusApplicationError:
		var obj map[string]json.RawMessage
		_ = json.Unmarshal(result, &obj)
		e, ok := obj["error"]
		if !ok {
			webFail(w, r, newError(http.StatusNotFound, msgPropertyNotFound))
			return
		}
		result = e
	default:
		webFail(w, r, newError(http.StatusBadRequest, msgErrorProcessing))
		return
	}
	switch ext {
	case ".json":
		webJSON(w, r, result)
	case ".html":
		webField(w, r, result, "html", "text/html; charset=UTF-8", "text/html")
	case ".svg":
		webField(w, r, result, "svg", "image/svg+xml", "image/svg+xml")
	case ".text":
		webText(w, r, result)
	default:
		webHTTP(w, r, result)
	}
}

// webAuthorized applies the require-whisk-auth annotation.
func webAuthorized(ann Params, r *http.Request, user *Identity) bool {
	v, ok := ann.Get(annotationRequireAuth)
	if !ok {
		return true
	}
	var x any
	if err := json.Unmarshal(v, &x); err != nil {
		return false
	}
	switch t := x.(type) {
	case string:
		return r.Header.Get("X-Require-Whisk-Auth") == t
	case float64:
		return r.Header.Get("X-Require-Whisk-Auth") == string(v)
	case bool:
		return !t || user != nil
	}
	return false
}

// webBody turns the request entity into an argument value: parsed JSON or
// form fields unless raw, base64 for binary (and, raw, JSON) types, else text.
func webBody(r *http.Request, b []byte, raw bool) (json.RawMessage, error) {
	if len(b) == 0 {
		return nil, nil
	}
	ct := r.Header.Get("Content-Type")
	if ct == "" {
		ct = "application/octet-stream"
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return nil, newError(http.StatusBadRequest, msgUnsupportedContent)
	}
	switch {
	case jsonFamily(mt) && !raw:
		var v any
		if err := json.Unmarshal(b, &v); err != nil {
			return nil, malformed("%s", err.Error())
		}
		return compactJSON(b), nil
	case mt == "application/x-www-form-urlencoded" && !raw:
		vals, err := url.ParseQuery(string(b))
		if err != nil {
			return nil, malformed("%s", err.Error())
		}
		m := map[string]string{}
		for k, vs := range vals {
			m[k] = vs[len(vs)-1]
		}
		out, _ := json.Marshal(m)
		return out, nil
	case binaryMedia(mt) || mt == "application/json":
		out, _ := json.Marshal(base64.StdEncoding.EncodeToString(b))
		return out, nil
	default:
		out, _ := json.Marshal(string(b))
		return out, nil
	}
}

func jsonFamily(mt string) bool {
	return mt == "application/json" || strings.HasSuffix(mt, "+json")
}

// binaryMedia tells binary media types from textual ones, as the HTTP
// layer of the controller does.
func binaryMedia(mt string) bool {
	switch {
	case strings.HasPrefix(mt, "text/"), jsonFamily(mt), strings.HasSuffix(mt, "+xml"):
		return false
	}
	switch mt {
	case "application/xml", "application/javascript", "application/ecmascript", "application/x-www-form-urlencoded",
		"application/x-javascript", "application/xhtml+xml", "application/rss+xml", "application/soap+xml":
		return false
	}
	return true
}

func webJSON(w http.ResponseWriter, r *http.Request, result json.RawMessage) {
	t := strings.TrimSpace(string(result))
	if !strings.HasPrefix(t, "{") && !strings.HasPrefix(t, "[") {
		webFail(w, r, newError(http.StatusBadRequest, "Response is not valid 'application/json'."))
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(result)
}

// webField serves .html and .svg: the body (or named) string field.
func webField(w http.ResponseWriter, r *http.Request, result json.RawMessage, field, ct, media string) {
	v := result
	var obj map[string]json.RawMessage
	if json.Unmarshal(result, &obj) == nil && obj != nil {
		v = obj["body"]
		if v == nil {
			v = obj[field]
		}
	}
	var s string
	if v == nil || json.Unmarshal(v, &s) != nil {
		webFail(w, r, newError(http.StatusBadRequest, fmt.Sprintf("Response is not valid '%s'.", media)))
		return
	}
	w.Header().Set("Content-Type", ct)
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write([]byte(s))
}

func webText(w http.ResponseWriter, r *http.Request, result json.RawMessage) {
	v := result
	var obj map[string]json.RawMessage
	if json.Unmarshal(result, &obj) == nil && obj != nil {
		v = obj["body"]
		if v == nil {
			v = obj["text"]
		}
		if v == nil {
			webFail(w, r, newError(http.StatusNotFound, msgPropertyNotFound))
			return
		}
	}
	var out string
	var x any
	_ = json.Unmarshal(v, &x)
	switch t := x.(type) {
	case string:
		out = t
	case map[string]any, []any:
		b, _ := json.MarshalIndent(t, "", "  ")
		out = string(b)
	default:
		out = strings.TrimSpace(string(v))
	}
	w.Header().Set("Content-Type", "text/plain; charset=UTF-8")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write([]byte(out))
}

// webHTTP serves .http: {statusCode?, headers?, body?}.
func webHTTP(w http.ResponseWriter, r *http.Request, result json.RawMessage) {
	invalid := func() { webFail(w, r, newError(http.StatusBadRequest, "Response is not valid 'message/http'.")) }
	var obj map[string]json.RawMessage
	if json.Unmarshal(result, &obj) != nil || obj == nil {
		invalid()
		return
	}
	headers := http.Header{}
	if hv, ok := obj["headers"]; ok {
		var hm map[string]any
		if json.Unmarshal(hv, &hm) != nil || hm == nil {
			invalid()
			return
		}
		for k, v := range hm {
			vals, ok := headerValues(v)
			if !ok {
				invalid()
				return
			}
			for _, s := range vals {
				headers.Add(k, s)
			}
		}
	}
	code := 0
	if cv, ok := obj["statusCode"]; ok {
		var n json.Number
		var str string
		switch {
		case json.Unmarshal(cv, &n) == nil:
			i, err := strconv.Atoi(n.String())
			if err != nil {
				invalid()
				return
			}
			code = i
		case json.Unmarshal(cv, &str) == nil:
			i, err := strconv.Atoi(str)
			if err != nil {
				invalid()
				return
			}
			code = i
		default:
			invalid()
			return
		}
		if code < 100 || code > 599 {
			invalid()
			return
		}
	}
	ct := headers.Get("Content-Type")
	headers.Del("Content-Type")
	for k, vs := range headers {
		w.Header()[k] = vs
	}
	body, hasBody := obj["body"]
	var str string
	isString := hasBody && json.Unmarshal(body, &str) == nil
	switch {
	case !hasBody || string(body) == "null" || (isString && str == ""):
		if code == 0 {
			code = http.StatusNoContent
		}
		w.WriteHeader(code)
	case isString:
		if ct == "" {
			ct = "text/html"
		}
		mt, params, err := mime.ParseMediaType(ct)
		if err != nil {
			webFail(w, r, newError(http.StatusBadRequest, msgHTTPUnknownType))
			return
		}
		var data []byte
		switch {
		case jsonFamily(mt) && isBinaryCode(str):
			data, err = base64.StdEncoding.DecodeString(strings.TrimSpace(str))
		case !binaryMedia(mt):
			data = []byte(str)
			if _, ok := params["charset"]; !ok {
				params["charset"] = "UTF-8"
			}
		default:
			data, err = base64.StdEncoding.DecodeString(strings.TrimSpace(str))
		}
		if err != nil {
			webFail(w, r, newError(http.StatusBadRequest, msgHTTPTypeMismatch))
			return
		}
		if code == 0 {
			code = http.StatusOK
		}
		w.Header().Set("Content-Type", mime.FormatMediaType(mt, params))
		w.WriteHeader(code)
		_, _ = w.Write(data)
	default:
		if ct == "" {
			ct = "application/json"
		}
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil {
			webFail(w, r, newError(http.StatusBadRequest, msgHTTPUnknownType))
			return
		}
		if !jsonFamily(mt) {
			webFail(w, r, newError(http.StatusBadRequest, msgHTTPTypeMismatch))
			return
		}
		if code == 0 {
			code = http.StatusOK
		}
		out := []byte(body)
		if mt != "application/json" {
			var x any
			_ = json.Unmarshal(body, &x)
			out, _ = json.MarshalIndent(x, "", "  ")
			ct = mt + "; charset=UTF-8"
		} else {
			ct = "application/json"
		}
		w.Header().Set("Content-Type", ct)
		w.WriteHeader(code)
		_, _ = w.Write(out)
	}
}

func headerValues(v any) ([]string, bool) {
	switch t := v.(type) {
	case string:
		return []string{t}, true
	case bool:
		return []string{strconv.FormatBool(t)}, true
	case float64:
		return []string{strconv.FormatFloat(t, 'f', -1, 64)}, true
	case []any:
		var out []string
		for _, e := range t {
			vs, ok := headerValues(e)
			if !ok {
				return nil, false
			}
			out = append(out, vs...)
		}
		return out, true
	}
	return nil, false
}
