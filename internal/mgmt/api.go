package mgmt

import (
	"context"
	"errors"
	"time"

	"github.com/sigpool/sigpool/alarms"
	"github.com/sigpool/sigpool/alarms/metrics"
)

// The JSON shapes of the management API, shared by the server and sgwctl.

// Pool is one pool of the handlespace as a daemon sees it.
type Pool struct {
	Handle string `json:"handle"`
	Policy string `json:"policy"`
	// MinElements is the configured minimum of live elements (0: none).
	MinElements int       `json:"minElements,omitempty"`
	Elements    []Element `json:"elements"`
}

// Element is one pool element.
type Element struct {
	ID        string `json:"id"`
	Address   string `json:"address"`
	State     string `json:"state"`
	Load      uint32 `json:"load"`
	Registrar string `json:"homeRegistrar,omitempty"`
}

// Association is one SCTP association with its paths.
type Association struct {
	Name    string `json:"name"`
	Local   string `json:"local"`
	Peer    string `json:"peer"`
	State   string `json:"state"`
	Unacked uint32 `json:"unackedChunks"`
	Pending uint32 `json:"pendingChunks"`
	Paths   []Path `json:"paths"`
}

// Path is one peer address of an association.
type Path struct {
	Address     string  `json:"address"`
	State       string  `json:"state"`
	Primary     bool    `json:"primary,omitempty"`
	SRTTSeconds float64 `json:"srttSeconds"`
	RTOSeconds  float64 `json:"rtoSeconds"`
	CwndBytes   uint32  `json:"cwndBytes"`
}

// ASP is one M3UA application server process.
type ASP struct {
	ID          string   `json:"id"`
	Association string   `json:"association"`
	State       string   `json:"state"`
	Servers     []string `json:"applicationServers,omitempty"`
	// Blocked is set while an operator keeps the ASP out of traffic.
	Blocked *Block `json:"blocked,omitempty"`
}

// Block records who took an ASP out of traffic, when and why.
type Block struct {
	UserID string    `json:"userId"`
	Reason string    `json:"reason,omitempty"`
	Since  time.Time `json:"since"`
}

// OperatorRequest is the body of the operator commands (block, unblock,
// drain): who asks, and why.
type OperatorRequest struct {
	UserID string `json:"userId"`
	Reason string `json:"reason,omitempty"`
}

// Drain is the drain state of a gateway: while draining it takes no new
// dialogue (new selections go to the other gateways) and lets the ongoing
// ones finish.
type Drain struct {
	Draining bool       `json:"draining"`
	UserID   string     `json:"userId,omitempty"`
	Reason   string     `json:"reason,omitempty"`
	Since    *time.Time `json:"since,omitempty"`
	// DialoguesLeft is the number of dialogues still in progress.
	DialoguesLeft int `json:"dialoguesLeft"`
}

// AS is one M3UA application server.
type AS struct {
	Name           string   `json:"name"`
	State          string   `json:"state"`
	TrafficMode    string   `json:"trafficMode,omitempty"`
	RoutingContext uint32   `json:"routingContext,omitempty"`
	ASPs           []string `json:"asps,omitempty"`
}

// Status answers "what is broken and since when" in one call.
type Status struct {
	System string `json:"system"`
	Ready  bool   `json:"ready"`
	// Checks maps each readiness check to "ok" or its error.
	Checks map[string]string `json:"checks"`
	Alarms AlarmCount        `json:"alarms"`
	// Active lists the unshelved active alarms, oldest first.
	Active []alarms.Alarm `json:"activeAlarms"`
}

// AlarmCount is the alarm count by severity (3GPP TS 28.532 shape).
type AlarmCount struct {
	Critical      int `json:"criticalCount"`
	Major         int `json:"majorCount"`
	Minor         int `json:"minorCount"`
	Warning       int `json:"warningCount"`
	Indeterminate int `json:"indeterminateCount"`
	Cleared       int `json:"clearedCount"`
}

