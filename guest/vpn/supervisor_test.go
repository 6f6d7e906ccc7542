package vpn

import (
	"errors"
	"io"
	"net"
	"strings"
	"syscall"
	"testing"

	"github.com/velocitty/microvm/errdefs"
	"github.com/velocitty/microvm/guest/agentapi"
)

func TestIdleSupervisorGoesDirect(t *testing.T) {
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		if c, err := ln.Accept(); err == nil {
			io.WriteString(c, "hi")
			c.Close()
		}
	}()
	s := New(Config{})
	if st := s.Status(); st.State != agentapi.VPNDisconnected {
		t.Fatalf("new supervisor: %+v", st)
	}
	c, err := s.DialContext(t.Context(), "tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(c)
	c.Close()
	if string(b) != "hi" {
		t.Errorf("read %q", b)
	}
	if addrs, err := s.Resolve(t.Context(), "localhost"); err != nil || len(addrs) == 0 {
		t.Errorf("Resolve(localhost) = %v, %v", addrs, err)
	}
	if err := s.Disconnect(t.Context()); err != nil {
		t.Errorf("disconnect when idle: %v", err)
	}
}

func TestConnectValidates(t *testing.T) {
	s := New(Config{})
	good := agentapi.VPNConnect{Profile: "p", Config: "client\n", Username: "u", Password: "p"}
	for name, mut := range map[string]func(*agentapi.VPNConnect){
		"no profile":       func(r *agentapi.VPNConnect) { r.Profile = "" },
		"no config":        func(r *agentapi.VPNConnect) { r.Config = "" },
		"huge config":      func(r *agentapi.VPNConnect) { r.Config = string(make([]byte, maxConfig+1)) },
		"newline password": func(r *agentapi.VPNConnect) { r.Password = "a\nsignal SIGTERM" },
		"newline username": func(r *agentapi.VPNConnect) { r.Username = "a\rb" },
		"password only":    func(r *agentapi.VPNConnect) { r.Username = "" },
	} {
		req := good
		mut(&req)
		if err := s.Connect(t.Context(), req); !errors.Is(err, errdefs.ErrInvalid) {
			t.Errorf("%s: %v, want ErrInvalid", name, err)
		}
	}
	if st := s.Status(); st.State != agentapi.VPNDisconnected {
		t.Errorf("a refused connect changed the state: %+v", st)
	}
}

func TestUnreachableError(t *testing.T) {
	var err error = &net.OpError{Op: "dial", Net: "tcp", Err: &UnreachableError{Profile: "p", State: agentapi.VPNReconnecting}}
	if !errors.Is(err, syscall.ENETUNREACH) || !errors.Is(err, errdefs.ErrUnavailable) {
		t.Errorf("%v does not match ENETUNREACH and ErrUnavailable", err)
	}
}

func TestLogValueHidesSecrets(t *testing.T) {
	req := agentapi.VPNConnect{Profile: "p", Config: "<key>secret</key>", Username: "u", Password: "hunter2"}
	v := req.LogValue().String()
	for _, secret := range []string{"hunter2", "secret"} {
		if strings.Contains(v, secret) {
			t.Errorf("LogValue %q shows %q", v, secret)
		}
	}
}
