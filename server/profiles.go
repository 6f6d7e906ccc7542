package server

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/velocitty/microvm/api"
	"github.com/velocitty/microvm/errdefs"
	"github.com/velocitty/microvm/server/internal/gen"
	"github.com/velocitty/microvm/vpn"
)

// Profiles is what the server needs of the VPN profile store.
type Profiles interface {
	List(ctx context.Context) ([]vpn.Profile, error)
	Get(ctx context.Context, name string) (vpn.Profile, error)
	Put(ctx context.Context, name string, in vpn.PutInput) (p vpn.Profile, created bool, err error)
	Delete(ctx context.Context, name string) error
}

func (h *handlers) profiles() (Profiles, error) {
	if h.cfg.Profiles == nil {
		return nil, notImplemented("VPN profiles")
	}
	return h.cfg.Profiles, nil
}

func (h *handlers) ListVPNProfiles(ctx context.Context, _ gen.ListVPNProfilesRequestObject) (gen.ListVPNProfilesResponseObject, error) {
	store, err := h.profiles()
	if err != nil {
		return nil, err
	}
	list, err := store.List(ctx)
	if err != nil {
		return nil, err
	}
	out := gen.ListVPNProfiles200JSONResponse{Profiles: make([]api.VPNProfile, 0, len(list))}
	for _, p := range list {
		out.Profiles = append(out.Profiles, toProfile(p))
	}
	return out, nil
}

func (h *handlers) GetVPNProfile(ctx context.Context, req gen.GetVPNProfileRequestObject) (gen.GetVPNProfileResponseObject, error) {
	store, err := h.profiles()
	if err != nil {
		return nil, err
	}
	p, err := store.Get(ctx, req.Name)
	if err != nil {
		return nil, err
	}
	return gen.GetVPNProfile200JSONResponse(toProfile(p)), nil
}

func (h *handlers) CreateVPNProfile(ctx context.Context, req gen.CreateVPNProfileRequestObject) (gen.CreateVPNProfileResponseObject, error) {
	store, err := h.profiles()
	if err != nil {
		return nil, err
	}
	name := req.Body.Name
	if _, err := store.Get(ctx, name); err == nil {
		return nil, fmt.Errorf("profile %q: %w", name, errdefs.ErrAlreadyExists)
	} else if !errors.Is(err, errdefs.ErrNotFound) {
		return nil, err
	}
	p, _, err := store.Put(ctx, name, vpn.PutInput{
		Config: []byte(req.Body.Config), Username: req.Body.Username, Password: req.Body.Password,
	})
	if err != nil {
		return nil, err
	}
	return gen.CreateVPNProfile201JSONResponse{
		Body:    toProfile(p),
		Headers: gen.CreateVPNProfile201ResponseHeaders{Location: "/v1/vpn/profiles/" + p.Name},
	}, nil
}

func (h *handlers) PutVPNProfile(ctx context.Context, req gen.PutVPNProfileRequestObject) (gen.PutVPNProfileResponseObject, error) {
	store, err := h.profiles()
	if err != nil {
		return nil, err
	}
	var in vpn.PutInput
	switch {
	case req.JSONBody != nil:
		b := req.JSONBody
		if b.Name != "" && b.Name != req.Name {
			return nil, errdefs.Invalidf("name", "must equal the name in the path")
		}
		in = vpn.PutInput{Config: []byte(b.Config), Username: b.Username, Password: b.Password}
	case req.Body != nil:
		config, err := io.ReadAll(req.Body)
		if err != nil {
			return nil, fmt.Errorf("read profile: %w", err)
		}
		in = vpn.PutInput{Config: config}
	default:
		return nil, errdefs.Invalidf("body", "send JSON or %s", profileMediaType)
	}
	p, created, err := store.Put(ctx, req.Name, in)
	if err != nil {
		return nil, err
	}
	if created {
		return gen.PutVPNProfile201JSONResponse(toProfile(p)), nil
	}
	return gen.PutVPNProfile200JSONResponse(toProfile(p)), nil
}

func (h *handlers) DeleteVPNProfile(ctx context.Context, req gen.DeleteVPNProfileRequestObject) (gen.DeleteVPNProfileResponseObject, error) {
	store, err := h.profiles()
	if err != nil {
		return nil, err
	}
	if err := store.Delete(ctx, req.Name); err != nil {
		return nil, err
	}
	return gen.DeleteVPNProfile204Response{}, nil
}

func toProfile(p vpn.Profile) api.VPNProfile {
	s := p.Summary
	out := api.VPNProfile{
		Name:        p.Name,
		HasUsername: p.HasUsername,
		HasPassword: p.HasPassword,
		CreatedAt:   p.CreatedAt,
		UpdatedAt:   p.UpdatedAt,
		Summary: api.VPNProfileSummary{
			Remotes:             make([]api.VPNRemote, 0, len(s.Remotes)),
			CertificateSubjects: []string{},
			Proto:               s.Proto,
			Dev:                 s.Dev,
			Cipher:              s.Cipher,
			DataCiphers:         s.DataCiphers,
			Auth:                s.Auth,
			AuthUserPass:        s.AuthUserPass,
			HasCA:               s.HasCA,
			HasCert:             s.HasCert,
			HasKey:              s.HasKey,
			HasPKCS12:           s.HasPKCS12,
			HasTLSAuth:          s.HasTLSAuth,
			HasTLSCrypt:         s.HasTLSCrypt,
		},
	}
	for _, r := range s.Remotes {
		out.Summary.Remotes = append(out.Summary.Remotes, api.VPNRemote{Host: r.Host, Port: r.Port, Proto: r.Proto})
	}
	for _, c := range s.CA {
		out.Summary.CA = append(out.Summary.CA, toCertificate(c))
		out.Summary.CertificateSubjects = append(out.Summary.CertificateSubjects, c.Subject)
	}
	if s.Cert != nil {
		out.Summary.Cert = toCertificate(*s.Cert)
		out.Summary.CertificateSubjects = append(out.Summary.CertificateSubjects, s.Cert.Subject)
	}
	return out
}

func toCertificate(c vpn.CertInfo) api.VPNCertificate {
	return api.VPNCertificate{Subject: c.Subject, Issuer: c.Issuer, NotAfter: c.NotAfter}
}