// AlarmPatch is the body of PATCH /api/fm/v1/alarms/{id}: either an
// acknowledgement change (ackState) or a clear (perceivedSeverity CLEARED).
type AlarmPatch struct {
	AckState      alarms.AckState `json:"ackState,omitempty"`
	AckUserID     string          `json:"ackUserId,omitempty"`
	AckSystemID   string          `json:"ackSystemId,omitempty"`
	Severity      string          `json:"perceivedSeverity,omitempty"`
	ClearUserID   string          `json:"clearUserId,omitempty"`
	ClearSystemID string          `json:"clearSystemId,omitempty"`
	// Force clears even while the condition is reported present.
	Force bool `json:"force,omitempty"`
}

// CommentRequest is the body of POST /api/fm/v1/alarms/{id}/comments.
type CommentRequest struct {
	UserID   string `json:"commentUserId"`
	SystemID string `json:"commentSystemId,omitempty"`
	Text     string `json:"commentText"`
}

// ShelveRequest is the body of POST /api/fm/v1/shelves.
type ShelveRequest struct {
	Object string `json:"objectInstance"`
	UserID string `json:"userId"`
	Reason string `json:"reason,omitempty"`
	// Duration is how long the shelf lasts, in Go syntax ("2h30m").
	Duration string `json:"duration"`
}

// ErrorResponse is every error's body (3GPP TS 28.532 shape).
type ErrorResponse struct {
	Error struct {
		ErrorInfo string `json:"errorInfo"`
	} `json:"error"`
}

// Providers answer for the daemon's own state. A nil provider makes its
// endpoints answer 404 "not provided by this daemon".

// PoolProvider lists the pools the daemon knows (the registrar's
// handlespace, the gateway's pools).
type PoolProvider interface {
	Pools(ctx context.Context) ([]Pool, error)
}

// AssociationProvider lists the daemon's SCTP associations.
type AssociationProvider interface {
	Associations(ctx context.Context) ([]Association, error)
}

// ASPProvider lists the M3UA ASPs and application servers.
type ASPProvider interface {
	ASPs(ctx context.Context) ([]ASP, error)
	ApplicationServers(ctx context.Context) ([]AS, error)
}

// ASPControl takes ASPs out of traffic and back, for maintenance: a
// blocked ASP gets no new dialogue and no traffic its AS can send to
// another ASP, and stays blocked across its reconnections until
// unblocked. The gateway implements it.
type ASPControl interface {
	// BlockASP and UnblockASP return the ASP after the change; an unknown
	// id is an error wrapping ErrUnknownASP. Both are idempotent.
	BlockASP(ctx context.Context, id string, req OperatorRequest) (ASP, error)
	UnblockASP(ctx context.Context, id string, req OperatorRequest) (ASP, error)
}

// Drainer drains the daemon (the gateway) before maintenance.
type Drainer interface {
	// Drain starts draining (idempotent); Undrain takes traffic again.
	Drain(ctx context.Context, req OperatorRequest) (Drain, error)
	Undrain(ctx context.Context, req OperatorRequest) (Drain, error)
	DrainState(ctx context.Context) (Drain, error)
}

// ErrUnknownASP is wrapped by the errors of ASPControl for an ASP id the
// daemon does not know; the API answers 404.
var ErrUnknownASP = errors.New("no such ASP")

// AssociationsOf provides the associations of a metrics.Associations set:
// the daemons register each association there once, for the metrics and
// the API alike.
func AssociationsOf(set *metrics.Associations) AssociationProvider { return assocSet{set} }

type assocSet struct{ set *metrics.Associations }

func (a assocSet) Associations(context.Context) ([]Association, error) {
	var out []Association
	for _, s := range a.set.Snapshot() {
		as := Association{
			Name: s.Name, Local: s.Local.String(), Peer: s.Peer.String(), State: s.Status.State,
			Unacked: s.Status.Unacked, Pending: s.Status.Pending, Paths: []Path{},
		}
		for _, p := range s.Status.Paths {
			as.Paths = append(as.Paths, Path{
				Address: p.Addr.String(), State: p.State.String(), Primary: p.Primary,
				SRTTSeconds: seconds(p.SRTT), RTOSeconds: seconds(p.RTO), CwndBytes: p.Cwnd,
			})
		}
		out = append(out, as)
	}
	return out, nil
}

func seconds(d time.Duration) float64 { return d.Seconds() }
