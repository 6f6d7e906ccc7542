//go:build e2e && linux

package e2e

import (
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// hostileNames are invalid as VM names and as profile names alike: path
// traversal, separators, control characters, bidi and zero-width
// characters, look-alikes, other normalization forms, and lengths past
// both limits.
var hostileNames = []string{
	"", ".", "..", "../x", "../../x", "./x", "a/b", `a\b`, `..\x`, "/etc/passwd", "~", "-a", ".hidden", "a..b",
	"a\x00b", "\x00", "a\nb", "a\rb", "a\tb", "\x1b[31mx", "a\x7fb", "a\xffb", "a b", "a%2Fb", "a?b", "a#b", "a:b", "a*b",
	"a\u202eb", "a\u200db", "a\u200bb", "\ufeffa", "\U0001F600", "\uff41", "\uff0e\uff0e", "\uff0e\uff0e\uff0fx", "\u2024\u2024",
	"caf\u00e9", "cafe\u0301", "\u0130", "con.txt",
	strings.Repeat("a", 65), strings.Repeat("a", 4096),
}

// hostileSegments are spelled into URL paths as they are, beside the
// escaped hostileNames: traversal the router might clean, and encodings
// a decoder might turn into a separator or a dot.
var hostileSegments = []string{
	"..", "../x", "../../v1/vms", "a/b", "%2e%2e", "%2e%2e%2f", "..%2f..%2fx", "a%2Fb", "a%5Cb", ".%00.", "%c0%ae%c0%ae", "%e2%80%ae",
}

// testProfile is a profile the parser accepts, so that a refusal is about
// the name alone.
const testProfile = "client\ndev tun\nremote vpn.example.net 1194\nauth-user-pass\n<ca>\n-----BEGIN CERTIFICATE-----\nbm90IGEgcmVhbCBjZXJ0aWZpY2F0ZQ==\n-----END CERTIFICATE-----\n</ca>\n"

// stableCodes are the problem codes api/openapi.yaml documents.
var stableCodes = map[string]bool{
	"invalid_request": true, "unauthorized": true, "forbidden_origin": true, "not_found": true,
	"method_not_allowed": true, "invalid_state": true, "already_exists": true, "conflict": true,
	"precondition_failed": true, "too_large": true, "unsupported_media_type": true, "misdirected_request": true,
	"profile_directive_refused": true,
}

// TestHostileNames sends every hostile name to every operation that takes
// a VM or profile name, in the URL path and in JSON bodies, and proves
// that each gets a 4xx problem with a documented code and that nothing
// appears, changes or disappears on disk (the data dir and its parent are
// compared before and after). Valid names in the same requests succeed,
// so the refusals are about the names; profile names differing only in
// case clash.
func TestHostileNames(t *testing.T) {
	bin := binDir(t)
	root := t.TempDir()
	dataDir := filepath.Join(root, "outer", "data")
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		t.Fatal(err)
	}
	d := startDaemon(t, bin, dataDir)
	before := tree(t, root)

	codes := codeCounts{}
	requests := 0
	check := func(what string, a rawAnswer) {
		t.Helper()
		requests++
		p := problemOf(t, what, a, 400, 404, 405, 409)
		if p.Code != "" && !stableCodes[p.Code] {
			t.Errorf("%s: undocumented code %q", what, p.Code)
		}
		codes[p.Code]++
	}
	segments := append([]string(nil), hostileSegments...)
	for _, n := range hostileNames {
		if n != "" { // an empty segment is another route, tried below
			segments = append(segments, url.PathEscape(n))
		}
	}
	segments = append(segments, "") // "/v1/vms/" and "/v1/vpn/profiles/"
	for _, seg := range segments {
		for _, r := range nameRoutes(d, seg) {
			check(fmt.Sprintf("%s %q", r.Method, r.Target), d.do(t, r))
		}
	}
	for _, n := range hostileNames {
		name := jsonString(n)
		for _, r := range []rawRequest{
			jsonRequest(d, "POST", "/v1/vms", `{"name":`+name+`,"backend":"linux"}`),
			jsonRequest(d, "POST", "/v1/vpn/profiles", `{"name":`+name+`,"config":`+jsonString(testProfile)+`}`),
			jsonRequest(d, "PUT", "/v1/vpn/profiles/fine", `{"name":`+name+`,"config":`+jsonString(testProfile)+`}`),
			jsonRequest(d, "PUT", "/v1/vms/default/vpn", `{"profile":`+name+`}`),
		} {
			check(fmt.Sprintf("%s %s with name %q", r.Method, r.Target, n), d.do(t, r))
		}
	}
	sameTree(t, before, tree(t, root))
	observe(t, "%d requests with %d hostile names and %d raw path segments: %v; the disk compared before and after (%d entries)",
		requests, len(hostileNames), len(hostileSegments), codes, len(before))

	// The same requests with valid names succeed, and deleting puts the
	// disk back as it was.
	for _, r := range []rawRequest{
		jsonRequest(d, "POST", "/v1/vms", `{"name":"fine-1","backend":"linux"}`),
		jsonRequest(d, "POST", "/v1/vpn/profiles", `{"name":"fine-1","config":`+jsonString(testProfile)+`}`),
		jsonRequest(d, "PUT", "/v1/vpn/profiles/fine", `{"name":"fine","config":`+jsonString(testProfile)+`}`),
		{Method: "PUT", Target: "/v1/vpn/profiles/Fine.2_x", Header: []string{d.authed(), "Content-Type: application/x-openvpn-profile"}, Body: []byte(testProfile)},
	} {
		if a := d.do(t, r); a.Status != 201 {
			t.Fatalf("%s %s with a valid name: %d %s", r.Method, r.Target, a.Status, a.Body)
		}
	}
	// Profile names differing only in case clash (they would be one file
	// on Windows and macOS).
	for _, r := range []rawRequest{
		jsonRequest(d, "POST", "/v1/vpn/profiles", `{"name":"FINE-1","config":`+jsonString(testProfile)+`}`),
		{Method: "PUT", Target: "/v1/vpn/profiles/fine.2_X", Header: []string{d.authed(), "Content-Type: application/x-openvpn-profile"}, Body: []byte(testProfile)},
	} {
		if p := problemOf(t, r.Method+" "+r.Target, d.do(t, r), 409); p.Code != "already_exists" {
			t.Errorf("%s %s differing only in case: code %q, want already_exists", r.Method, r.Target, p.Code)
		}
	}
	for _, target := range []string{"/v1/vms/fine-1", "/v1/vpn/profiles/fine-1", "/v1/vpn/profiles/fine", "/v1/vpn/profiles/Fine.2_x"} {
		if a := d.do(t, rawRequest{Method: "DELETE", Target: target, Header: []string{d.authed()}}); a.Status != 204 {
			t.Fatalf("DELETE %s: %d %s", target, a.Status, a.Body)
		}
	}
	sameTree(t, before, tree(t, root))
}

