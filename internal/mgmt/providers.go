package mgmt

import (
	"context"
	"net/http"
)

// serveList answers with what a provider returns, 404 when the daemon has
// no such provider.
func serveList[T any](w http.ResponseWriter, r *http.Request, what string, ok bool, list func(context.Context) ([]T, error)) {
	if !ok {
		writeError(w, http.StatusNotFound, "%s: not provided by this daemon", what)
		return
	}
	out, err := list(r.Context())
	if err != nil {
		writeError(w, http.StatusInternalServerError, "%s: %v", what, err)
		return
	}
	if out == nil {
		out = []T{}
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) pools(w http.ResponseWriter, r *http.Request) {
	p := s.cfg.Pools
	serveList(w, r, "pools", p != nil, func(ctx context.Context) ([]Pool, error) { return p.Pools(ctx) })
}

func (s *Server) elements(w http.ResponseWriter, r *http.Request) {
	p := s.cfg.Pools
	handle := r.PathValue("handle")
	if p == nil {
		writeError(w, http.StatusNotFound, "pools: not provided by this daemon")
		return
	}
	pools, err := p.Pools(r.Context())
	if err != nil {
		writeError(w, http.StatusInternalServerError, "pools: %v", err)
		return
	}
	for _, pl := range pools {
		if pl.Handle == handle {
			if pl.Elements == nil {
				pl.Elements = []Element{}
			}
			writeJSON(w, http.StatusOK, pl.Elements)
			return
		}
	}
	writeError(w, http.StatusNotFound, "no pool %q", handle)
}

func (s *Server) associations(w http.ResponseWriter, r *http.Request) {
	p := s.cfg.Associations
	serveList(w, r, "associations", p != nil, func(ctx context.Context) ([]Association, error) { return p.Associations(ctx) })
}

func (s *Server) asps(w http.ResponseWriter, r *http.Request) {
	p := s.cfg.ASPs
	serveList(w, r, "ASPs", p != nil, func(ctx context.Context) ([]ASP, error) { return p.ASPs(ctx) })
}

func (s *Server) ases(w http.ResponseWriter, r *http.Request) {
	p := s.cfg.ASPs
	serveList(w, r, "application servers", p != nil, func(ctx context.Context) ([]AS, error) { return p.ApplicationServers(ctx) })
}
