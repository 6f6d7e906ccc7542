//go:build linux

package shell

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/gorilla/websocket"

	"github.com/velocitty/microvm/guest/agentapi"
	"github.com/velocitty/microvm/guest/shellproto"
)

// Config tunes Serve. Zero fields take the defaults below.
type Config struct {
	// WriteTimeout bounds one websocket write. A client that reads nothing
	// for this long is dropped and its shell hung up.
	WriteTimeout time.Duration
	// HangupGrace is how long processes get between SIGHUP and SIGKILL.
	HangupGrace time.Duration
	// DrainTimeout bounds the wait for the last output after the shell has
	// exited, in case something outside the session keeps the PTY open.
	DrainTimeout time.Duration
}

// Defaults of Config.
const (
	DefaultWriteTimeout = 30 * time.Second
	DefaultHangupGrace  = 2 * time.Second
	DefaultDrainTimeout = 2 * time.Second
)

// WithDefaults returns c with its zero fields set to the defaults.
func (c Config) WithDefaults() Config {
	if c.WriteTimeout <= 0 {
		c.WriteTimeout = DefaultWriteTimeout
	}
	if c.HangupGrace <= 0 {
		c.HangupGrace = DefaultHangupGrace
	}
	if c.DrainTimeout <= 0 {
		c.DrainTimeout = DefaultDrainTimeout
	}
	return c
}

// ReasonShutdown is the status reason when the agent ends a shell because
// it is shutting down.
const ReasonShutdown = "agent shutting down"

// closeError is a client error that ends the shell with a close code.
type closeError struct {
	code int
	msg  string
}

func (e *closeError) Error() string { return e.msg }

// Serve connects the session to the websocket until one of them ends, then
// ends the other: an exited shell gets its status frame and a normal
// close; a client that left or broke the protocol gets its shell hung up;
// cancelling ctx hangs the shell up and reports ReasonShutdown. Serve
// closes both ws and s, and returns once every goroutine it started is done.
func Serve(ctx context.Context, ws *websocket.Conn, s *Session, cfg Config) agentapi.ShellStatus {
	cfg = cfg.WithDefaults()
	ws.SetReadLimit(shellproto.MaxFrameSize)

	outDone := make(chan struct{})
	go func() {
		defer close(outDone)
		pumpOutput(ws, s, cfg.WriteTimeout)
	}()
	inErr := make(chan error, 1)
	go func() { inErr <- pumpInput(ws, s) }()

	var (
		reason    string
		closeCode = websocket.CloseNormalClosure
		closeText string
		clientOK  = true
		inputDone bool
	)
	select {
	case <-s.Done():
	case err := <-inErr:
		inputDone = true
		var ce *closeError
		if errors.As(err, &ce) {
			reason = "protocol error: " + ce.msg
			closeCode, closeText = ce.code, ce.msg
		} else {
			clientOK = false // gone: nobody to report to
		}
	case <-ctx.Done():
		reason = ReasonShutdown
		closeCode, closeText = websocket.CloseGoingAway, ReasonShutdown
	}
	// End the session as a closed terminal would (when the leader exited
	// by itself, this ends what it left behind), then let the output pump
	// drain what is left.
	s.Hangup(cfg.HangupGrace)
	select {
	case <-outDone:
	case <-time.After(cfg.DrainTimeout):
		s.Close() // something outside the session holds the PTY: stop reading
		<-outDone
	}
	st := s.Status()
	st.Reason = reason
	if clientOK {
		deadline := time.Now().Add(cfg.WriteTimeout)
		ws.SetWriteDeadline(deadline)
		if err := ws.WriteMessage(websocket.BinaryMessage, shellproto.EncodeStatus(st)); err == nil {
			ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(closeCode, closeText), deadline)
			// Let the client answer the close before the socket goes, so
			// unread input does not turn our close into a reset.
			if !inputDone {
				select {
				case <-inErr:
					inputDone = true
				case <-time.After(time.Second):
				}
			}
		}
	}
	ws.Close()
	s.Close()
	if !inputDone {
		<-inErr
	}
	return st
}

// pumpOutput copies terminal output to the client, one frame per read.
// A client that does not read blocks the write, which stops the reads, so
// the program blocks on its terminal: memory stays at one buffer. A write
// that times out or fails ends forwarding; the pump then discards output
// until the terminal closes so that nothing blocks on it.
func pumpOutput(ws *websocket.Conn, s *Session, timeout time.Duration) {
	buf := make([]byte, 1+32<<10)
	buf[0] = agentapi.ChannelOutput
	forward := true
	for {
		n, err := s.Read(buf[1:])
		if n > 0 && forward {
			ws.SetWriteDeadline(time.Now().Add(timeout))
			if werr := ws.WriteMessage(websocket.BinaryMessage, buf[:1+n]); werr != nil {
				forward = false
				// Unblock the input pump and make Serve hang up the shell.
				ws.NetConn().Close()
			}
		}
		if err != nil {
			return
		}
	}
}

// pumpInput applies the client's frames to the session until the client
// closes, fails or breaks the protocol. Input after the session ended is
// read and dropped, so that the client's close can still be seen.
func pumpInput(ws *websocket.Conn, s *Session) error {
	// One byte more than a frame may hold, to tell "full" from "too big"
	// (the read limit normally catches the latter first).
	buf := make([]byte, shellproto.MaxFrameSize+1)
	for {
		typ, r, err := ws.NextReader()
		if err != nil {
			return err
		}
		if typ != websocket.BinaryMessage {
			return &closeError{websocket.CloseUnsupportedData, "text frames are not part of " + agentapi.ShellSubprotocol}
		}
		n, err := io.ReadFull(r, buf)
		if err == nil {
			return &closeError{websocket.CloseMessageTooBig, "frame too large"}
		}
		if err != io.ErrUnexpectedEOF && err != io.EOF {
			return err
		}
		f, err := shellproto.Decode(buf[:n])
		if err != nil {
			return &closeError{websocket.CloseProtocolError, err.Error()}
		}
		switch f.Channel {
		case agentapi.ChannelStdin:
			// This blocks while the program does not read its terminal,
			// which stops our reads and so pushes back on the client.
			// Ending the session closes the terminal and unblocks it.
			if _, err := s.Write(f.Data); err != nil && !s.exited() {
				return err
			}
		case agentapi.ChannelResize:
			sz, err := f.Resize()
			if err != nil {
				return &closeError{websocket.CloseProtocolError, err.Error()}
			}
			s.Resize(sz.Cols, sz.Rows)
		default:
			return &closeError{websocket.CloseProtocolError, fmt.Sprintf("channel %d is not sent by clients", f.Channel)}
		}
	}
}