// nameRoutes are the operations taking a name in the path, with seg as
// the name.
func nameRoutes(d *daemon, seg string) []rawRequest {
	vm, prof := "/v1/vms/"+seg, "/v1/vpn/profiles/"+seg
	ws := []string{d.authed(), "Connection: Upgrade", "Upgrade: websocket", "Sec-WebSocket-Version: 13",
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==", "Sec-WebSocket-Protocol: microvm.shell.v1"}
	return []rawRequest{
		{Method: "GET", Target: vm, Header: []string{d.authed()}},
		{Method: "DELETE", Target: vm, Header: []string{d.authed()}},
		{Method: "POST", Target: vm + "/start", Header: []string{d.authed()}},
		{Method: "POST", Target: vm + "/stop", Header: []string{d.authed()}},
		jsonRequest(d, "POST", vm+"/exec", `{"argv":["true"]}`),
		{Method: "GET", Target: vm + "/logs", Header: []string{d.authed()}},
		{Method: "GET", Target: vm + "/shell", Header: ws},
		{Method: "GET", Target: vm + "/vpn", Header: []string{d.authed()}},
		jsonRequest(d, "PUT", vm+"/vpn", `{"profile":"fine"}`),
		{Method: "GET", Target: prof, Header: []string{d.authed()}},
		{Method: "DELETE", Target: prof, Header: []string{d.authed()}},
		{Method: "PUT", Target: prof, Header: []string{d.authed(), "Content-Type: application/x-openvpn-profile"}, Body: []byte(testProfile)},
		jsonRequest(d, "PUT", prof, `{"config":`+jsonString(testProfile)+`}`),
	}
}

func jsonRequest(d *daemon, method, target, body string) rawRequest {
	return rawRequest{Method: method, Target: target, Header: []string{d.authed(), "Content-Type: application/json"}, Body: []byte(body)}
}

// jsonString quotes s as a JSON string; invalid UTF-8 is kept as raw
// bytes rather than replaced, as a hostile client would send it.
func jsonString(s string) string {
	if !utf8.ValidString(s) {
		return `"` + s + `"` // hostileNames' invalid one has no quote or backslash
	}
	b, err := json.Marshal(s)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// TestHostileBodies sends bodies past the daemon's limits, declared and
// undeclared (chunked), and bodies built to be expensive to decode, and
// proves that each gets its problem (413 too_large past the 1 MiB body
// cap, and for a raw profile past its 256 KiB), that nothing is stored,
// and that the daemon keeps answering.
func TestHostileBodies(t *testing.T) {
	bin := binDir(t)
	d := startDaemon(t, bin, t.TempDir())
	rssBefore, err := sampleProc(d.cmd.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	const limit = 1 << 20
	big := strings.Repeat("# padding line of a profile that is far too long\n", limit/49+1)
	profileHeader := []string{d.authed(), "Content-Type: application/x-openvpn-profile"}
	cases := []struct {
		what   string
		req    rawRequest
		status int
		code   string
	}{
		{"raw profile over the cap", rawRequest{Method: "PUT", Target: "/v1/vpn/profiles/big", Header: profileHeader, Body: []byte(big)}, 413, "too_large"},
		{"raw profile over the cap, chunked", rawRequest{Method: "PUT", Target: "/v1/vpn/profiles/big", Header: profileHeader, Body: []byte(big), Chunked: true}, 413, "too_large"},
		{"JSON profile over the cap", jsonRequest(d, "POST", "/v1/vpn/profiles", `{"name":"big","config":`+jsonString(big)+`}`), 413, "too_large"},
		{"JSON VM over the cap, chunked", rawRequest{Method: "POST", Target: "/v1/vms", Header: []string{d.authed(), "Content-Type: application/json"},
			Body: []byte(`{"name":"big","x":"` + strings.Repeat("x", 2*limit) + `"}`), Chunked: true}, 413, "too_large"},
		{"exec over the cap", jsonRequest(d, "POST", "/v1/vms/default/exec", `{"argv":["true"],"stdin":"`+strings.Repeat("y", limit)+`"}`), 413, "too_large"},
		{"declared 10 GiB, sent nothing", rawRequest{Method: "POST", Target: "/v1/vms", Header: []string{d.authed(), "Content-Type: application/json", "Content-Length: 10737418240"}}, 413, "too_large"},
		// Under the body cap but over the profile's own limit (256 KiB):
		// a raw upload is too large; in JSON, the member is invalid.
		{"raw profile over 256 KiB", rawRequest{Method: "PUT", Target: "/v1/vpn/profiles/big", Header: profileHeader, Body: []byte(big[:256<<10+1])}, 413, "too_large"},
		{"JSON profile over 256 KiB", jsonRequest(d, "POST", "/v1/vpn/profiles", `{"name":"big","config":`+jsonString(big[:256<<10+1])+`}`), 400, "invalid_request"},
		{"JSON nested 400000 deep", jsonRequest(d, "POST", "/v1/vms", `{"name":`+strings.Repeat("[", 400000)+strings.Repeat("]", 400000)+`}`), 400, "invalid_request"},
		{"JSON with 60000 members", jsonRequest(d, "POST", "/v1/vms", `{"name":"big"`+strings.Repeat(`,"m":0`, 60000)+`}`), 400, "invalid_request"},
		{"exec with 100000 arguments", jsonRequest(d, "POST", "/v1/vms/default/exec", `{"argv":["true"`+strings.Repeat(`,"a"`, 100000)+`]}`), 400, "invalid_request"},
	}
	var slowest time.Duration
	for _, c := range cases {
		began := time.Now()
		a := d.do(t, c.req)
		slowest = max(slowest, time.Since(began))
		if p := problemOf(t, c.what, a, c.status); p.Code != c.code {
			t.Errorf("%s: code %q, want %q (%s)", c.what, p.Code, c.code, p.Detail)
		}
		if a := d.do(t, rawRequest{Method: "GET", Target: "/v1/health"}); a.Status != 200 {
			t.Fatalf("after %s: health %d %s", c.what, a.Status, a.Body)
		}
	}
	if a := d.do(t, rawRequest{Method: "GET", Target: "/v1/vpn/profiles", Header: []string{d.authed()}}); a.Status != 200 || strings.Contains(string(a.Body), `"big"`) {
		t.Errorf("profiles after the refused bodies: %d %s", a.Status, a.Body)
	}
	if code, body := d.curl("GET", "/v1/vms/big", ""); code != 404 {
		t.Errorf("VM from a refused body: %d %s", code, body)
	}
	if d.exited() {
		t.Fatal("the daemon exited")
	}
	rssAfter, err := sampleProc(d.cmd.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	observe(t, "%d oversized or costly bodies refused (413 past the 1 MiB cap or a raw profile past 256 KiB, 400 past a member's or the schema's limits), the slowest answer in %v; the daemon kept answering, RSS %s before, %s after",
		len(cases), slowest.Round(time.Millisecond), mib(rssBefore.RSS), mib(rssAfter.RSS))
}
