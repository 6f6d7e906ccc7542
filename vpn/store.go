package vpn

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/velocitty/microvm/errdefs"
)

// Store keeps profiles in a directory:
//
//	profiles/NAME.json     the rendered config and timestamps
//	credentials/NAME.json  username and password, only if any was given
//
// Every file is 0600 and written atomically, every directory 0700. The
// rendered config still holds the inline private key, so both files are
// secret; only the Profile view leaves the store. A Store is safe for
// concurrent use; one process should own a directory.
type Store struct {
	dir string
	now func() time.Time

	mu sync.Mutex // serializes writers, and readers against writers
}

// PutInput is a profile to create or replace.
//
// Username and Password are applied independently: nil keeps the stored
// value (none for a new profile), a pointer to "" clears it, and any other
// value replaces it. So re-uploading a provider's new .ovpn keeps the
// credentials already saved.
type PutInput struct {
	Config   []byte
	Username *string
	Password *string
}

// Profile is the public, redacted view of a stored profile.
type Profile struct {
	Name        string    `json:"name"`
	Summary     Summary   `json:"summary"`
	HasUsername bool      `json:"hasUsername"`
	HasPassword bool      `json:"hasPassword"`
	CreatedAt   time.Time `json:"createdAt"`
	UpdatedAt   time.Time `json:"updatedAt"`
}

const (
	profilesDir    = "profiles"
	credentialsDir = "credentials"
	fileMode       = 0o600
	dirMode        = 0o700
	recordVersion  = 1
)

type record struct {
	Version   int       `json:"version"`
	Name      string    `json:"name"`
	Config    string    `json:"config"`
	CreatedAt time.Time `json:"createdAt"`
	UpdatedAt time.Time `json:"updatedAt"`
}

type credentials struct {
	Username string `json:"username,omitempty"`
	Password string `json:"password,omitempty"`
}

// NewStore opens the store in dir, creating it (0700) if needed, and
// removes temporary files left by an interrupted write.
func NewStore(dir string) (*Store, error) {
	for _, d := range []string{dir, filepath.Join(dir, profilesDir), filepath.Join(dir, credentialsDir)} {
		if err := os.MkdirAll(d, dirMode); err != nil {
			return nil, fmt.Errorf("open profile store: %w", err)
		}
		if err := os.Chmod(d, dirMode); err != nil {
			return nil, fmt.Errorf("open profile store: %w", err)
		}
		if err := removeTemps(d); err != nil {
			return nil, fmt.Errorf("open profile store: %w", err)
		}
	}
	return &Store{dir: dir, now: time.Now}, nil
}

// removeTemps deletes leftovers of atomic writes. Profile names cannot
// start with '.', so no dot file is ever a profile.
func removeTemps(dir string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") && strings.Contains(e.Name(), ".tmp-") && e.Type().IsRegular() {
			if err := os.Remove(filepath.Join(dir, e.Name())); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return err
			}
		}
	}
	return nil
}

func (s *Store) recordPath(name string) string {
	return filepath.Join(s.dir, profilesDir, name+".json")
}

func (s *Store) credentialsPath(name string) string {
	return filepath.Join(s.dir, credentialsDir, name+".json")
}

