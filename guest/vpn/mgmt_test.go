package vpn

import (
	"net/netip"
	"testing"
)

func TestParseLine(t *testing.T) {
	for _, tc := range []struct {
		line string
		kind msgKind
		text string
	}{
		{">INFO:OpenVPN Management Interface Version 5 -- type 'help' for more info\r", msgInfo, "OpenVPN Management Interface Version 5 -- type 'help' for more info"},
		{">HOLD:Waiting for hold release:0", msgHold, "Waiting for hold release:0"},
		{">PASSWORD:Need 'Auth' username/password", msgPassword, "Need 'Auth' username/password"},
		{">STATE:1795782437,WAIT,,,,,,", msgState, "1795782437,WAIT,,,,,,"},
		{">BYTECOUNT:2230,1363", msgByteCount, "2230,1363"},
		{">LOG:1795782437,W,WARNING: x", msgLog, "1795782437,W,WARNING: x"},
		{">UPDOWN:ENV,dev=tun0", msgUpDown, "ENV,dev=tun0"},
		{">FATAL:Cannot open TUN/TAP dev", msgFatal, "Cannot open TUN/TAP dev"},
		{"SUCCESS: hold release succeeded", msgSuccess, "hold release succeeded"},
		{"ERROR: unknown command", msgError, "unknown command"},
		{"1795782437,I,history line", msgRaw, "1795782437,I,history line"},
		{"END", msgRaw, "END"},
		{">NOTIFY:info,remote-exit,EXIT", msgOther, ">NOTIFY:info,remote-exit,EXIT"},
	} {
		m := parseLine(tc.line)
		if m.kind != tc.kind || m.text != tc.text {
			t.Errorf("parseLine(%q) = %v %q, want %v %q", tc.line, m.kind, m.text, tc.kind, tc.text)
		}
	}
}

func TestParseState(t *testing.T) {
	st, err := parseState("1795782437,CONNECTED,SUCCESS,10.8.0.2,10.99.0.1,1194,,,fdcc:8::1000")
	if err != nil {
		t.Fatal(err)
	}
	if st.name != "CONNECTED" || st.detail != "SUCCESS" || st.local4 != netip.MustParseAddr("10.8.0.2") ||
		st.local6 != netip.MustParseAddr("fdcc:8::1000") || st.remote != netip.MustParseAddrPort("10.99.0.1:1194") {
		t.Errorf("parseState = %+v", st)
	}
	st, err = parseState("1795782443,RECONNECTING,ping-restart,,,,,")
	if err != nil || st.name != "RECONNECTING" || st.detail != "ping-restart" || st.local4.IsValid() || st.remote.IsValid() {
		t.Errorf("parseState = %+v, %v", st, err)
	}
	if _, err := parseState("garbage"); err == nil {
		t.Error("parseState accepted garbage")
	}
}

func TestParseByteCountAndLog(t *testing.T) {
	in, out, err := parseByteCount("2230,1363")
	if err != nil || in != 2230 || out != 1363 {
		t.Errorf("parseByteCount = %d %d %v", in, out, err)
	}
	for _, bad := range []string{"", "1", "a,2", "1,b"} {
		if _, _, err := parseByteCount(bad); err == nil {
			t.Errorf("parseByteCount(%q) accepted", bad)
		}
	}
	if f, m := parseLog("1795782437,W,a, b"); f != "W" || m != "a, b" {
		t.Errorf("parseLog = %q %q", f, m)
	}
}

func TestQuoteAndCheckCredential(t *testing.T) {
	if got, want := quote(`s3cret pa"ss\`), `"s3cret pa\"ss\\"`; got != want {
		t.Errorf("quote = %s, want %s", got, want)
	}
	for _, bad := range []string{"a\nb", "a\rb", "a\x00b", "a\x7fb", string(make([]byte, maxCredential+1))} {
		if checkCredential(bad) == nil {
			t.Errorf("checkCredential(%q) accepted", bad)
		}
	}
	if err := checkCredential(`s3cret pa"ss\ é`); err != nil {
		t.Errorf("checkCredential rejected a fine password: %v", err)
	}
}

// FuzzQuote checks that no credential that passes checkCredential can end
// a management command early.
func FuzzQuote(f *testing.F) {
	f.Add(`a"b\c d`)
	f.Fuzz(func(t *testing.T, s string) {
		if checkCredential(s) != nil {
			return
		}
		q := quote(s)
		for i := 0; i < len(q); i++ {
			if q[i] == '\n' || q[i] == '\r' || q[i] == 0 {
				t.Fatalf("quote(%q) = %q holds a line break", s, q)
			}
		}
		// Unquote the way openvpn's lexer does and get s back.
		var out []byte
		for i := 1; i < len(q)-1; i++ {
			if q[i] == '\\' {
				i++
			} else if q[i] == '"' {
				t.Fatalf("quote(%q) = %q has a bare quote", s, q)
			}
			out = append(out, q[i])
		}
		if string(out) != s {
			t.Fatalf("round trip %q -> %q -> %q", s, q, out)
		}
	})
}

func TestMentions(t *testing.T) {
	cfg := "client\nremote 10.0.0.1 1194\n--keepalive 10 60\n<ca>\nping\n</ca>\n"
	if !mentions(cfg, "keepalive") || mentions(cfg, "ping-restart") || mentions("client\n", "ping") {
		t.Error("mentions misread the profile")
	}
}
