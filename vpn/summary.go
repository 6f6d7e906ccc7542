package vpn

import (
	"crypto/x509"
	"encoding/pem"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Summary holds the facts about a profile that are safe to show: no key,
// no static key, no credential.
type Summary struct {
	Remotes     []Remote   `json:"remotes"`
	Proto       string     `json:"proto"`
	Dev         string     `json:"dev"`
	Cipher      string     `json:"cipher,omitempty"`
	DataCiphers []string   `json:"dataCiphers,omitempty"`
	Auth        string     `json:"auth,omitempty"` // HMAC digest
	HasCA       bool       `json:"hasCA"`
	HasCert     bool       `json:"hasCert"`
	HasKey      bool       `json:"hasKey"`
	HasPKCS12   bool       `json:"hasPKCS12"`
	HasTLSAuth  bool       `json:"hasTLSAuth"`
	HasTLSCrypt bool       `json:"hasTLSCrypt"` // tls-crypt or tls-crypt-v2
	CA          []CertInfo `json:"ca,omitempty"`
	Cert        *CertInfo  `json:"cert,omitempty"`
	// CertificateSubjects lists the subjects of the inline certificates
	// that parse: CA certificates first, then the client certificate and
	// any extra certificates.
	CertificateSubjects []string `json:"certificateSubjects"`
	// AuthUserPass tells whether the server expects a username and
	// password (the profile has a bare auth-user-pass).
	AuthUserPass bool `json:"authUserPass"`
}

// Remote is one server the profile may connect to.
type Remote struct {
	Host  string `json:"host"`
	Port  int    `json:"port"`
	Proto string `json:"proto"`
}

// CertInfo describes a certificate found in an inline block.
type CertInfo struct {
	Subject  string    `json:"subject"`
	Issuer   string    `json:"issuer"`
	NotAfter time.Time `json:"notAfter"`
}

// Summary returns the safe facts about the profile.
func (c *Config) Summary() Summary {
	s := c.summary
	s.Remotes = slices.Clone(s.Remotes)
	s.DataCiphers = slices.Clone(s.DataCiphers)
	s.CA = slices.Clone(s.CA)
	s.CertificateSubjects = slices.Clone(s.CertificateSubjects)
	if s.Cert != nil {
		cert := *s.Cert
		s.Cert = &cert
	}
	return s
}

func summarize(opts []option) Summary {
	s := Summary{Proto: "udp", Remotes: []Remote{}}
	var extra []CertInfo
	port := 1194
	type remote struct {
		host, port, proto string
	}
	var remotes []remote
	for _, o := range opts {
		if o.block {
			switch o.name {
			case "ca":
				s.HasCA = true
				s.CA = certInfos(o.body)
			case "cert":
				s.HasCert = true
				if infos := certInfos(o.body); len(infos) > 0 {
					s.Cert = &infos[0]
				}
			case "extra-certs":
				extra = certInfos(o.body)
			case "key":
				s.HasKey = true
			case "pkcs12":
				s.HasPKCS12 = true
			case "tls-auth":
				s.HasTLSAuth = true
			case "tls-crypt", "tls-crypt-v2":
				s.HasTLSCrypt = true
			}
			continue
		}
		arg := func(i int) string {
			if i < len(o.args) {
				return o.args[i]
			}
			return ""
		}
		switch o.name {
		case "remote":
			remotes = append(remotes, remote{arg(0), arg(1), arg(2)})
		case "proto":
			s.Proto = arg(0)
		case "port", "rport":
			port, _ = strconv.Atoi(arg(0))
		case "dev":
			s.Dev = arg(0)
		case "cipher":
			s.Cipher = arg(0)
		case "data-ciphers", "ncp-ciphers":
			s.DataCiphers = strings.Split(arg(0), ":")
		case "auth":
			s.Auth = arg(0)
		case "auth-user-pass":
			s.AuthUserPass = true
		}
	}
	s.CertificateSubjects = []string{}
	for _, c := range s.CA {
		s.CertificateSubjects = append(s.CertificateSubjects, c.Subject)
	}
	if s.Cert != nil {
		s.CertificateSubjects = append(s.CertificateSubjects, s.Cert.Subject)
	}
	for _, c := range extra {
		s.CertificateSubjects = append(s.CertificateSubjects, c.Subject)
	}
	for _, r := range remotes {
		out := Remote{Host: r.host, Port: port, Proto: s.Proto}
		if r.port != "" {
			out.Port, _ = strconv.Atoi(r.port)
		}
		if r.proto != "" {
			out.Proto = r.proto
		}
		s.Remotes = append(s.Remotes, out)
	}
	return s
}

// certInfos describes the certificates in a PEM block. Anything that does
// not parse is skipped: a profile with a garbled CA simply shows no
// subject, and openvpn will report the real problem when it connects.
func certInfos(body string) []CertInfo {
	var infos []CertInfo
	rest := []byte(body)
	for {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			return infos
		}
		if b.Type != "CERTIFICATE" {
			continue
		}
		cert, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			continue
		}
		infos = append(infos, CertInfo{
			Subject:  cert.Subject.String(),
			Issuer:   cert.Issuer.String(),
			NotAfter: cert.NotAfter.UTC(),
		})
	}
}
