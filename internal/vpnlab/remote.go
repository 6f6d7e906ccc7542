//go:build linux

package vpnlab

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
)

// startDNS runs dnsmasq on the server's inner leg, answering RemoteName.
func (l *Lab) startDNS() error {
	dnsmasq, err := lookPath("dnsmasq")
	if err != nil {
		return err
	}
	p, err := startProc(l.t, "dnsmasq", l.ServerNS, "started, version",
		dnsmasq, "--keep-in-foreground", "--conf-file=/dev/null", "--no-resolv", "--no-hosts",
		"--bind-interfaces", "--listen-address="+serverInside.String(), "--except-interface=lo",
		"--user=root", "--pid-file=", "--log-facility=-",
		"--address=/"+RemoteName+"/"+remoteAddr.String())
	if err != nil {
		return err
	}
	l.t.Cleanup(p.stop)
	return nil
}

// startHTTP serves, from the remote namespace:
//
//	/ip        the caller's address as the remote sees it
//	/bytes?n=N N zero bytes, for throughput measurements
//	/          a greeting
func (l *Lab) startHTTP() error {
	ln, err := ListenIn(l.RemoteNS, "tcp4", l.HTTPAddr.String())
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/ip", func(w http.ResponseWriter, r *http.Request) {
		host, _, _ := net.SplitHostPort(r.RemoteAddr)
		io.WriteString(w, host)
	})
	mux.HandleFunc("/bytes", func(w http.ResponseWriter, r *http.Request) {
		n, err := strconv.ParseInt(r.URL.Query().Get("n"), 10, 64)
		if err != nil || n < 0 {
			http.Error(w, "bad n", http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Length", strconv.FormatInt(n, 10))
		buf := make([]byte, 64<<10)
		for n > 0 {
			m := min(n, int64(len(buf)))
			if _, err := w.Write(buf[:m]); err != nil {
				return
			}
			n -= m
		}
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "hello from the remote\n")
	})
	srv := &http.Server{Handler: mux}
	var wg sync.WaitGroup
	wg.Go(func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			l.t.Errorf("vpnlab http: %v", err)
		}
	})
	l.t.Cleanup(func() {
		srv.Close()
		wg.Wait()
	})
	return nil
}

// startSSH runs an sshd on the remote that accepts one throwaway user key
// for root.
func (l *Lab) startSSH() error {
	sshd, err := lookPath("sshd")
	if err != nil {
		return err
	}
	dir := filepath.Join(l.dir, "ssh")
	if err := os.Mkdir(dir, 0o700); err != nil {
		return fmt.Errorf("mkdir ssh: %w", err)
	}
	for _, k := range []string{"host_key", "user_key"} {
		if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "vpnlab", "-f", filepath.Join(dir, k)).CombinedOutput(); err != nil {
			return fmt.Errorf("ssh-keygen: %w: %s", err, out)
		}
	}
	pub, err := os.ReadFile(filepath.Join(dir, "user_key.pub"))
	if err != nil {
		return fmt.Errorf("read user key: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "authorized_keys"), pub, 0o600); err != nil {
		return fmt.Errorf("write authorized_keys: %w", err)
	}
	// sshd insists on its privilege separation directory.
	if err := os.MkdirAll("/run/sshd", 0o755); err != nil {
		return fmt.Errorf("mkdir /run/sshd: %w", err)
	}
	l.SSHAddr = netip.AddrPortFrom(remoteAddr, 22)
	l.SSHKey = filepath.Join(dir, "user_key")
	l.SSHUser = "root"
	conf := strings.Join([]string{
		"ListenAddress " + l.SSHAddr.String(),
		"HostKey " + filepath.Join(dir, "host_key"),
		"AuthorizedKeysFile " + filepath.Join(dir, "authorized_keys"),
		"PermitRootLogin prohibit-password",
		"PasswordAuthentication no",
		"KbdInteractiveAuthentication no",
		"UsePAM no",
		"StrictModes no",
		"PidFile none",
	}, "\n") + "\n"
	cfg := filepath.Join(dir, "sshd_config")
	if err := os.WriteFile(cfg, []byte(conf), 0o600); err != nil {
		return fmt.Errorf("write sshd_config: %w", err)
	}
	p, err := startProc(l.t, "sshd", l.RemoteNS, "Server listening", sshd, "-D", "-e", "-f", cfg)
	if err != nil {
		return err
	}
	l.t.Cleanup(p.stop)
	return nil
}
