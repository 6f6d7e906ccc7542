package vpn

import "strings"

// Reasons for refusing well-known directives. Anything neither allowed nor
// listed here is refused as unsupported: the list exists only to give the
// user a precise message.
const (
	reasonExec       = "runs an external program; scripts are never allowed"
	reasonCode       = "loads code into openvpn"
	reasonKeyFile    = "key material must be inline (e.g. <%s>...</%s>), not a file path"
	reasonFile       = "reads or writes a file on the host"
	reasonProcess    = "controls the openvpn process, which the agent manages"
	reasonManagement = "the management interface is reserved for the agent"
	reasonServer     = "server-side option; profiles must be client profiles"
	reasonUnknown    = "not in the list of supported client options"
)

// keyFileDirectives take key material; their file form is refused and
// the message points at the inline block.
var keyFileDirectives = map[string]bool{
	"ca": true, "cert": true, "key": true, "extra-certs": true, "pkcs12": true,
	"tls-auth": true, "tls-crypt": true, "tls-crypt-v2": true, "crl-verify": true,
	"secret": true, "dh": true,
}

var refusedDirectives = map[string]string{
	"up":                    reasonExec,
	"down":                  reasonExec,
	"down-pre":              reasonExec,
	"up-delay":              reasonExec,
	"up-restart":            reasonExec,
	"route-up":              reasonExec,
	"route-pre-down":        reasonExec,
	"ipchange":              reasonExec,
	"tls-verify":            reasonExec,
	"learn-address":         reasonExec,
	"client-connect":        reasonExec,
	"client-disconnect":     reasonExec,
	"client-crresponse":     reasonExec,
	"auth-user-pass-verify": reasonExec,
	"tls-crypt-v2-verify":   reasonExec,
	"dns-updown":            reasonExec,
	"iproute":               reasonExec,
	"script-security":       "scripts are never allowed, so script-security cannot be set",
	"setenv-safe":           "sets variables for scripts, which are never allowed",
	"tls-export-cert":       reasonFile,
	"plugin":                reasonCode,
	"engine":                reasonCode,
	"providers":             reasonCode,
	"cryptoapicert":         "certificate stores are not supported; use inline <cert> and <key>",

	"config":                  "includes another file",
	"cd":                      reasonFile,
	"chroot":                  reasonFile,
	"tmp-dir":                 reasonFile,
	"dev-node":                reasonFile,
	"log":                     reasonFile,
	"log-append":              reasonFile,
	"status":                  reasonFile,
	"status-version":          reasonFile,
	"writepid":                reasonFile,
	"replay-persist":          reasonFile,
	"ifconfig-pool-persist":   reasonFile,
	"capath":                  reasonFile,
	"askpass":                 "encrypted private keys are not supported; askpass would read a file or prompt",
	"http-proxy-user-pass":    reasonFile,
	"auth-gen-token-secret":   reasonFile,
	"daemon":                  reasonProcess,
	"syslog":                  reasonProcess,
	"user":                    reasonProcess,
	"group":                   reasonProcess,
	"nice":                    reasonProcess,
	"mlock":                   reasonProcess,
	"mktun":                   reasonProcess,
	"rmtun":                   reasonProcess,
	"machine-readable-output": reasonProcess,
	"errors-to-stderr":        reasonProcess,
	"suppress-timestamps":     reasonProcess,
	"echo":                    reasonProcess,
	"ignore-unknown-option":   "would make openvpn skip options that were not checked",
	"http-proxy":              "proxies are not supported: the tunnel would be sent through an arbitrary proxy",
	"socks-proxy":             "proxies are not supported: the tunnel would be sent through an arbitrary proxy",
	"static-challenge":        "challenge/response authentication is not supported",
	"ifconfig":                "addresses come from the server; a client profile must not set them",
	"ifconfig-ipv6":           "addresses come from the server; a client profile must not set them",
	"mark":                    reasonProcess,
	"bind-dev":                reasonProcess,
	"local":                   "binding a local address is not supported",

	"server":                  reasonServer,
	"server-bridge":           reasonServer,
	"mode":                    reasonServer,
	"tls-server":              reasonServer,
	"push":                    reasonServer,
	"push-reset":              reasonServer,
	"client-to-client":        reasonServer,
	"duplicate-cn":            reasonServer,
	"ifconfig-pool":           reasonServer,
	"client-config-dir":       reasonServer,
	"ccd-exclusive":           reasonServer,
	"verify-client-cert":      reasonServer,
	"username-as-common-name": reasonServer,
	"auth-gen-token":          reasonServer,
	"max-clients":             reasonServer,
}

// refusal explains why a directive that is not allowed is refused.
func refusal(name string, args []string) string {
	switch {
	case keyFileDirectives[name]:
		if name == "secret" {
			return refusedTags["secret"]
		}
		return strings.ReplaceAll(reasonKeyFile, "%s", name)
	case name == "auth-user-pass" && len(args) > 0:
		return "credentials must not come from a file; give username and password separately"
	case strings.HasPrefix(name, "management"):
		return reasonManagement
	case strings.HasPrefix(name, "pkcs11-"):
		return reasonCode
	}
	if r, ok := refusedDirectives[name]; ok {
		return r
	}
	return reasonUnknown
}
