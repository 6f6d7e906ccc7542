package server

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"sync"
	"time"
)

// Console sessions. `microvm-api console` asks for a one-time login code
// with the bearer token; the browser trades the code for a session
// cookie. Both live in memory only, so a restart logs every browser out.
const (
	sessionCookie = "microvm-session"
	loginCodeTTL  = 60 * time.Second
	sessionIdle   = 12 * time.Hour
	maxLoginCodes = 32 // outstanding codes; the oldest go first
	maxSessions   = 64 // sessions; the least recently used go first
)

// sessionStore holds login codes and sessions. It keeps only SHA-256
// hashes of both, so that looking one up takes no time that depends on
// how much of a guess matches, and a heap dump holds no usable secret.
type sessionStore struct {
	mu       sync.Mutex
	codes    map[[32]byte]time.Time // code hash -> expiry
	sessions map[[32]byte]time.Time // session id hash -> last use
	codeTTL  time.Duration
	idle     time.Duration
}

func newSessionStore() *sessionStore {
	return &sessionStore{
		codes:    make(map[[32]byte]time.Time),
		sessions: make(map[[32]byte]time.Time),
		codeTTL:  loginCodeTTL,
		idle:     sessionIdle,
	}
}

// randomToken returns 32 random bytes, base64url-encoded.
func randomToken() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("random token: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// newCode mints a one-time login code and tells when it expires.
func (s *sessionStore) newCode() (string, time.Time, error) {
	code, err := randomToken()
	if err != nil {
		return "", time.Time{}, err
	}
	now := time.Now()
	exp := now.Add(s.codeTTL)
	s.mu.Lock()
	defer s.mu.Unlock()
	for h, e := range s.codes {
		if !now.Before(e) {
			delete(s.codes, h)
		}
	}
	if len(s.codes) >= maxLoginCodes {
		evictOldest(s.codes)
	}
	s.codes[sha256.Sum256([]byte(code))] = exp
	return code, exp, nil
}

// redeem consumes a login code and returns a new session id. It fails
// for an unknown, used or expired code.
func (s *sessionStore) redeem(code string) (string, bool, error) {
	h := sha256.Sum256([]byte(code))
	now := time.Now()
	s.mu.Lock()
	exp, ok := s.codes[h]
	delete(s.codes, h)
	s.mu.Unlock()
	if !ok || !now.Before(exp) {
		return "", false, nil
	}
	id, err := randomToken()
	if err != nil {
		return "", false, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pruneSessions(now)
	if len(s.sessions) >= maxSessions {
		evictOldest(s.sessions)
	}
	s.sessions[sha256.Sum256([]byte(id))] = now
	return id, true, nil
}

// valid reports whether id is a live session, and marks it used.
func (s *sessionStore) valid(id string) bool {
	if id == "" {
		return false
	}
	h := sha256.Sum256([]byte(id))
	now := time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	last, ok := s.sessions[h]
	if !ok {
		return false
	}
	if now.Sub(last) >= s.idle {
		delete(s.sessions, h)
		return false
	}
	s.sessions[h] = now
	return true
}

// end forgets a session.
func (s *sessionStore) end(id string) {
	h := sha256.Sum256([]byte(id))
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.sessions, h)
}

func (s *sessionStore) pruneSessions(now time.Time) {
	for h, last := range s.sessions {
		if now.Sub(last) >= s.idle {
			delete(s.sessions, h)
		}
	}
}

// evictOldest removes the entry with the earliest time.
func evictOldest(m map[[32]byte]time.Time) {
	var (
		oldest [32]byte
		when   time.Time
		found  bool
	)
	for h, t := range m {
		if !found || t.Before(when) {
			oldest, when, found = h, t, true
		}
	}
	delete(m, oldest)
}
