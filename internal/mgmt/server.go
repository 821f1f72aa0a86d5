// Package mgmt is the management HTTP listener every sigpool daemon runs:
// Prometheus metrics, liveness and readiness, pprof, the fault management
// API (alarms shaped like 3GPP TS 28.532, with a server-sent-events stream
// of notifications), the runtime log level, and the daemon's pools,
// associations and ASPs through providers the daemon implements. It
// listens on TCP, on a Unix socket, or both; sgwctl is its client.
//
// Routes:
//
//	GET    /metrics                          Prometheus exposition
//	GET    /                                 the built-in page (alarms, pools, associations; live)
//	GET    /ui/...                           its script and style sheet
//	GET    /livez, /readyz                   200 or 503 (readyz runs the readiness checks)
//	GET    /debug/pprof/...                  net/http/pprof
//	GET    /api/v1/status                    readiness, alarm counts, active alarms
//	GET    /api/fm/v1/alarms                 alarm list (map alarmId -> record); filters:
//	                                         perceivedSeverity=MAJOR,CRITICAL baseObjectInstance=DN
//	                                         alarmAckState=ACKNOWLEDGED alarmName=NAME shelved=true cleared=true
//	GET    /api/fm/v1/alarms/count           counts by severity (same filters)
//	GET    /api/fm/v1/alarms/{id}            one alarm
//	PATCH  /api/fm/v1/alarms/{id}            acknowledge / unacknowledge / clear (AlarmPatch)
//	POST   /api/fm/v1/alarms/{id}/comments   add a comment (CommentRequest)
//	GET    /api/fm/v1/notifications          text/event-stream of notifications
//	GET    /api/fm/v1/shelves                shelves in place
//	POST   /api/fm/v1/shelves                shelve an object (ShelveRequest)
//	DELETE /api/fm/v1/shelves/{id}           remove a shelf
//	GET    /api/v1/log/level                 {"level":"info"}; PUT the same to change it
//	GET    /api/v1/pools                     pools with their elements
//	GET    /api/v1/pools/{handle}/elements   one pool's elements
//	GET    /api/v1/associations              SCTP associations with their paths
//	GET    /api/v1/asps, /api/v1/ases        M3UA ASPs and application servers
//	POST   /api/v1/asps/{id}/block           take an ASP out of traffic (OperatorRequest)
//	POST   /api/v1/asps/{id}/unblock         put it back (OperatorRequest)
//	GET    /api/v1/drain                     the gateway's drain state
//	POST   /api/v1/drain                     start draining (OperatorRequest); DELETE ends it
package mgmt

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"sort"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.uber.org/zap"

	"github.com/sigpool/sigpool/alarms"
)

// Config configures a Server. Only Alarms is required.
type Config struct {
	// System names this daemon (e.g. "sgw=sg1") in the status and in the
	// records of operator actions.
	System string
	Alarms *alarms.Manager
	// Gatherer serves /metrics; default prometheus.DefaultGatherer.
	Gatherer prometheus.Gatherer
	// Level is the daemon's log level; nil leaves the level endpoint out.
	Level *zap.AtomicLevel
	Log   *zap.Logger

	Pools        PoolProvider
	Associations AssociationProvider
	ASPs         ASPProvider
	// ASPControl and Drainer carry out the operator's commands; nil makes
	// their endpoints answer 404.
	ASPControl ASPControl
	Drainer    Drainer

	// Heartbeat is the interval of the comment lines that keep an SSE
	// stream open through proxies; default 15s.
	Heartbeat time.Duration
	// CheckTimeout bounds each readiness check; default 2s.
	CheckTimeout time.Duration
}

// Server is a management listener.
type Server struct {
	cfg    Config
	mux    *http.ServeMux
	mu     sync.Mutex
	checks map[string]func(context.Context) error
}

// New returns a server; Handler gives its routes, Serve runs them.
func New(cfg Config) *Server {
	if cfg.Gatherer == nil {
		cfg.Gatherer = prometheus.DefaultGatherer
	}
	if cfg.Log == nil {
		cfg.Log = zap.NewNop()
	}
	if cfg.Heartbeat <= 0 {
		cfg.Heartbeat = 15 * time.Second
	}
	if cfg.CheckTimeout <= 0 {
		cfg.CheckTimeout = 2 * time.Second
	}
	s := &Server{cfg: cfg, mux: http.NewServeMux(), checks: map[string]func(context.Context) error{}}
	s.routes()
	return s
}

// AddReadyCheck registers a readiness check: the daemon is ready when every
// check returns nil. A daemon with no check is not ready.
func (s *Server) AddReadyCheck(name string, check func(context.Context) error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.checks[name] = check
}

// Handler returns the server's routes.
func (s *Server) Handler() http.Handler { return s.mux }

