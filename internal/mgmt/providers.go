package mgmt

import (
	"context"
	"errors"
	"net/http"

	"go.uber.org/zap"
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

func (s *Server) blockASP(w http.ResponseWriter, r *http.Request) { s.aspControl(w, r, true) }

func (s *Server) unblockASP(w http.ResponseWriter, r *http.Request) { s.aspControl(w, r, false) }

func (s *Server) aspControl(w http.ResponseWriter, r *http.Request, block bool) {
	c := s.cfg.ASPControl
	if c == nil {
		writeError(w, http.StatusNotFound, "ASP blocking: not provided by this daemon")
		return
	}
	var req OperatorRequest
	if !decode(w, r, &req) {
		return
	}
	if req.UserID == "" {
		writeError(w, http.StatusBadRequest, "userId is required")
		return
	}
	id := r.PathValue("id")
	var asp ASP
	var err error
	if block {
		asp, err = c.BlockASP(r.Context(), id, req)
	} else {
		asp, err = c.UnblockASP(r.Context(), id, req)
	}
	switch {
	case errors.Is(err, ErrUnknownASP):
		writeError(w, http.StatusNotFound, "ASP %q: %v", id, err)
	case err != nil:
		writeError(w, http.StatusConflict, "ASP %q: %v", id, err)
	default:
		writeJSON(w, http.StatusOK, asp)
	}
}

func (s *Server) drain(w http.ResponseWriter, r *http.Request) {
	d := s.cfg.Drainer
	if d == nil {
		writeError(w, http.StatusNotFound, "drain: not provided by this daemon")
		return
	}
	var st Drain
	var err error
	switch r.Method {
	case http.MethodGet:
		st, err = d.DrainState(r.Context())
	default:
		var req OperatorRequest
		if !decode(w, r, &req) {
			return
		}
		if req.UserID == "" {
			writeError(w, http.StatusBadRequest, "userId is required")
			return
		}
		if r.Method == http.MethodPost {
			st, err = d.Drain(r.Context(), req)
		} else {
			st, err = d.Undrain(r.Context(), req)
		}
	}
	if err != nil {
		writeError(w, http.StatusConflict, "drain: %v", err)
		return
	}
	if r.Method != http.MethodGet {
		s.cfg.Log.Info("operator command", zap.String("command", r.Method+" drain"), zap.Bool("draining", st.Draining))
	}
	writeJSON(w, http.StatusOK, st)
}
