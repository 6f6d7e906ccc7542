// Package vpnlab builds a real OpenVPN test lab for integration tests: a
// throwaway PKI, an OpenVPN server in a network namespace of its own that is
// reached from the test's network namespace over a veth pair, a DNS server
// pushed to clients, and a "remote" namespace behind the server with an HTTP
// server and an optional sshd that only VPN clients can reach.
//
//	lab := vpnlab.New(t, vpnlab.Options{Proto: "tcp", SSH: true})
//	// lab.ClientConfig: a provider-style .ovpn, key material inline
//	// lab.Username, lab.Password: accepted by the server
//	// lab.RemoteName resolves to lab.RemoteIP through the pushed DNS;
//	// lab.HTTPAddr serves /ip (the caller's address as seen there) and
//	// /bytes?n=N; lab.SSHAddr takes lab.SSHKey for lab.SSHUser.
//	lab.StopServer() // an outage; lab.StartServer() ends it
//	cli := lab.StartBareClient(t) // plain openvpn in its own namespace
//	conn, err := vpnlab.DialIn(ctx, cli.NS, "tcp", lab.HTTPAddr.String())
//
// The server listens on an address of the test's own namespace (the host
// end of the veth), so a guest sharing the host's network, like the Linux
// sandbox, reaches it as a user's machine reaches a provider. The remote is
// reachable only through the tunnel. Everything lives in namespaces and
// links the lab creates; they are removed when the test ends, and a new lab
// sweeps what crashed test processes left. The lab needs root, openvpn,
// dnsmasq and iproute2 (sshd for SSH); New skips the test with a reason
// when one is missing. It is Linux only.
package vpnlab
