package benchkit

import (
	"bytes"
	"fmt"
	"time"

	"github.com/gorilla/websocket"

	"github.com/velocitty/microvm/guest/agentapi"
)

// KeystrokeArgv runs cat on a raw, non-echoing terminal after printing
// "ready": every byte sent comes back exactly once.
var KeystrokeArgv = []string{"sh", "-c", "stty raw -echo && echo ready && exec cat"}

// Keystrokes measures keystroke round trips on a shell websocket (agent or
// daemon, same framing) running KeystrokeArgv: it sends one byte, waits for
// its echo, n times after warm warm-up keys, and returns the round trips
// in µs.
func Keystrokes(ws *websocket.Conn, n, warm int) (Samples, error) {
	var got []byte
	for !bytes.Contains(got, []byte("ready")) {
		_, m, err := ws.ReadMessage()
		if err != nil {
			return nil, fmt.Errorf("keystrokes: waiting for the shell: %w", err)
		}
		if len(m) > 0 && m[0] == agentapi.ChannelOutput {
			got = append(got, m[1:]...)
		}
	}
	frame := []byte{agentapi.ChannelStdin, 'x'}
	lat := make(Samples, 0, n)
	for i := range n + warm {
		t0 := time.Now()
		if err := ws.WriteMessage(websocket.BinaryMessage, frame); err != nil {
			return nil, fmt.Errorf("keystrokes: %w", err)
		}
		for {
			_, m, err := ws.ReadMessage()
			if err != nil {
				return nil, fmt.Errorf("keystrokes: %w", err)
			}
			if len(m) > 1 && m[0] == agentapi.ChannelOutput && bytes.IndexByte(m[1:], 'x') >= 0 {
				break
			}
		}
		if i >= warm {
			lat = append(lat, float64(time.Since(t0).Nanoseconds())/1e3)
		}
	}
	return lat, nil
}