func (s *Server) routes() {
	m := s.mux
	m.Handle("GET /metrics", promhttp.HandlerFor(s.cfg.Gatherer, promhttp.HandlerOpts{ErrorLog: zap.NewStdLog(s.cfg.Log)}))
	m.HandleFunc("GET /livez", func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, "ok") })
	m.HandleFunc("GET /readyz", s.readyz)
	m.HandleFunc("/debug/pprof/", pprof.Index)
	m.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	m.HandleFunc("/debug/pprof/profile", pprof.Profile)
	m.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	m.HandleFunc("/debug/pprof/trace", pprof.Trace)
	m.HandleFunc("GET /api/v1/status", s.status)
	m.HandleFunc("GET /api/fm/v1/alarms", s.listAlarms)
	m.HandleFunc("GET /api/fm/v1/alarms/count", s.countAlarms)
	m.HandleFunc("GET /api/fm/v1/alarms/{id}", s.getAlarm)
	m.HandleFunc("PATCH /api/fm/v1/alarms/{id}", s.patchAlarm)
	m.HandleFunc("POST /api/fm/v1/alarms/{id}/comments", s.commentAlarm)
	m.HandleFunc("GET /api/fm/v1/notifications", s.notifications)
	m.HandleFunc("GET /api/fm/v1/shelves", s.listShelves)
	m.HandleFunc("POST /api/fm/v1/shelves", s.shelve)
	m.HandleFunc("DELETE /api/fm/v1/shelves/{id}", s.unshelve)
	if s.cfg.Level != nil {
		m.Handle("/api/v1/log/level", s.cfg.Level)
	}
	m.HandleFunc("GET /api/v1/pools", s.pools)
	m.HandleFunc("GET /api/v1/pools/{handle}/elements", s.elements)
	m.HandleFunc("GET /api/v1/associations", s.associations)
	m.HandleFunc("GET /api/v1/asps", s.asps)
	m.HandleFunc("GET /api/v1/ases", s.ases)
	m.HandleFunc("POST /api/v1/asps/{id}/block", s.blockASP)
	m.HandleFunc("POST /api/v1/asps/{id}/unblock", s.unblockASP)
	m.HandleFunc("GET /api/v1/drain", s.drain)
	m.HandleFunc("POST /api/v1/drain", s.drain)
	m.HandleFunc("DELETE /api/v1/drain", s.drain)
	s.uiRoutes()
}

// Listen opens the listeners: TCP on addr (host:port) and a Unix socket at
// socket, either may be empty. A stale socket file left by a previous run
// is replaced; the socket is made group-accessible (0660).
func Listen(addr, socket string) ([]net.Listener, error) {
	var ls []net.Listener
	if addr != "" {
		l, err := net.Listen("tcp", addr)
		if err != nil {
			return nil, fmt.Errorf("mgmt: %w", err)
		}
		ls = append(ls, l)
	}
	if socket != "" {
		if fi, err := os.Lstat(socket); err == nil && fi.Mode()&os.ModeSocket != 0 {
			os.Remove(socket)
		}
		l, err := net.Listen("unix", socket)
		if err != nil {
			closeAll(ls)
			return nil, fmt.Errorf("mgmt: %w", err)
		}
		if err := os.Chmod(socket, 0o660); err != nil {
			l.Close()
			closeAll(ls)
			return nil, fmt.Errorf("mgmt: %w", err)
		}
		ls = append(ls, l)
	}
	if len(ls) == 0 {
		return nil, errors.New("mgmt: neither a TCP address nor a Unix socket to listen on")
	}
	return ls, nil
}

func closeAll(ls []net.Listener) {
	for _, l := range ls {
		l.Close()
	}
}

// Serve serves on every listener until ctx ends, then shuts down (open
// notification streams end with it).
func (s *Server) Serve(ctx context.Context, ls ...net.Listener) error {
	srv := &http.Server{
		Handler:           s.mux,
		ReadHeaderTimeout: 10 * time.Second,
		BaseContext:       func(net.Listener) context.Context { return ctx },
		ErrorLog:          zap.NewStdLog(s.cfg.Log),
	}
	errc := make(chan error, len(ls))
	for _, l := range ls {
		go func(l net.Listener) { errc <- srv.Serve(l) }(l)
	}
	select {
	case <-ctx.Done():
	case err := <-errc:
		if !errors.Is(err, http.ErrServerClosed) {
			srv.Close()
			return err
		}
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return srv.Shutdown(sctx)
}

func (s *Server) runChecks(ctx context.Context) (bool, map[string]string) {
	s.mu.Lock()
	checks := make(map[string]func(context.Context) error, len(s.checks))
	for n, c := range s.checks {
		checks[n] = c
	}
	s.mu.Unlock()
	res := map[string]string{}
	ok := len(checks) > 0
	for n, c := range checks {
		cctx, cancel := context.WithTimeout(ctx, s.cfg.CheckTimeout)
		err := c(cctx)
		cancel()
		if err != nil {
			ok = false
			res[n] = err.Error()
		} else {
			res[n] = "ok"
		}
	}
	return ok, res
}

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	ok, res := s.runChecks(r.Context())
	names := make([]string, 0, len(res))
	for n := range res {
		names = append(names, n)
	}
	sort.Strings(names)
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	if !ok {
		w.WriteHeader(http.StatusServiceUnavailable)
	}
	if len(names) == 0 {
		fmt.Fprintln(w, "not ready: no readiness check registered")
		return
	}
	for _, n := range names {
		fmt.Fprintf(w, "%s: %s\n", n, res[n])
	}
}

func (s *Server) status(w http.ResponseWriter, r *http.Request) {
	ok, res := s.runChecks(r.Context())
	active := s.cfg.Alarms.Alarms(alarms.Filter{})
	if active == nil {
		active = []alarms.Alarm{}
	}
	writeJSON(w, http.StatusOK, Status{
		System: s.cfg.System, Ready: ok, Checks: res,
		Alarms: countOf(s.cfg.Alarms.Count(alarms.Filter{})), Active: active,
	})
}

func countOf(m map[alarms.Severity]int) AlarmCount {
	return AlarmCount{
		Critical: m[alarms.Critical], Major: m[alarms.Major], Minor: m[alarms.Minor],
		Warning: m[alarms.Warning], Indeterminate: m[alarms.Indeterminate], Cleared: m[alarms.Cleared],
	}
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}

func writeError(w http.ResponseWriter, code int, format string, args ...any) {
	var e ErrorResponse
	e.Error.ErrorInfo = fmt.Sprintf(format, args...)
	writeJSON(w, code, e)
}

func decode(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		writeError(w, http.StatusBadRequest, "bad request body: %v", err)
		return false
	}
	return true
}
