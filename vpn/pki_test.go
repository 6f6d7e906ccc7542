package vpn

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"math/big"
	"strings"
	"testing"
	"time"
)

// testPKI is a throw-away CA and client certificate made for one test.
type testPKI struct {
	caPEM, certPEM, keyPEM string
	staticKey              string // an OpenVPN static key, as for tls-crypt
	notAfter               time.Time
}

func newTestPKI(t testing.TB) testPKI {
	t.Helper()
	notAfter := time.Now().Add(48 * time.Hour).UTC().Truncate(time.Second)
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	caTmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "Test VPN CA", Organization: []string{"Example"}},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              notAfter,
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2),
		Subject:      pkix.Name{CommonName: "alice"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     notAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, caTmpl, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	secret := make([]byte, 256)
	if _, err := rand.Read(secret); err != nil {
		t.Fatal(err)
	}
	var sk strings.Builder
	sk.WriteString("#\n# 2048 bit OpenVPN static key\n#\n-----BEGIN OpenVPN Static key V1-----\n")
	for i := 0; i < len(secret); i += 16 {
		sk.WriteString(hex.EncodeToString(secret[i:i+16]) + "\n")
	}
	sk.WriteString("-----END OpenVPN Static key V1-----\n")
	return testPKI{
		caPEM:     string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER})),
		certPEM:   string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})),
		keyPEM:    string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})),
		staticKey: sk.String(),
		notAfter:  notAfter,
	}
}

// fullProfile is a realistic provider profile using every kind of block.
func (p testPKI) fullProfile() string {
	return `# Example provider profile
client
dev tun
proto udp
remote vpn1.example.net 1194
remote 198.51.100.7 443 tcp
remote-random
resolv-retry infinite
nobind
persist-key
persist-tun
remote-cert-tls server
verify-x509-name "C=US, O=Example, CN=vpn1.example.net" subject
cipher AES-256-GCM
data-ciphers AES-256-GCM:AES-128-GCM:CHACHA20-POLY1305
auth SHA256
tls-version-min 1.2
key-direction 1
auth-user-pass
auth-nocache
redirect-gateway def1 bypass-dhcp
dhcp-option DNS 10.8.0.1
route 10.20.0.0 255.255.0.0
route-ipv6 2001:db8::/32
pull-filter ignore "route-ipv6"
setenv opt block-outside-dns
compress stub-v2
keepalive 10 60
explicit-exit-notify 2
verb 3
mute 20
<ca>
` + p.caPEM + `</ca>
<cert>
` + p.certPEM + `</cert>
<key>
` + p.keyPEM + `</key>
<tls-crypt>
` + p.staticKey + `</tls-crypt>
`
}

// minimalProfile is the smallest accepted profile.
const minimalProfile = `client
dev tun
remote vpn.example.net
auth-user-pass
<ca>
-----BEGIN CERTIFICATE-----
bm90IGEgcmVhbCBjZXJ0aWZpY2F0ZQ==
-----END CERTIFICATE-----
</ca>
`
