package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"

	"github.com/velocitty/microvm/guest/agentapi"
	"github.com/velocitty/microvm/guest/shellproto"
)

// Status reasons the relay reports when the agent could not.
const (
	reasonVMStopped    = "vm stopped"
	reasonShuttingDown = "daemon shutting down"
)

// shellTimings tune the relay.
type shellTimings struct {
	// write bounds one write to the client. While a write waits, the
	// relay reads nothing from the agent, so the program blocks on its
	// terminal; a client that reads nothing for this long is dropped.
	write time.Duration
	// ping is the keepalive interval towards both ends.
	ping time.Duration
	// silence ends the relay when an end sent neither a message nor a
	// pong for this long: a dead peer, or a network that lost it.
	silence time.Duration
	// grace bounds the wait for a close handshake.
	grace time.Duration
}

var defaultShellTimings = shellTimings{
	write:   30 * time.Second,
	ping:    20 * time.Second,
	silence: 50 * time.Second,
	grace:   time.Second,
}

// shellTimingsOverride, when set, replaces the defaults (tests).
var shellTimingsOverride atomic.Pointer[shellTimings]

func currentShellTimings() shellTimings {
	if t := shellTimingsOverride.Load(); t != nil {
		return *t
	}
	return defaultShellTimings
}

// frameBuffers hold one frame each. A relay takes one per message and
// returns it once the message is written, so an idle shell holds none and
// a busy one at most one per direction.
var frameBuffers = sync.Pool{New: func() any {
	// One byte more than a frame may hold, to tell a full frame from a
	// larger one (the read limit normally catches those first).
	b := make([]byte, shellproto.MaxFrameSize+1)
	return &b
}}

// shellWriteBuffers lends the client connections their write buffers
// only while they write.
var shellWriteBuffers = new(sync.Pool)

// shellCloseError ends a shell because the client broke the protocol.
type shellCloseError struct {
	code int
	text string
}

func (e *shellCloseError) Error() string { return e.text }

// relay joins a client's websocket to the agent's. Frames pass through
// unchanged; each direction holds at most one frame, and a blocked write
// stops the reads behind it, so backpressure reaches the program on one
// side and the client's TCP window on the other.
type relay struct {
	client, agent *websocket.Conn
	t             shellTimings
}

// outcome is how the output pump ended.
type outcome struct {
	status    *agentapi.ShellStatus // forwarded from the agent, if it sent one
	clientErr error                 // a failed write to the client
}

func newRelay(client, agent *websocket.Conn, t shellTimings) *relay {
	for _, c := range []*websocket.Conn{client, agent} {
		c.SetReadLimit(shellproto.MaxFrameSize)
		c.SetPongHandler(func(string) error {
			return c.SetReadDeadline(time.Now().Add(t.silence))
		})
	}
	return &relay{client: client, agent: agent, t: t}
}

// run relays until the agent's side ends (the program exited, the VM went
// away), the client leaves or breaks the protocol, or ctx ends (the
// daemon shuts down). It then ends the other side, tells the client why
// with a status frame where one is due, closes both connections and
// returns the status, once every goroutine it started has finished.
func (rl *relay) run(ctx context.Context) agentapi.ShellStatus {
	out := make(chan outcome, 1)
	go func() { out <- rl.pumpOutput() }()
	in := make(chan error, 1)
	go func() { in <- rl.pumpInput() }()
	stopPing, pingDone := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(pingDone)
		rl.keepAlive(stopPing)
	}()
	defer func() {
		close(stopPing)
		<-pingDone
	}()

	var (
		o        outcome
		inErr    error
		inDone   bool
		shutdown bool
	)
	select {
	case o = <-out:
		rl.agent.Close()
	case inErr = <-in:
		inDone = true
		o = rl.stopAgent(websocket.CloseNormalClosure, out)
	case <-ctx.Done():
		shutdown = true
		o = rl.stopAgent(websocket.CloseGoingAway, out)
	}
	// The output pump has stopped: this goroutine is the client's only
	// writer from here on.
	var (
		violation *shellCloseError
		st        agentapi.ShellStatus
		code      = websocket.CloseNormalClosure
		text      string
	)
	switch {
	case o.status != nil:
		st = *o.status
	case inDone && errors.As(inErr, &violation):
		st = agentapi.ShellStatus{ExitCode: -1, Reason: "protocol error: " + violation.text}
		code, text = violation.code, violation.text
	case inDone:
		st = agentapi.ShellStatus{ExitCode: -1, Reason: "client left"}
	case shutdown:
		st = agentapi.ShellStatus{ExitCode: -1, Reason: reasonShuttingDown}
		code, text = websocket.CloseGoingAway, reasonShuttingDown
	default:
		st = agentapi.ShellStatus{ExitCode: -1, Reason: reasonVMStopped}
	}
	clientOK := o.clientErr == nil && (!inDone || violation != nil)
	if clientOK && o.status == nil && violation == nil {
		rl.client.SetWriteDeadline(time.Now().Add(rl.t.grace))
		clientOK = rl.client.WriteMessage(websocket.BinaryMessage, shellproto.EncodeStatus(st)) == nil
	}
	if clientOK {
		deadline := time.Now().Add(rl.t.grace)
		if rl.client.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, text), deadline) == nil && !inDone {
			// Let the client answer the close before the socket goes,
			// so that its unread data does not turn our close into a
			// reset.
			timer := time.NewTimer(rl.t.grace)
			select {
			case <-in:
				inDone = true
			case <-timer.C:
			}
			timer.Stop()
		}
	}
	rl.client.Close()
	if !inDone {
		<-in
	}
	return st
}

