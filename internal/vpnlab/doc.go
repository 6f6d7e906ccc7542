// Package vpnlab builds a real OpenVPN test lab for integration tests: a
// throwaway PKI, an OpenVPN server in a network namespace of its own that is
// reached from the test's network namespace over a veth pair, a DNS server
// pushed to clients, and a "remote" namespace behind the server with an HTTP
// server and an sshd that only VPN clients can reach.
//
// Everything lives in namespaces and links the lab creates and removes when
// the test ends. The lab needs root, openvpn, dnsmasq and iproute2; New skips
// the test with a reason when one is missing. It is Linux only.
package vpnlab
