package server_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/velocitty/microvm/api"
)

// testProfile returns a minimal client profile with an inline CA.
func testProfile(t *testing.T) string {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "Test VPN CA"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IsCA:                  true,
		KeyUsage:              x509.KeyUsageCertSign,
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	ca := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	return "client\ndev tun\nproto udp\nremote vpn.example.com 1194\nauth-user-pass\n<ca>\n" + string(ca) + "</ca>\n"
}

func TestProfiles(t *testing.T) {
	e := newEnv(t)
	profile := testProfile(t)
	body, _ := json.Marshal(map[string]string{
		"name": "work", "config": profile, "username": "alice", "password": "hunter2-secret",
	})
	resp, b := e.call("POST", "/v1/vpn/profiles", string(body))
	p := decode[api.VPNProfile](t, resp, b, 201)
	if !p.HasUsername || !p.HasPassword || len(p.Summary.Remotes) != 1 || p.Summary.Remotes[0].Host != "vpn.example.com" ||
		len(p.Summary.CertificateSubjects) != 1 || !strings.Contains(p.Summary.CertificateSubjects[0], "Test VPN CA") {
		t.Fatalf("created = %+v", p)
	}
	if loc := resp.Header.Get("Location"); loc != "/v1/vpn/profiles/work" {
		t.Fatalf("Location = %q", loc)
	}
	if strings.Contains(string(b), "hunter2") || strings.Contains(string(b), "alice") {
		t.Fatalf("secret returned: %s", b)
	}
	resp, b = e.call("POST", "/v1/vpn/profiles", string(body))
	problem(t, resp, b, 409, "already_exists")

	// A raw upload replaces the config and keeps the credentials.
	req := e.request("PUT", "/v1/vpn/profiles/work", "")
	req.Body = nopBody(strings.Replace(profile, "1194", "443", 1))
	req.Header.Set("Content-Type", "application/x-openvpn-profile")
	resp, b = e.do(req)
	p = decode[api.VPNProfile](t, resp, b, 200)
	if p.Summary.Remotes[0].Port != 443 || !p.HasPassword {
		t.Fatalf("after raw PUT = %+v", p)
	}
	// A JSON PUT of a new name creates it; an empty password clears it.
	p = want[api.VPNProfile](e, 201, "PUT", "/v1/vpn/profiles/home", homeBody(profile))
	if p.Name != "home" || p.HasPassword {
		t.Fatalf("home = %+v", p)
	}
	resp, b = e.call("PUT", "/v1/vpn/profiles/home", `{"name":"other","config":"client\n"}`)
	if pr := problem(t, resp, b, 400, "invalid_request"); pr.Field != "name" {
		t.Fatalf("mismatched name: %+v", pr)
	}

	list := want[api.VPNProfileList](e, 200, "GET", "/v1/vpn/profiles", "")
	if len(list.Profiles) != 2 || list.Profiles[0].Name != "home" {
		t.Fatalf("list = %+v", list)
	}
	want[api.VPNProfile](e, 200, "GET", "/v1/vpn/profiles/work", "")
	if resp, _ := e.call("DELETE", "/v1/vpn/profiles/work", ""); resp.StatusCode != 204 {
		t.Fatalf("delete: %d", resp.StatusCode)
	}
	resp, b = e.call("GET", "/v1/vpn/profiles/work", "")
	problem(t, resp, b, 404, "not_found")
}

func TestProfileDirectiveRefused(t *testing.T) {
	e := newEnv(t)
	config := "client\nremote vpn.example.com 1194\nscript-security 2\nup /bin/evil\n" + testProfile(t)
	body, _ := json.Marshal(map[string]string{"name": "bad", "config": config})
	resp, b := e.call("POST", "/v1/vpn/profiles", string(body))
	p := problem(t, resp, b, 422, "profile_directive_refused")
	if p.Line != 3 || p.Directive != "script-security" {
		t.Fatalf("problem = %+v", p)
	}
	req := e.request("PUT", "/v1/vpn/profiles/bad", "")
	req.Body = nopBody("client\nplugin /lib/evil.so\n")
	req.Header.Set("Content-Type", "application/x-openvpn-profile")
	resp, b = e.do(req)
	if p := problem(t, resp, b, 422, "profile_directive_refused"); p.Line != 2 || p.Directive != "plugin" {
		t.Fatalf("problem = %+v", p)
	}
}

func homeBody(profile string) string {
	b, _ := json.Marshal(map[string]string{
		"config": strings.Replace(profile, "vpn.example.com", "home.example", 1), "password": "",
	})
	return string(b)
}
