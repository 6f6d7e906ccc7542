package shellproto

import (
	"bytes"
	"errors"
	"testing"

	"github.com/velocitty/microvm/guest/agentapi"
)

func TestRoundTrip(t *testing.T) {
	f, err := Decode(Encode(agentapi.ChannelStdin, []byte("ls\r")))
	if err != nil || f.Channel != agentapi.ChannelStdin || string(f.Data) != "ls\r" {
		t.Fatalf("stdin: %+v %v", f, err)
	}
	f, err = Decode(EncodeResize(120, 40))
	if err != nil {
		t.Fatal(err)
	}
	r, err := f.Resize()
	if err != nil || r.Cols != 120 || r.Rows != 40 {
		t.Fatalf("resize: %+v %v", r, err)
	}
	f, err = Decode(EncodeStatus(agentapi.ShellStatus{ExitCode: 3}))
	if err != nil {
		t.Fatal(err)
	}
	st, err := f.Status()
	if err != nil || st.ExitCode != 3 {
		t.Fatalf("status: %+v %v", st, err)
	}
	if string(EncodeStatus(agentapi.ShellStatus{ExitCode: 3})[1:]) != `{"exitCode":3}` {
		t.Fatalf("status JSON changed: %s", EncodeStatus(agentapi.ShellStatus{ExitCode: 3})[1:])
	}
}

func TestDecodeRejects(t *testing.T) {
	for _, tc := range []struct {
		msg  []byte
		want error
	}{
		{nil, ErrEmptyFrame},
		{[]byte{}, ErrEmptyFrame},
		{[]byte{2, 'x'}, ErrUnknownChannel},
		{[]byte{255}, ErrUnknownChannel},
		{make([]byte, MaxFrameSize+1), ErrFrameTooLarge},
	} {
		if _, err := Decode(tc.msg); !errors.Is(err, tc.want) {
			t.Errorf("Decode(%.8x): %v, want %v", tc.msg, err, tc.want)
		}
	}
	for _, payload := range []string{"", "{", `{"cols":0,"rows":5}`, `{"cols":-1,"rows":5}`, `[]`} {
		f, err := Decode(Encode(agentapi.ChannelResize, []byte(payload)))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.Resize(); !errors.Is(err, ErrBadPayload) {
			t.Errorf("Resize(%q): %v, want ErrBadPayload", payload, err)
		}
	}
}

func FuzzDecode(f *testing.F) {
	f.Add([]byte{})
	f.Add(Encode(agentapi.ChannelStdin, []byte("echo hi\r")))
	f.Add(Encode(agentapi.ChannelOutput, []byte("\x1b[31mred")))
	f.Add(EncodeResize(80, 24))
	f.Add(EncodeStatus(agentapi.ShellStatus{ExitCode: -1, Signal: "killed", Reason: "vm stopped"}))
	f.Add([]byte{4, '{'})
	f.Add([]byte{9, 1, 2, 3})
	f.Fuzz(func(t *testing.T, msg []byte) {
		fr, err := Decode(msg)
		if err != nil {
			if fr.Data != nil || fr.Channel != 0 {
				t.Fatalf("error with a non-zero frame: %+v", fr)
			}
			return
		}
		if !bytes.Equal(Encode(fr.Channel, fr.Data), msg) {
			t.Fatalf("re-encoding %x differs", msg)
		}
		if fr.Channel == agentapi.ChannelResize {
			if r, err := fr.Resize(); err == nil {
				if r.Cols == 0 || r.Rows == 0 {
					t.Fatalf("accepted zero size %+v", r)
				}
				g, err := Decode(EncodeResize(r.Cols, r.Rows))
				if err != nil {
					t.Fatal(err)
				}
				if r2, err := g.Resize(); err != nil || r2 != r {
					t.Fatalf("resize round trip: %+v -> %+v, %v", r, r2, err)
				}
			}
		}
		if fr.Channel == agentapi.ChannelStatus {
			_, _ = fr.Status()
		}
	})
}
