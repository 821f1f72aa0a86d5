package mgmt

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/sigpool/sigpool/alarms"
)

// filterOf reads the alarm list filters of a request.
func filterOf(r *http.Request) (alarms.Filter, error) {
	q := r.URL.Query()
	f := alarms.Filter{
		Object:   q.Get("baseObjectInstance"),
		Name:     q.Get("alarmName"),
		AckState: alarms.AckState(strings.ToUpper(q.Get("alarmAckState"))),
		Shelved:  q.Get("shelved") == "true",
		Cleared:  q.Get("cleared") == "true",
	}
	if f.AckState != "" && f.AckState != alarms.Acknowledged && f.AckState != alarms.Unacknowledged {
		return f, fmt.Errorf("alarmAckState: want ACKNOWLEDGED or UNACKNOWLEDGED, not %q", f.AckState)
	}
	if f.Name != "" {
		if _, ok := alarms.Lookup(f.Name); !ok {
			return f, fmt.Errorf("alarmName: no alarm %q in the inventory", f.Name)
		}
	}
	if s := q.Get("perceivedSeverity"); s != "" {
		for _, part := range strings.Split(s, ",") {
			sev, err := alarms.ParseSeverity(strings.TrimSpace(part))
			if err != nil {
				return f, err
			}
			f.Severities = append(f.Severities, sev)
		}
	}
	return f, nil
}

func (s *Server) listAlarms(w http.ResponseWriter, r *http.Request) {
	f, err := filterOf(r)
	if err != nil {
		writeError(w, http.StatusBadRequest, "%v", err)
		return
	}
	out := map[string]alarms.Alarm{}
	for _, a := range s.cfg.Alarms.Alarms(f) {
		out[a.ID] = a
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) countAlarms(w http.ResponseWriter, r *http.Request) {
	f, err := filterOf(r)
	if err != nil {
		writeError(w, http.StatusBadRequest, "%v", err)
		return
	}
	writeJSON(w, http.StatusOK, countOf(s.cfg.Alarms.Count(f)))
}

func (s *Server) getAlarm(w http.ResponseWriter, r *http.Request) {
	a, err := s.cfg.Alarms.Get(r.PathValue("id"))
	if err != nil {
		s.alarmError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, a)
}

func (s *Server) alarmError(w http.ResponseWriter, err error) {
	switch {
	case errors.Is(err, alarms.ErrNotFound):
		writeError(w, http.StatusNotFound, "%v", err)
	case errors.Is(err, alarms.ErrConditionPresent), errors.Is(err, alarms.ErrAlreadyCleared):
		writeError(w, http.StatusConflict, "%v", err)
	case errors.Is(err, alarms.ErrBadShelf):
		writeError(w, http.StatusBadRequest, "%v", err)
	default:
		writeError(w, http.StatusInternalServerError, "%v", err)
	}
}

func (s *Server) patchAlarm(w http.ResponseWriter, r *http.Request) {
	var p AlarmPatch
	if !decode(w, r, &p) {
		return
	}
	id := r.PathValue("id")
	var a alarms.Alarm
	var err error
	switch {
	case p.AckState != "" && p.Severity != "":
		writeError(w, http.StatusBadRequest, "acknowledge and clear in separate requests")
		return
	case p.AckState == alarms.Acknowledged || p.AckState == alarms.Unacknowledged:
		if p.AckUserID == "" {
			writeError(w, http.StatusBadRequest, "ackUserId is required")
			return
		}
		if p.AckState == alarms.Acknowledged {
			a, err = s.cfg.Alarms.Acknowledge(id, p.AckUserID, p.AckSystemID)
		} else {
			a, err = s.cfg.Alarms.Unacknowledge(id, p.AckUserID, p.AckSystemID)
		}
	case strings.EqualFold(p.Severity, alarms.Cleared.String()):
		if p.ClearUserID == "" {
			writeError(w, http.StatusBadRequest, "clearUserId is required")
			return
		}
		a, err = s.cfg.Alarms.ClearManually(id, p.ClearUserID, p.ClearSystemID, p.Force)
	default:
		writeError(w, http.StatusBadRequest, "want ackState ACKNOWLEDGED/UNACKNOWLEDGED or perceivedSeverity CLEARED")
		return
	}
	if err != nil {
		s.alarmError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, a)
}

func (s *Server) commentAlarm(w http.ResponseWriter, r *http.Request) {
	var c CommentRequest
	if !decode(w, r, &c) {
		return
	}
	if c.UserID == "" || c.Text == "" {
		writeError(w, http.StatusBadRequest, "commentUserId and commentText are required")
		return
	}
	a, err := s.cfg.Alarms.Comment(r.PathValue("id"), c.UserID, c.SystemID, c.Text)
	if err != nil {
		s.alarmError(w, err)
		return
	}
	writeJSON(w, http.StatusCreated, a)
}

func (s *Server) listShelves(w http.ResponseWriter, r *http.Request) {
	out := s.cfg.Alarms.Shelves()
	if out == nil {
		out = []alarms.Shelf{}
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) shelve(w http.ResponseWriter, r *http.Request) {
	var req ShelveRequest
	if !decode(w, r, &req) {
		return
	}
	d, err := time.ParseDuration(req.Duration)
	if err != nil || d <= 0 || req.UserID == "" || !alarms.ValidDN(req.Object) {
		writeError(w, http.StatusBadRequest, "want objectInstance (a DN), userId and a positive duration")
		return
	}
	// The shelf ends d after the manager's now: the manager checks it
	// against its own clock and its maximum.
	until := s.now().Add(d)
	sh, err := s.cfg.Alarms.Shelve(req.Object, req.UserID, req.Reason, until)
	if err != nil {
		s.alarmError(w, err)
		return
	}
	writeJSON(w, http.StatusCreated, sh)
}

// now is the alarm manager's time, as the manager's clock gives it.
func (s *Server) now() time.Time { return s.cfg.Alarms.Now() }

func (s *Server) unshelve(w http.ResponseWriter, r *http.Request) {
	if err := s.cfg.Alarms.Unshelve(r.PathValue("id")); err != nil {
		s.alarmError(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// notifications streams the manager's notifications as server-sent
// events: "event: notifyNewAlarm", "id: <notificationId>", "data: <JSON>".
// A subscriber that falls behind gets "event: error" and the stream ends;
// it lists the alarms again and reconnects.
func (s *Server) notifications(w http.ResponseWriter, r *http.Request) {
	fl, ok := w.(http.Flusher)
	if !ok {
		writeError(w, http.StatusInternalServerError, "streaming not supported")
		return
	}
	sub := s.cfg.Alarms.Subscribe(0)
	defer sub.Close()
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	fmt.Fprint(w, ": subscribed\n\n")
	fl.Flush()
	hb := time.NewTicker(s.cfg.Heartbeat)
	defer hb.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case <-hb.C:
			fmt.Fprint(w, ": keep-alive\n\n")
			fl.Flush()
		case n, ok := <-sub.C:
			if !ok {
				msg := "subscription ended"
				if err := sub.Err(); err != nil {
					msg = err.Error()
				}
				b, _ := json.Marshal(map[string]string{"errorInfo": msg})
				fmt.Fprintf(w, "event: error\ndata: %s\n\n", b)
				fl.Flush()
				return
			}
			b, err := json.Marshal(n)
			if err != nil {
				s.cfg.Log.Error("notification not encoded", zap.Error(err))
				continue
			}
			fmt.Fprintf(w, "id: %d\nevent: %s\ndata: %s\n\n", n.ID, n.Type, b)
			fl.Flush()
		}
	}
}
