// Package vpn validates, stores and redacts OpenVPN client profiles.
//
// Profiles are untrusted: an .ovpn file can run programs as root (up,
// plugin, ...), read or write host files, or take over the management
// interface. Parse therefore reads a profile with OpenVPN's own lexical
// rules but accepts only an allowlist of client options, with key material
// inline; everything else is refused with a DirectiveError naming the line
// and the directive. Render re-emits only what was accepted, in a canonical
// form, and that rendering is what gets shipped to the guest's openvpn.
//
// Store keeps profiles on disk (0600 files written atomically), with the
// username and password in a separate file. Its public view, Profile, and
// the Summary of a Config never carry a password or private key, and both
// redact themselves when logged through log/slog.
package vpn