// stopAgent ends the agent's side, which hangs the shell up, and waits
// for the output pump. A pump stuck writing to a client that does not
// read is freed by closing the client.
func (rl *relay) stopAgent(code int, out <-chan outcome) outcome {
	rl.agent.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, ""), time.Now().Add(rl.t.grace))
	rl.agent.Close()
	timer := time.NewTimer(rl.t.grace)
	defer timer.Stop()
	select {
	case o := <-out:
		return o
	case <-timer.C:
		rl.client.Close()
		o := <-out
		if o.clientErr == nil {
			o.clientErr = errors.New("client not reading")
		}
		return o
	}
}

// pumpOutput forwards the agent's output and status frames to the client
// as they came, until the agent's side ends or a client write fails.
func (rl *relay) pumpOutput() outcome {
	var o outcome
	for {
		rl.agent.SetReadDeadline(time.Now().Add(rl.t.silence))
		typ, r, err := rl.agent.NextReader()
		if err != nil {
			return o
		}
		if typ != websocket.BinaryMessage {
			continue
		}
		bp := frameBuffers.Get().(*[]byte)
		n, err := io.ReadFull(r, *bp)
		if err == nil || (err != io.ErrUnexpectedEOF && err != io.EOF) {
			frameBuffers.Put(bp)
			return o // broken, or a frame too large: the agent is not speaking the protocol
		}
		msg := (*bp)[:n]
		forward := n > 0 && o.status == nil &&
			(msg[0] == agentapi.ChannelOutput || msg[0] == agentapi.ChannelStatus)
		if forward && msg[0] == agentapi.ChannelStatus {
			st, err := shellproto.Frame{Channel: msg[0], Data: msg[1:]}.Status()
			if err != nil {
				st = agentapi.ShellStatus{ExitCode: -1, Reason: "malformed status from the agent"}
			}
			o.status = &st
		}
		if forward {
			rl.client.SetWriteDeadline(time.Now().Add(rl.t.write))
			err = rl.client.WriteMessage(websocket.BinaryMessage, msg)
		}
		frameBuffers.Put(bp)
		if err != nil {
			o.clientErr = err
			return o
		}
	}
}

// pumpInput forwards the client's stdin and resize frames to the agent
// until the client leaves or sends anything else. Once the agent's side
// has failed it drops input, so that the client's close can still be
// read while the output pump reports the end.
func (rl *relay) pumpInput() error {
	agentOK := true
	for {
		rl.client.SetReadDeadline(time.Now().Add(rl.t.silence))
		typ, r, err := rl.client.NextReader()
		if err != nil {
			return err
		}
		if typ != websocket.BinaryMessage {
			return &shellCloseError{websocket.CloseUnsupportedData, "text frames are not part of " + agentapi.ShellSubprotocol}
		}
		bp := frameBuffers.Get().(*[]byte)
		n, err := io.ReadFull(r, *bp)
		if err == nil || errors.Is(err, websocket.ErrReadLimit) {
			frameBuffers.Put(bp)
			return &shellCloseError{websocket.CloseMessageTooBig, "frame too large"}
		}
		if err != io.ErrUnexpectedEOF && err != io.EOF {
			frameBuffers.Put(bp)
			return err
		}
		msg := (*bp)[:n]
		if err := checkInput(msg); err != nil {
			frameBuffers.Put(bp)
			return err
		}
		if agentOK {
			// Blocks while the program does not read its terminal,
			// which stops our reads and pushes back on the client.
			if err := rl.agent.WriteMessage(websocket.BinaryMessage, msg); err != nil {
				agentOK = false
				rl.agent.Close() // make sure the output pump sees the end
			}
		}
		frameBuffers.Put(bp)
	}
}

// checkInput admits the frames clients may send: stdin, and resize with
// a well-formed size.
func checkInput(msg []byte) error {
	f, err := shellproto.Decode(msg)
	if err != nil {
		return &shellCloseError{websocket.ClosePolicyViolation, err.Error()}
	}
	switch f.Channel {
	case agentapi.ChannelStdin:
	case agentapi.ChannelResize:
		if _, err := f.Resize(); err != nil {
			return &shellCloseError{websocket.ClosePolicyViolation, err.Error()}
		}
	default:
		return &shellCloseError{websocket.ClosePolicyViolation, fmt.Sprintf("channel %d is not sent by clients", f.Channel)}
	}
	return nil
}

// keepAlive pings both ends until stop is closed. A ping that cannot be
// sent now (a data write holds the connection) is skipped: the write has
// its own deadline.
func (rl *relay) keepAlive(stop <-chan struct{}) {
	tick := time.NewTicker(rl.t.ping)
	defer tick.Stop()
	for {
		select {
		case <-stop:
			return
		case <-tick.C:
		}
		deadline := time.Now().Add(rl.t.grace)
		rl.client.WriteControl(websocket.PingMessage, nil, deadline)
		rl.agent.WriteControl(websocket.PingMessage, nil, deadline)
	}
}
