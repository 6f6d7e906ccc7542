// Package shellproto encodes and decodes the frames of the agent's shell
// websocket (subprotocol agentapi.ShellSubprotocol): each binary websocket
// message is one frame whose first byte names the channel and whose rest is
// the payload. The agent and the daemon share it so both ends agree on the
// framing and on what counts as malformed.
package shellproto

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/velocitty/microvm/guest/agentapi"
)

// MaxFrameSize bounds one frame, channel byte included. Either side may
// refuse larger frames; senders split their data below it.
const MaxFrameSize = 64 << 10

// MaxPayload is the largest payload that fits in one frame.
const MaxPayload = MaxFrameSize - 1

// Errors returned by Decode. They say what was wrong with a frame so that a
// receiver can close the websocket with a clear reason.
var (
	ErrEmptyFrame     = errors.New("truncated frame: no channel byte")
	ErrFrameTooLarge  = fmt.Errorf("frame larger than %d bytes", MaxFrameSize)
	ErrUnknownChannel = errors.New("unknown channel")
	ErrBadPayload     = errors.New("malformed payload")
)

// Frame is one decoded frame. Data aliases the decoded buffer.
type Frame struct {
	Channel byte
	Data    []byte
}

// Append appends the frame (channel, data) to dst and returns it.
func Append(dst []byte, channel byte, data []byte) []byte {
	dst = append(dst, channel)
	return append(dst, data...)
}

// Encode returns a new frame carrying data on channel.
func Encode(channel byte, data []byte) []byte {
	return Append(make([]byte, 0, 1+len(data)), channel, data)
}

// EncodeResize returns a resize frame.
func EncodeResize(cols, rows uint16) []byte {
	b, _ := json.Marshal(agentapi.ShellResize{Cols: cols, Rows: rows})
	return Encode(agentapi.ChannelResize, b)
}

// EncodeStatus returns a status frame.
func EncodeStatus(st agentapi.ShellStatus) []byte {
	b, _ := json.Marshal(st)
	return Encode(agentapi.ChannelStatus, b)
}

// Decode splits a websocket message into its channel and payload. It
// rejects empty and oversized messages and channels this protocol version
// does not define; it does not parse JSON payloads (see Resize and Status).
func Decode(msg []byte) (Frame, error) {
	if len(msg) == 0 {
		return Frame{}, ErrEmptyFrame
	}
	if len(msg) > MaxFrameSize {
		return Frame{}, ErrFrameTooLarge
	}
	switch ch := msg[0]; ch {
	case agentapi.ChannelStdin, agentapi.ChannelOutput, agentapi.ChannelStatus, agentapi.ChannelResize:
		return Frame{Channel: ch, Data: msg[1:]}, nil
	default:
		return Frame{}, fmt.Errorf("%w %d", ErrUnknownChannel, ch)
	}
}

// Resize parses the payload of a ChannelResize frame. Both dimensions must
// be non-zero.
func (f Frame) Resize() (agentapi.ShellResize, error) {
	var r agentapi.ShellResize
	if f.Channel != agentapi.ChannelResize {
		return r, fmt.Errorf("%w: channel %d is not resize", ErrBadPayload, f.Channel)
	}
	if err := json.Unmarshal(f.Data, &r); err != nil {
		return r, fmt.Errorf("%w: resize: %v", ErrBadPayload, err)
	}
	if r.Cols == 0 || r.Rows == 0 {
		return r, fmt.Errorf("%w: resize: cols and rows must be non-zero", ErrBadPayload)
	}
	return r, nil
}

// Status parses the payload of a ChannelStatus frame.
func (f Frame) Status() (agentapi.ShellStatus, error) {
	var s agentapi.ShellStatus
	if f.Channel != agentapi.ChannelStatus {
		return s, fmt.Errorf("%w: channel %d is not status", ErrBadPayload, f.Channel)
	}
	if err := json.Unmarshal(f.Data, &s); err != nil {
		return s, fmt.Errorf("%w: status: %v", ErrBadPayload, err)
	}
	return s, nil
}
