package daemon

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/velocitty/microvm/internal/atomicfile"
)

const tokenBytes = 32

// loadOrCreateToken returns the token stored at path, or writes a new
// random one (0600) when the file is missing or does not hold a valid
// token. A valid file is kept so that clients holding the token keep
// working across restarts; its mode is tightened if needed.
func loadOrCreateToken(path string) (string, error) {
	data, err := os.ReadFile(path)
	switch {
	case err == nil:
		tok := string(bytes.TrimSpace(data))
		if validToken(tok) {
			if err := os.Chmod(path, 0o600); err != nil {
				return "", fmt.Errorf("token: %w", err)
			}
			return tok, nil
		}
	case !errors.Is(err, fs.ErrNotExist):
		return "", fmt.Errorf("token: %w", err)
	}
	buf := make([]byte, tokenBytes)
	if _, err := rand.Read(buf); err != nil {
		return "", fmt.Errorf("token: %w", err)
	}
	tok := hex.EncodeToString(buf)
	if err := atomicfile.Write(path, []byte(tok+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("token: %w", err)
	}
	return tok, nil
}

func validToken(tok string) bool {
	b, err := hex.DecodeString(tok)
	return err == nil && len(b) == tokenBytes
}
