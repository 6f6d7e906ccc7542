package vpn

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/velocitty/microvm/guest/agentapi"
	"github.com/velocitty/microvm/guest/socks5"
	"github.com/velocitty/microvm/internal/vpnlab"
)

// TestSOCKS5ThroughTunnel wires the supervisor into the guest's SOCKS5
// server, as the agent does, and drives it with curl.
func TestSOCKS5ThroughTunnel(t *testing.T) {
	skipUnlessOpenVPN(t)
	if _, err := exec.LookPath("curl"); err != nil {
		t.Skip("curl not installed")
	}
	lab := vpnlab.New(t, vpnlab.Options{PingRestart: 3})
	sup := newSupervisor(t, Config{})
	srv := &socks5.Server{}
	srv.SetUpstream(sup, sup.Resolve)
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	var wg sync.WaitGroup
	wg.Go(func() { srv.Serve(ctx, ln) })
	t.Cleanup(func() {
		cancel()
		wg.Wait()
	})
	curl := func(url string) (string, error) {
		out, err := exec.Command("curl", "-sS", "--max-time", "10",
			"--socks5-hostname", ln.Addr().String(), url).CombinedOutput()
		return string(out), err
	}

	// Select the profile through the agent's endpoint.
	api := httptest.NewServer(Handler(sup))
	defer api.Close()
	body, _ := json.Marshal(connectReq(lab))
	put, _ := http.NewRequest(http.MethodPut, api.URL+agentapi.PathVPN, bytes.NewReader(body))
	resp, err := http.DefaultClient.Do(put)
	if err != nil || resp.StatusCode != http.StatusAccepted {
		t.Fatalf("PUT %s: %v %v", agentapi.PathVPN, resp.Status, err)
	}
	resp.Body.Close()
	st := waitFor(t, sup, 15*time.Second, "connected", state(agentapi.VPNConnected))
	out, err := curl("http://" + lab.RemoteName + "/ip")
	if err != nil || out != st.TunnelIPv4 {
		t.Fatalf("curl through the proxy: %q, %v; want %s", out, err, st.TunnelIPv4)
	}

	lab.StopServer()
	waitFor(t, sup, 20*time.Second, "reconnecting", state(agentapi.VPNReconnecting))
	start := time.Now()
	out, err = curl("http://" + lab.HTTPAddr.String() + "/ip")
	if err == nil {
		t.Fatalf("curl succeeded while the tunnel is down: %q", out)
	}
	// curl names the SOCKS5 reply: 3 is "network unreachable".
	if !strings.Contains(out, "(3)") && !strings.Contains(strings.ToLower(out), "unreachable") {
		t.Errorf("curl while down: %q; want a network-unreachable reply", out)
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("the kill switch took %v to refuse", took)
	}
	t.Logf("while down: %s", strings.TrimSpace(out))

	del, _ := http.NewRequest(http.MethodDelete, api.URL+agentapi.PathVPN, nil)
	resp, err = http.DefaultClient.Do(del)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("DELETE %s: %v %v", agentapi.PathVPN, resp.Status, err)
	}
	resp.Body.Close()
	// Deselected: the proxy goes direct again.
	if st := sup.Status(); st.State != agentapi.VPNDisconnected {
		t.Errorf("after DELETE: %+v", st)
	}
}
