package api

// The Go code of the API is generated from openapi.yaml with the
// oapi-codegen pinned in go.mod; regenerate after editing the spec with
//
//	go generate ./api/...
//
// models.cfg.yaml writes the types into this package; server.cfg.yaml the
// strict chi server into server/internal/gen; client.cfg.yaml the HTTP
// client into client/internal/gen. Both of those dot-import this package,
// so the server and the client share these types without importing each
// other.

//go:generate go tool oapi-codegen -config models.cfg.yaml openapi.yaml
//go:generate go tool oapi-codegen -config server.cfg.yaml openapi.yaml
//go:generate go tool oapi-codegen -config client.cfg.yaml openapi.yaml
