package vpn

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/velocitty/microvm/errdefs"
	"github.com/velocitty/microvm/internal/atomicfile"
)

// load reads one profile's public view. The caller holds s.mu.
func (s *Store) load(name string) (Profile, error) {
	rec, err := s.readRecord(name)
	if err != nil {
		return Profile{}, err
	}
	cfg, err := parseStored(rec)
	if err != nil {
		return Profile{}, err
	}
	creds, err := s.readCredentials(name)
	if err != nil {
		return Profile{}, err
	}
	return profileOf(rec, cfg, creds), nil
}

func profileOf(rec record, cfg *Config, creds credentials) Profile {
	return Profile{
		Name:        rec.Name,
		Summary:     cfg.Summary(),
		HasUsername: creds.Username != "",
		HasPassword: creds.Password != "",
		CreatedAt:   rec.CreatedAt,
		UpdatedAt:   rec.UpdatedAt,
	}
}

// parseStored re-checks a stored config. A failure is not the caller's
// bad input, so it is reported as a failed precondition, not ErrInvalid.
func parseStored(rec record) (*Config, error) {
	cfg, err := Parse([]byte(rec.Config))
	if err != nil {
		return nil, fmt.Errorf("stored config is refused (%v); upload the profile again: %w", err, errdefs.ErrPrecondition)
	}
	return cfg, nil
}

func (s *Store) readRecord(name string) (record, error) {
	var rec record
	data, err := os.ReadFile(s.recordPath(name))
	if errors.Is(err, fs.ErrNotExist) {
		return rec, errdefs.ErrNotFound
	}
	if err != nil {
		return rec, fmt.Errorf("read record: %w", err)
	}
	if err := json.Unmarshal(data, &rec); err != nil {
		return rec, fmt.Errorf("decode record: %w: %w", errdefs.ErrInternal, err)
	}
	if rec.Version != recordVersion || rec.Name != name {
		return rec, fmt.Errorf("decode record: unexpected version %d or name: %w", rec.Version, errdefs.ErrInternal)
	}
	return rec, nil
}

func (s *Store) readCredentials(name string) (credentials, error) {
	var c credentials
	data, err := os.ReadFile(s.credentialsPath(name))
	if errors.Is(err, fs.ErrNotExist) {
		return c, nil
	}
	if err != nil {
		return c, fmt.Errorf("read credentials: %w", err)
	}
	// The decode error is not wrapped: it could quote the file's content.
	if json.Unmarshal(data, &c) != nil {
		return credentials{}, fmt.Errorf("decode credentials: %w", errdefs.ErrInternal)
	}
	return c, nil
}

func (s *Store) writeCredentials(name string, c credentials) error {
	if c == (credentials{}) {
		if err := os.Remove(s.credentialsPath(name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("remove credentials: %w", err)
		}
		return nil
	}
	return s.writeJSON(s.credentialsPath(name), c)
}

func (s *Store) writeJSON(path string, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode %s: %w", filepath.Base(path), err)
	}
	return atomicfile.Write(path, data, fileMode)
}

// names lists stored profile names, sorted. Files that could not be a
// profile (temporaries, anything not matching ValidName) are ignored.
func (s *Store) names() ([]string, error) {
	entries, err := os.ReadDir(filepath.Join(s.dir, profilesDir))
	if err != nil {
		return nil, err
	}
	var names []string
	for _, e := range entries {
		n, ok := strings.CutSuffix(e.Name(), ".json")
		if ok && e.Type().IsRegular() && ValidName(n) == nil {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	return names, nil
}