// Put creates or replaces the profile called name. The config is parsed
// with Parse and stored rendered; created reports whether it is new.
func (s *Store) Put(ctx context.Context, name string, in PutInput) (p Profile, created bool, err error) {
	if err := ctx.Err(); err != nil {
		return Profile{}, false, err
	}
	if err := ValidName(name); err != nil {
		return Profile{}, false, err
	}
	if in.Username != nil {
		if err := validCredential("username", *in.Username); err != nil {
			return Profile{}, false, err
		}
	}
	if in.Password != nil {
		if err := validCredential("password", *in.Password); err != nil {
			return Profile{}, false, err
		}
	}
	cfg, err := Parse(in.Config)
	if err != nil {
		return Profile{}, false, fmt.Errorf("put profile %s: %w", name, err)
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	old, err := s.readRecord(name)
	created = errors.Is(err, errdefs.ErrNotFound)
	// An unreadable record can still be replaced; it just loses its
	// creation time.
	corrupt := errors.Is(err, errdefs.ErrInternal)
	if err != nil && !created && !corrupt {
		return Profile{}, false, fmt.Errorf("put profile %s: %w", name, err)
	}
	var creds credentials
	now := s.now().UTC()
	rec := record{Version: recordVersion, Name: name, Config: string(cfg.rendered), CreatedAt: now, UpdatedAt: now}
	if created {
		if err := s.checkCaseClash(name); err != nil {
			return Profile{}, false, fmt.Errorf("put profile %s: %w", name, err)
		}
	} else {
		if !corrupt {
			rec.CreatedAt = old.CreatedAt
		}
		if creds, err = s.readCredentials(name); err != nil {
			return Profile{}, false, fmt.Errorf("put profile %s: %w", name, err)
		}
	}
	if in.Username != nil {
		creds.Username = *in.Username
	}
	if in.Password != nil {
		creds.Password = *in.Password
	}
	// A new profile's credentials go first, so that a crash in between
	// leaves no visible profile without them, only orphaned credentials
	// that the next create of the name removes. A replaced profile's
	// record goes first: a crash in between leaves the new config with the
	// old credentials, which the next Put repairs.
	writes := []func() error{
		func() error { return s.writeJSON(s.recordPath(name), rec) },
		func() error { return s.writeCredentials(name, creds) },
	}
	if created {
		writes[0], writes[1] = writes[1], writes[0]
	}
	for _, write := range writes {
		if err := write(); err != nil {
			return Profile{}, false, fmt.Errorf("put profile %s: %w", name, err)
		}
	}
	return profileOf(rec, cfg, creds), created, nil
}

// checkCaseClash refuses a new name that differs from an existing one only
// in case: the two would be one file on Windows and macOS.
func (s *Store) checkCaseClash(name string) error {
	names, err := s.names()
	if err != nil {
		return err
	}
	for _, n := range names {
		if strings.EqualFold(n, name) {
			return fmt.Errorf("profile %s exists and differs only in case: %w", n, errdefs.ErrAlreadyExists)
		}
	}
	// A new profile never inherits credentials orphaned by a crash
	// during an earlier Delete.
	if err := os.Remove(s.credentialsPath(name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

// Get returns the profile called name, or an error matching
// errdefs.ErrNotFound.
func (s *Store) Get(ctx context.Context, name string) (Profile, error) {
	if err := ctx.Err(); err != nil {
		return Profile{}, err
	}
	if err := ValidName(name); err != nil {
		return Profile{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	p, err := s.load(name)
	if err != nil {
		return Profile{}, fmt.Errorf("get profile %s: %w", name, err)
	}
	return p, nil
}

// List returns every profile, sorted by name.
func (s *Store) List(ctx context.Context) ([]Profile, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	names, err := s.names()
	if err != nil {
		return nil, fmt.Errorf("list profiles: %w", err)
	}
	out := make([]Profile, 0, len(names))
	for _, n := range names {
		p, err := s.load(n)
		if errors.Is(err, errdefs.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("list profiles: %s: %w", n, err)
		}
		out = append(out, p)
	}
	return out, nil
}

// Delete removes the profile and its credentials.
func (s *Store) Delete(ctx context.Context, name string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := ValidName(name); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := os.Remove(s.recordPath(name)); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("delete profile %s: %w", name, errdefs.ErrNotFound)
		}
		return fmt.Errorf("delete profile %s: %w", name, err)
	}
	if err := os.Remove(s.credentialsPath(name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("delete profile %s: credentials: %w", name, err)
	}
	return nil
}

// Credentials returns the stored username and password ("" when unset),
// for handing to the guest agent. Callers must not log them.
func (s *Store) Credentials(ctx context.Context, name string) (username, password string, err error) {
	if err := ctx.Err(); err != nil {
		return "", "", err
	}
	if err := ValidName(name); err != nil {
		return "", "", err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, err := s.readRecord(name); err != nil {
		return "", "", fmt.Errorf("profile credentials %s: %w", name, err)
	}
	c, err := s.readCredentials(name)
	if err != nil {
		return "", "", fmt.Errorf("profile credentials %s: %w", name, err)
	}
	return c.Username, c.Password, nil
}

// Config returns the rendered config to ship to openvpn. It is parsed
// again on the way out, so a file altered on disk, or a profile stored
// before a rule was tightened, is refused rather than shipped.
func (s *Store) Config(ctx context.Context, name string) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := ValidName(name); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	rec, err := s.readRecord(name)
	if err != nil {
		return nil, fmt.Errorf("profile config %s: %w", name, err)
	}
	cfg, err := parseStored(rec)
	if err != nil {
		return nil, fmt.Errorf("profile config %s: %w", name, err)
	}
	return cfg.Render(), nil
}
