package vpn

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// Messages of openvpn's management interface that the supervisor handles.
// Real-time messages look like ">SOURCE:text"; command replies start with
// SUCCESS: or ERROR:; history dumps are bare lines ended by END.
type msgKind int

const (
	msgRaw msgKind = iota
	msgInfo
	msgHold
	msgPassword
	msgState
	msgByteCount
	msgLog
	msgUpDown
	msgFatal
	msgSuccess
	msgError
	msgOther
)

type mgmtMsg struct {
	kind msgKind
	text string // the part after the source tag
}

var sourceKinds = map[string]msgKind{
	">INFO": msgInfo, ">HOLD": msgHold, ">PASSWORD": msgPassword, ">STATE": msgState,
	">BYTECOUNT": msgByteCount, ">LOG": msgLog, ">UPDOWN": msgUpDown, ">FATAL": msgFatal,
}

func parseLine(line string) mgmtMsg {
	line = strings.TrimRight(line, "\r\n")
	if rest, ok := strings.CutPrefix(line, "SUCCESS:"); ok {
		return mgmtMsg{msgSuccess, strings.TrimSpace(rest)}
	}
	if rest, ok := strings.CutPrefix(line, "ERROR:"); ok {
		return mgmtMsg{msgError, strings.TrimSpace(rest)}
	}
	src, text, ok := strings.Cut(line, ":")
	if !ok || !strings.HasPrefix(src, ">") {
		return mgmtMsg{msgRaw, line}
	}
	if k, ok := sourceKinds[src]; ok {
		return mgmtMsg{k, text}
	}
	return mgmtMsg{msgOther, line}
}

// stateMsg is one >STATE line:
// time,state,detail,local IPv4,remote addr,remote port,local addr,local port,local IPv6
type stateMsg struct {
	name   string
	detail string
	local4 netip.Addr
	local6 netip.Addr
	remote netip.AddrPort
}

func parseState(text string) (stateMsg, error) {
	f := strings.Split(text, ",")
	if len(f) < 3 {
		return stateMsg{}, fmt.Errorf("state %q: too few fields", text)
	}
	st := stateMsg{name: f[1], detail: f[2]}
	field := func(i int) string {
		if i < len(f) {
			return f[i]
		}
		return ""
	}
	st.local4, _ = netip.ParseAddr(field(3))
	st.local6, _ = netip.ParseAddr(field(8))
	if ip, err := netip.ParseAddr(field(4)); err == nil {
		port, _ := strconv.ParseUint(field(5), 10, 16)
		st.remote = netip.AddrPortFrom(ip, uint16(port))
	}
	return st, nil
}

// parseByteCount reads ">BYTECOUNT:in,out".
func parseByteCount(text string) (in, out int64, err error) {
	a, b, ok := strings.Cut(text, ",")
	if !ok {
		return 0, 0, fmt.Errorf("bytecount %q: want in,out", text)
	}
	if in, err = strconv.ParseInt(a, 10, 64); err != nil {
		return 0, 0, fmt.Errorf("bytecount %q: %w", text, err)
	}
	if out, err = strconv.ParseInt(b, 10, 64); err != nil {
		return 0, 0, fmt.Errorf("bytecount %q: %w", text, err)
	}
	return in, out, nil
}

// parseLog reads "unix time,flags,text"; flags hold I, F, N, W or D.
func parseLog(text string) (flags, msg string) {
	f := strings.SplitN(text, ",", 3)
	if len(f) < 3 {
		return "", text
	}
	return f[1], f[2]
}

// errBadCredential rejects values that cannot be sent on one management
// line: a control character would end the command and start another.
var errBadCredential = errors.New("contains a control character or is too long")

// maxCredential keeps a quoted command under openvpn 2.6's 256 byte limit
// for a management line.
const maxCredential = 200

func checkCredential(s string) error {
	if len(s) > maxCredential {
		return errBadCredential
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return errBadCredential
		}
	}
	return nil
}

// quote renders s as one argument of a management command.
func quote(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); i++ { // bytes: invalid UTF-8 must pass unchanged
		if s[i] == '\\' || s[i] == '"' {
			b.WriteByte('\\')
		}
		b.WriteByte(s[i])
	}
	b.WriteByte('"')
	return b.String()
}
