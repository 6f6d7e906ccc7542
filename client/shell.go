package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"

	"github.com/velocitty/microvm/guest/agentapi"
	"github.com/velocitty/microvm/guest/shellproto"
)

// ShellSubprotocol is the websocket subprotocol of the shell route.
const ShellSubprotocol = agentapi.ShellSubprotocol

// ShellOptions configure an interactive shell.
type ShellOptions struct {
	Argv       []string // the program and its arguments; empty: the login shell
	Cols, Rows uint16   // initial terminal size; zero: the daemon's default
}

// ShellStatus is how the shell's program ended.
type ShellStatus struct {
	ExitCode int    // -1 when a signal ended it
	Signal   string // the signal, if any
	Reason   string // why the daemon ended the session early, e.g. "vm stopped"
}

// Shell is an interactive session on a PTY in a guest. Write sends input,
// Read returns output until the program ends (then io.EOF and Status
// holds its exit). Write and Resize may be called concurrently with Read;
// Read must not be called concurrently with itself.
type Shell struct {
	conn *websocket.Conn
	stop func() bool // detaches the context watcher

	wmu sync.Mutex // serializes writes

	pending []byte
	status  *ShellStatus
	err     error
	ctx     context.Context
}

// Shell opens an interactive shell in VM vm. The session ends when the
// program exits, when Close is called or when ctx ends.
func (c *Client) Shell(ctx context.Context, vm string, opts ShellOptions) (*Shell, error) {
	op := "shell in VM " + vm
	u, err := url.Parse(c.url + "/v1/vms/" + url.PathEscape(vm) + "/shell")
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	u.Scheme = strings.Replace(u.Scheme, "http", "ws", 1)
	q := url.Values{}
	for _, a := range opts.Argv {
		q.Add(agentapi.QueryArgv, a)
	}
	if opts.Cols > 0 && opts.Rows > 0 {
		q.Set(agentapi.QueryCols, strconv.Itoa(int(opts.Cols)))
		q.Set(agentapi.QueryRows, strconv.Itoa(int(opts.Rows)))
	}
	u.RawQuery = q.Encode()

	d := websocket.Dialer{
		Subprotocols:     []string{ShellSubprotocol},
		HandshakeTimeout: 30 * time.Second,
		ReadBufferSize:   shellproto.MaxFrameSize,
		WriteBufferSize:  shellproto.MaxFrameSize,
	}
	h := http.Header{}
	h.Set("Authorization", "Bearer "+c.token)
	conn, resp, err := d.DialContext(ctx, u.String(), h)
	if err != nil {
		if resp != nil && resp.StatusCode != http.StatusSwitchingProtocols {
			defer resp.Body.Close()
			return nil, responseError(op, resp)
		}
		return nil, c.transportError(op, err)
	}
	if conn.Subprotocol() != ShellSubprotocol {
		conn.Close()
		return nil, fmt.Errorf("%s: the daemon did not agree to subprotocol %s", op, ShellSubprotocol)
	}
	conn.SetReadLimit(shellproto.MaxFrameSize)
	s := &Shell{conn: conn, ctx: ctx}
	s.stop = context.AfterFunc(ctx, func() { conn.Close() })
	return s, nil
}

// Write sends p to the program's input, split into frames as needed.
func (s *Shell) Write(p []byte) (int, error) {
	n := 0
	for len(p) > 0 {
		chunk := p[:min(len(p), shellproto.MaxPayload)]
		if err := s.send(shellproto.Encode(agentapi.ChannelStdin, chunk)); err != nil {
			return n, err
		}
		n += len(chunk)
		p = p[len(chunk):]
	}
	return n, nil
}

// Resize tells the PTY its new size.
func (s *Shell) Resize(cols, rows uint16) error {
	if cols == 0 || rows == 0 {
		return fmt.Errorf("shell resize: %dx%d: both dimensions must be non-zero", cols, rows)
	}
	return s.send(shellproto.EncodeResize(cols, rows))
}

func (s *Shell) send(frame []byte) error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	if err := s.conn.WriteMessage(websocket.BinaryMessage, frame); err != nil {
		return s.wrap("shell write", err)
	}
	return nil
}

// Read reads the program's output. It returns io.EOF once the program
// ended and Status is known.
func (s *Shell) Read(p []byte) (int, error) {
	for len(s.pending) == 0 {
		if s.status != nil {
			return 0, io.EOF
		}
		if s.err != nil {
			return 0, s.err
		}
		s.next()
	}
	n := copy(p, s.pending)
	s.pending = s.pending[n:]
	return n, nil
}

// next reads one frame into pending, status or err.
func (s *Shell) next() {
	typ, msg, err := s.conn.ReadMessage()
	if err != nil {
		s.err = s.wrap("shell read", err)
		return
	}
	if typ != websocket.BinaryMessage {
		s.err = fmt.Errorf("shell read: unexpected text message")
		return
	}
	f, err := shellproto.Decode(msg)
	if err != nil {
		s.err = fmt.Errorf("shell read: %w", err)
		return
	}
	switch f.Channel {
	case agentapi.ChannelOutput:
		s.pending = f.Data
	case agentapi.ChannelStatus:
		st, err := f.Status()
		if err != nil {
			s.err = fmt.Errorf("shell read: %w", err)
			return
		}
		s.status = &ShellStatus{ExitCode: st.ExitCode, Signal: st.Signal, Reason: st.Reason}
	}
}

// wrap explains a websocket error: a close without a status frame means
// the session ended abnormally.
func (s *Shell) wrap(op string, err error) error {
	if ctxErr := s.ctx.Err(); ctxErr != nil {
		return fmt.Errorf("%s: %w", op, ctxErr)
	}
	var ce *websocket.CloseError
	if errors.As(err, &ce) {
		return fmt.Errorf("%s: session closed before the program ended (%d %s): %w",
			op, ce.Code, ce.Text, io.ErrUnexpectedEOF)
	}
	return fmt.Errorf("%s: %w", op, err)
}

// Status returns how the program ended, once Read returned io.EOF.
func (s *Shell) Status() (ShellStatus, error) {
	if s.status == nil {
		return ShellStatus{}, errors.New("shell: the program has not ended")
	}
	return *s.status, nil
}

// Close ends the session; the program is hung up if still running.
func (s *Shell) Close() error {
	s.stop()
	s.wmu.Lock()
	_ = s.conn.WriteControl(websocket.CloseMessage,
		websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(time.Second))
	s.wmu.Unlock()
	return s.conn.Close()
}
