package server_test

import (
	"encoding/json"
	"testing"

	"github.com/velocitty/microvm/api"
)

func TestVPNConnectStatusDisconnect(t *testing.T) {
	e := newEnv(t)
	body, _ := json.Marshal(map[string]string{"name": "work", "config": testProfile(t), "username": "alice", "password": "hunter2"})
	if resp, b := e.call("POST", "/v1/vpn/profiles", string(body)); resp.StatusCode != 201 {
		t.Fatalf("create profile: %d %s", resp.StatusCode, b)
	}

	// A stopped VM has no tunnel: status says so, connecting is a conflict.
	resp, b := e.call("GET", "/v1/vms/default/vpn", "")
	if st := decode[api.VPNStatus](t, resp, b, 200); st.State != "disconnected" {
		t.Fatalf("status of a stopped VM: %+v", st)
	}
	resp, b = e.call("PUT", "/v1/vms/default/vpn", `{"profile":"work"}`)
	if p := problem(t, resp, b, 409, "invalid_state"); p.CurrentState != "created" {
		t.Fatalf("connect in a stopped VM: %+v", p)
	}

	if resp, b := e.call("POST", "/v1/vms/default/start", ""); resp.StatusCode != 200 {
		t.Fatalf("start: %d %s", resp.StatusCode, b)
	}
	resp, b = e.call("PUT", "/v1/vms/default/vpn", `{"profile":"nope"}`)
	problem(t, resp, b, 404, "not_found")
	resp, b = e.call("PUT", "/v1/vms/default/vpn", `{"profile":"work","extra":1}`)
	problem(t, resp, b, 400, "invalid_request")

	resp, b = e.call("PUT", "/v1/vms/default/vpn", `{"profile":"work"}`)
	st := decode[api.VPNStatus](t, resp, b, 200)
	if st.State != "connected" || st.Profile != "work" || len(st.TunnelAddresses) != 1 {
		t.Fatalf("connect: %+v", st)
	}
	resp, b = e.call("GET", "/v1/vms/default/vpn", "")
	if st := decode[api.VPNStatus](t, resp, b, 200); st.State != "connected" {
		t.Fatalf("status: %+v", st)
	}
	resp, b = e.call("DELETE", "/v1/vms/default/vpn", "")
	if st := decode[api.VPNStatus](t, resp, b, 200); st.State != "disconnected" {
		t.Fatalf("disconnect: %+v", st)
	}
}
