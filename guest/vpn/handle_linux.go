package vpn

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/velocitty/microvm/errdefs"
)

// handle acts on one management message. It returns a delay after which
// the pending hold is to be released, and an error that ends the attempt
// (a fatalError ends the session).
func (m *mgmt) handle(msg mgmtMsg) (time.Duration, error) {
	s := m.s
	switch msg.kind {
	case msgHold:
		m.held++
		if m.held == 1 {
			// The first hold of a process: the session's backoff, if any,
			// was already waited before starting it.
			m.send("hold release")
			return 0, nil
		}
		d := s.bo.next()
		s.log.Info("vpn_reconnect_scheduled", "in", d.String(), "retries", s.retries)
		return d, nil
	case msgPassword:
		return 0, m.password(msg.text)
	case msgState:
		st, err := parseState(msg.text)
		if err != nil {
			s.log.Debug("vpn_bad_state", "err", err)
			return 0, nil
		}
		return 0, m.state(st)
	case msgUpDown:
		return 0, m.upDown(msg.text)
	case msgByteCount:
		if in, out, err := parseByteCount(msg.text); err == nil {
			s.sup.setBytes(s, in, out)
		}
	case msgLog:
		flags, text := parseLog(msg.text)
		m.logLine(flags, text)
	case msgRaw:
		if msg.text != "END" && msg.text != "" {
			flags, text := parseLog(msg.text) // "log on all" history
			m.logLine(flags, text)
		}
	case msgFatal:
		s.log.Error("openvpn_fatal", "line", m.redact(msg.text))
	case msgError:
		s.log.Warn("openvpn_command_failed", "reply", msg.text)
	}
	return 0, nil
}

func (m *mgmt) password(text string) error {
	s := m.s
	switch {
	case strings.HasPrefix(text, "Verification Failed"):
		return fatal(errAuthFailed)
	case strings.HasPrefix(text, "Auth-Token:"):
		return nil // a session token; never logged
	case strings.Contains(text, " SC:"):
		// A static challenge wants a one-time code with the password.
		return fatal(fmt.Errorf("the profile asks for a one-time code (static-challenge): %w", errdefs.ErrUnsupported))
	case strings.HasPrefix(text, "Need 'Auth' username/password"):
		if s.req.Username == "" {
			return fatal(errNoCredentials)
		}
		m.send(`username "Auth" `+quote(s.req.Username), `password "Auth" `+quote(s.req.Password))
		return nil
	case strings.HasPrefix(text, "Need 'Auth' username"):
		if s.req.Username == "" {
			return fatal(errNoCredentials)
		}
		m.send(`username "Auth" ` + quote(s.req.Username))
		return nil
	}
	what := text
	if _, rest, ok := strings.Cut(text, "'"); ok {
		what, _, _ = strings.Cut(rest, "'")
	}
	return fatal(fmt.Errorf("openvpn asks for %q, which the agent cannot answer: %w", what, errdefs.ErrUnsupported))
}

func (m *mgmt) state(st stateMsg) error {
	s := m.s
	s.log.Debug("openvpn_state", "state", st.name, "detail", st.detail)
	switch st.name {
	case "CONNECTED":
		return s.connected(st)
	case "RECONNECTING", "EXITING":
		if st.detail == "auth-failure" {
			return fatal(errAuthFailed)
		}
		if st.name == "RECONNECTING" {
			s.down("tunnel restarting: " + st.detail)
		}
	}
	return nil
}

// upDown collects a >UPDOWN block: "UP" or "DOWN", then "ENV,k=v" lines,
// then "ENV,END".
func (m *mgmt) upDown(text string) error {
	kv, isEnv := strings.CutPrefix(text, "ENV,")
	if !isEnv {
		m.updown, m.env = text, map[string]string{}
		return nil
	}
	if kv != "END" {
		if k, v, ok := strings.Cut(kv, "="); ok && m.env != nil {
			m.env[k] = v
		}
		return nil
	}
	env, which := m.env, m.updown
	m.env, m.updown = nil, ""
	if which != "UP" {
		return nil
	}
	c, err := parseUpDown(env)
	if errors.Is(err, errdefs.ErrUnsupported) {
		return fatal(err)
	}
	if err != nil {
		return err
	}
	m.s.tun = &c
	return nil
}

func (m *mgmt) logLine(flags, text string) {
	level := slog.LevelInfo
	switch {
	case strings.ContainsAny(flags, "FN"):
		level = slog.LevelError
	case strings.Contains(flags, "W"):
		level = slog.LevelWarn
	case strings.Contains(flags, "D"):
		level = slog.LevelDebug
	}
	m.s.log.Log(m.s.ctx, level, "openvpn", "line", m.redact(text))
}

// redact is a last line of defence: openvpn already masks passwords it
// echoes, but a password must never reach the log ring.
func (m *mgmt) redact(text string) string {
	if p := m.s.req.Password; len(p) >= 3 {
		text = strings.ReplaceAll(text, p, "[redacted]")
	}
	return text
}
