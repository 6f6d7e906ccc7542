package api

import _ "embed"

//go:embed openapi.yaml
var spec []byte

// Spec returns the OpenAPI document (YAML) this package was generated
// from. The server validates requests against it and serves it at
// /openapi.yaml.
func Spec() []byte { return spec }
