package server_test

import (
	"strings"
	"testing"
)

// TestProfileUploadLimit checks that a raw profile past the spec's
// maxLength, though under the body cap, is refused as too large, like a
// body past the cap, while the same text as a JSON member is an invalid
// member naming its field.
func TestProfileUploadLimit(t *testing.T) {
	e := newEnv(t)
	big := strings.Repeat("# a comment line of a profile\n", 262144/30+1)

	req := e.request("PUT", "/v1/vpn/profiles/big", big)
	req.Header.Set("Content-Type", "application/x-openvpn-profile")
	resp, body := e.do(req)
	if p := problem(t, resp, body, 413, "too_large"); !strings.Contains(p.Detail, "262144") {
		t.Fatalf("detail does not name the limit: %q", p.Detail)
	}

	resp, body = e.call("POST", "/v1/vpn/profiles", `{"name":"big","config":"`+strings.ReplaceAll(big, "\n", `\n`)+`"}`)
	if p := problem(t, resp, body, 400, "invalid_request"); p.Field != "config" {
		t.Fatalf("field = %q, want config", p.Field)
	}
	if resp, body = e.call("GET", "/v1/vpn/profiles/big", ""); resp.StatusCode != 404 {
		t.Fatalf("refused profile was stored: %d %s", resp.StatusCode, body)
	}
}
