package vpn

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

func TestSummary(t *testing.T) {
	pki := newTestPKI(t)
	s := mustParse(t, pki.fullProfile()).Summary()
	want := []Remote{
		{Host: "vpn1.example.net", Port: 1194, Proto: "udp"},
		{Host: "198.51.100.7", Port: 443, Proto: "tcp"},
	}
	if !reflect.DeepEqual(s.Remotes, want) {
		t.Errorf("Remotes = %+v, want %+v", s.Remotes, want)
	}
	if s.Proto != "udp" || s.Dev != "tun" || s.Cipher != "AES-256-GCM" || s.Auth != "SHA256" {
		t.Errorf("proto/dev/cipher/auth = %q %q %q %q", s.Proto, s.Dev, s.Cipher, s.Auth)
	}
	if got := strings.Join(s.DataCiphers, ","); got != "AES-256-GCM,AES-128-GCM,CHACHA20-POLY1305" {
		t.Errorf("DataCiphers = %q", got)
	}
	if !s.HasCA || !s.HasCert || !s.HasKey || !s.HasTLSCrypt || s.HasTLSAuth || s.HasPKCS12 || !s.AuthUserPass {
		t.Errorf("flags = %+v", s)
	}
	if len(s.CA) != 1 || s.CA[0].Subject != "CN=Test VPN CA,O=Example" || !s.CA[0].NotAfter.Equal(pki.notAfter) {
		t.Errorf("CA = %+v", s.CA)
	}
	if s.Cert == nil || s.Cert.Subject != "CN=alice" || s.Cert.Issuer != "CN=Test VPN CA,O=Example" {
		t.Errorf("Cert = %+v", s.Cert)
	}

	if got := strings.Join(s.CertificateSubjects, "|"); got != "CN=Test VPN CA,O=Example|CN=alice" {
		t.Errorf("CertificateSubjects = %q", got)
	}

	out, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{"PRIVATE KEY", pki.keyPEM[40:80], "Static key", pki.staticKey[100:140]} {
		if strings.Contains(string(out), secret) {
			t.Errorf("summary JSON carries %q", secret)
		}
	}
}

func TestSummaryDefaultsAndGarbage(t *testing.T) {
	s := mustParse(t, "client\ndev tun\nproto tcp\nport 443\nremote a\nremote b 80 udp\n"+
		"<tls-auth>\nAAAA\n</tls-auth>\n<ca>\n-----BEGIN CERTIFICATE-----\nnot base64!\n-----END CERTIFICATE-----\n</ca>\n"+
		"<cert>\ngarbage\n</cert>\n<key>\ngarbage\n</key>\n").Summary()
	want := []Remote{{Host: "a", Port: 443, Proto: "tcp"}, {Host: "b", Port: 80, Proto: "udp"}}
	if !reflect.DeepEqual(s.Remotes, want) {
		t.Errorf("Remotes = %+v, want %+v", s.Remotes, want)
	}
	if !s.HasCA || len(s.CA) != 0 || s.Cert != nil || !s.HasTLSAuth || s.AuthUserPass || s.CertificateSubjects == nil {
		t.Errorf("summary = %+v", s)
	}
}

func TestSummaryIsACopy(t *testing.T) {
	c := mustParse(t, newTestPKI(t).fullProfile())
	s := c.Summary()
	s.Remotes[0].Host = "changed"
	s.Cert.Subject = "changed"
	if again := c.Summary(); again.Remotes[0].Host == "changed" || again.Cert.Subject == "changed" {
		t.Error("Summary shares memory with the Config")
	}
}
