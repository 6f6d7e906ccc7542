package servertest

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
)

// recorder collects the contract's complaints instead of failing.
type recorder struct {
	testing.TB
	errs []string
}

func (r *recorder) Errorf(format string, args ...any) {
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
}

func TestContractCatchesViolations(t *testing.T) {
	const vm = `{"name":"default","backend":"linux","state":"%s","socksAddress":"127.0.0.1:1080",` +
		`"agentAddress":"127.0.0.1:1025","createdAt":"2026-11-27T12:00:00Z","updatedAt":"2026-11-27T12:00:00Z"}`
	tests := []struct {
		name, ct, body string
		status         int
		bad            bool
	}{
		{"valid", "application/json", fmt.Sprintf(vm, "running"), 200, false},
		{"unknown state", "application/json", fmt.Sprintf(vm, "bogus"), 200, true},
		{"missing member", "application/json", `{"name":"default"}`, 200, true},
		{"plain text error", "text/plain", "oops", 500, true},
		{"problem", "application/problem+json", `{"type":"urn:microvm:problem:not_found","title":"Not found","status":404,"code":"not_found"}`, 404, false},
		{"problem without code", "application/problem+json", `{"title":"Not found","status":404}`, 404, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", tt.ct)
				w.WriteHeader(tt.status)
				io.WriteString(w, tt.body)
			}))
			defer ts.Close()
			rec := &recorder{TB: t}
			c := &http.Client{Transport: Contract(rec, nil)}
			resp, err := c.Get(ts.URL + "/v1/vms/default")
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if got := len(rec.errs) > 0; got != tt.bad {
				t.Fatalf("violation reported = %v, want %v: %v", got, tt.bad, rec.errs)
			}
		})
	}
}
