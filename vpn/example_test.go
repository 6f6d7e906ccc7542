package vpn_test

import (
	"errors"
	"fmt"

	"github.com/velocitty/microvm/vpn"
)

func ExampleParse() {
	profile := `client
dev tun
remote vpn.example.net 1194 # primary
auth-user-pass
<ca>
-----BEGIN CERTIFICATE-----
MIIB...
-----END CERTIFICATE-----
</ca>
`
	cfg, err := vpn.Parse([]byte(profile))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Print(string(cfg.Render()))
	fmt.Println(cfg.Summary().Remotes)
	// Output:
	// client
	// dev tun
	// remote vpn.example.net 1194
	// auth-user-pass
	// <ca>
	// -----BEGIN CERTIFICATE-----
	// MIIB...
	// -----END CERTIFICATE-----
	// </ca>
	// [{vpn.example.net 1194 udp}]
}

func ExampleDirectiveError() {
	_, err := vpn.Parse([]byte("client\ndev tun\nscript-security 2\nup /etc/openvpn/update-resolv-conf\n"))
	var de *vpn.DirectiveError
	if errors.As(err, &de) {
		fmt.Println(de.Line, de.Directive)
		fmt.Println(err)
	}
	// Output:
	// 3 script-security
	// line 3: script-security: scripts are never allowed, so script-security cannot be set
}
