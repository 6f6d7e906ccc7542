package server

import (
	"errors"
	"fmt"
	"maps"
	"net/http"
	"regexp"
	"slices"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/go-chi/chi/v5"

	"github.com/velocitty/microvm/api"
	"github.com/velocitty/microvm/server/internal/gen"
)

// profileMediaType is the raw .ovpn upload accepted by PUT
// /v1/vpn/profiles/{name}.
const profileMediaType = "application/x-openvpn-profile"

func init() {
	openapi3filter.RegisterBodyDecoder(profileMediaType, openapi3filter.RegisteredBodyDecoder("text/plain"))
}

// loadSpec parses and checks the embedded OpenAPI document.
func loadSpec() (*openapi3.T, error) {
	doc, err := openapi3.NewLoader().LoadFromData(api.Spec())
	if err != nil {
		return nil, fmt.Errorf("load openapi spec: %w", err)
	}
	if err := doc.Validate(openapi3.NewLoader().Context); err != nil {
		return nil, fmt.Errorf("validate openapi spec: %w", err)
	}
	return doc, nil
}

// validator checks requests against the spec. It runs after chi has
// routed the request, so it finds the operation by chi's route pattern
// in a map built once instead of matching the path again.
type validator struct {
	routes map[string]*routers.Route // "GET /v1/vms/{name}"
	opts   *openapi3filter.Options
}

func newValidator(doc *openapi3.T) *validator {
	v := &validator{
		routes: make(map[string]*routers.Route),
		opts: &openapi3filter.Options{
			AuthenticationFunc:  openapi3filter.NoopAuthenticationFunc, // the guard checks the token first
			SkipSettingDefaults: true,                                  // handlers treat absent as default
		},
	}
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			v.routes[method+" "+path] = &routers.Route{
				Spec: doc, Path: path, PathItem: item, Method: method, Operation: op,
			}
		}
	}
	return v
}

func (v *validator) middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rc := chi.RouteContext(r.Context())
		route := v.routes[r.Method+" "+rc.RoutePattern()]
		if route == nil {
			// Every generated route is in the spec; a test checks it.
			writeProblem(w, r, newProblem(http.StatusInternalServerError, codeInternal,
				"no specification for this route"))
			return
		}
		params := make(map[string]string, len(rc.URLParams.Keys))
		for i, k := range rc.URLParams.Keys {
			params[k] = rc.URLParams.Values[i]
		}
		in := &openapi3filter.RequestValidationInput{
			Request: r, PathParams: params, Route: route, Options: v.opts,
		}
		if err := openapi3filter.ValidateRequest(r.Context(), in); err != nil {
			writeProblem(w, r, validationProblem(err))
			return
		}
		next.ServeHTTP(w, r)
	})
}

var unsupportedMember = regexp.MustCompile(`^property "(.*)" is unsupported$`)

// validationProblem turns a kin-openapi validation error into a 400 (or
// 413, 415) problem naming the parameter or body member at fault. A body
// that is a single string over its maxLength is a 413. It never
// quotes the offending value, which may be a secret.
func validationProblem(err error) *api.Problem {
	var (
		reqErr   *openapi3filter.RequestError
		schema   *openapi3.SchemaError
		tooLarge *http.MaxBytesError
	)
	if errors.As(err, &tooLarge) {
		return newProblem(http.StatusRequestEntityTooLarge, codeTooLarge,
			fmt.Sprintf("the request body exceeds %d bytes", tooLarge.Limit))
	}
	if !errors.As(err, &reqErr) {
		return newProblem(http.StatusBadRequest, codeInvalid, "the request does not match the API")
	}
	field, reason := "", reqErr.Reason
	if errors.As(err, &schema) {
		field, reason = strings.Join(schema.JSONPointer(), "."), schema.Reason
		if m := unsupportedMember.FindStringSubmatch(schema.Reason); m != nil {
			field = strings.TrimPrefix(field+"."+m[1], ".")
			reason = "unknown member"
		}
	}
	if reqErr.RequestBody != nil && schema != nil && schema.SchemaField == "maxLength" &&
		len(schema.JSONPointer()) == 0 && schema.Schema != nil && schema.Schema.MaxLength != nil {
		// The body is one string, a raw profile upload: past its limit the
		// request content itself is too large, as vpn.Parse would say.
		return newProblem(http.StatusRequestEntityTooLarge, codeTooLarge,
			fmt.Sprintf("the request body is longer than %d characters", *schema.Schema.MaxLength))
	}
	switch {
	case reqErr.Parameter != nil:
		field = reqErr.Parameter.Name
		if reason == "" && reqErr.Err != nil {
			reason = reqErr.Err.Error()
		}
	case reqErr.RequestBody != nil:
		if strings.HasPrefix(reqErr.Reason, "header Content-Type has unexpected value") {
			accepted := slices.Sorted(maps.Keys(reqErr.RequestBody.Content))
			return newProblem(http.StatusUnsupportedMediaType, codeUnsupportedMedia,
				"the request's Content-Type is not accepted; send "+strings.Join(accepted, " or "))
		}
		if errors.Is(err, openapi3filter.ErrInvalidRequired) {
			reason = "a request body is required"
		} else if schema == nil {
			reason = "the request body is not valid JSON"
		}
	}
	detail := reason
	if field != "" {
		detail = field + ": " + reason
	}
	p := newProblem(http.StatusBadRequest, codeInvalid, detail)
	p.Field = field
	return p
}

// paramProblem handles the generated router's parameter binding errors.
func paramProblem(err error) *api.Problem {
	var (
		format   *gen.InvalidParamFormatError
		required *gen.RequiredParamError
		many     *gen.TooManyValuesForParamError
		field    string
	)
	switch {
	case errors.As(err, &format):
		field = format.ParamName
	case errors.As(err, &required):
		field = required.ParamName
	case errors.As(err, &many):
		field = many.ParamName
	}
	detail := "a parameter is malformed"
	if field != "" {
		detail = field + ": malformed or repeated parameter"
	}
	p := newProblem(http.StatusBadRequest, codeInvalid, detail)
	p.Field = field
	return p
}

// decodeProblem handles the strict server's body decoding errors, which
// only malformed bodies that passed validation can cause.
func decodeProblem(err error) *api.Problem {
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return newProblem(http.StatusRequestEntityTooLarge, codeTooLarge,
			fmt.Sprintf("the request body exceeds %d bytes", tooLarge.Limit))
	}
	return newProblem(http.StatusBadRequest, codeInvalid, "the request body could not be decoded")
}
