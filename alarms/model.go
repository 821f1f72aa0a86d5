package alarms

import (
	"fmt"
	"strings"
	"time"
)

// Severity is an X.733 perceived severity. The zero value is not a
// severity; Cleared is the severity a clear notification carries.
type Severity uint8

// The perceived severities of ITU-T X.733 §8.1.2.3, most severe first.
const (
	Critical Severity = iota + 1
	Major
	Minor
	Warning
	Indeterminate
	Cleared
)

// Severities lists every severity, most severe first.
var Severities = []Severity{Critical, Major, Minor, Warning, Indeterminate, Cleared}

var severityNames = [...]string{
	Critical:      "CRITICAL",
	Major:         "MAJOR",
	Minor:         "MINOR",
	Warning:       "WARNING",
	Indeterminate: "INDETERMINATE",
	Cleared:       "CLEARED",
}

// String returns the 3GPP TS 28.532 spelling: CRITICAL, MAJOR, ...
func (s Severity) String() string {
	if int(s) < len(severityNames) && severityNames[s] != "" {
		return severityNames[s]
	}
	return fmt.Sprintf("severity(%d)", uint8(s))
}

// Label returns the lower-case spelling used in metric labels and alert
// rules: critical, major, ...
func (s Severity) Label() string { return strings.ToLower(s.String()) }

// ParseSeverity accepts either spelling, in any case.
func ParseSeverity(s string) (Severity, error) {
	for _, v := range Severities {
		if strings.EqualFold(s, v.String()) {
			return v, nil
		}
	}
	return 0, fmt.Errorf("alarms: unknown severity %q (want critical, major, minor, warning, indeterminate or cleared)", s)
}

// MarshalText implements encoding.TextMarshaler.
func (s Severity) MarshalText() ([]byte, error) {
	if s == 0 || int(s) >= len(severityNames) {
		return nil, fmt.Errorf("alarms: invalid severity %d", uint8(s))
	}
	return []byte(s.String()), nil
}

// UnmarshalText implements encoding.TextUnmarshaler.
func (s *Severity) UnmarshalText(b []byte) error {
	v, err := ParseSeverity(string(b))
	if err != nil {
		return err
	}
	*s = v
	return nil
}

// EventType is the X.733 event type, spelled as 3GPP TS 28.532 alarmType.
type EventType string

// The event types sigpool uses.
const (
	CommunicationsAlarm   EventType = "COMMUNICATIONS_ALARM"
	QualityOfServiceAlarm EventType = "QUALITY_OF_SERVICE_ALARM"
	ProcessingErrorAlarm  EventType = "PROCESSING_ERROR_ALARM"
	EquipmentAlarm        EventType = "EQUIPMENT_ALARM"
	EnvironmentalAlarm    EventType = "ENVIRONMENTAL_ALARM"
)

// AckState is an alarm's acknowledgement state (3GPP TS 28.532 ackState).
type AckState string

// The acknowledgement states.
const (
	Unacknowledged AckState = "UNACKNOWLEDGED"
	Acknowledged   AckState = "ACKNOWLEDGED"
)

// Key identifies an alarm condition: at most one alarm with a given key is
// active at a time, and raising it again only updates it.
type Key struct {
	Object          string    `json:"objectInstance"`
	EventType       EventType `json:"alarmType"`
	ProbableCause   string    `json:"probableCause"`
	SpecificProblem string    `json:"specificProblem"`
}

func (k Key) text() string {
	return k.Object + "/" + string(k.EventType) + "/" + k.ProbableCause + "/" + k.SpecificProblem
}

// Comment is an operator's note on an alarm.
type Comment struct {
	Time     time.Time `json:"commentTime"`
	UserID   string    `json:"commentUserId"`
	SystemID string    `json:"commentSystemId,omitempty"`
	Text     string    `json:"commentText"`
}

// Alarm is one occurrence of an alarm condition, from its raise to its
// clear, with the operator's actions on it. Its JSON form follows the
// AlarmRecord of 3GPP TS 28.532 (field names and enumerations), plus a few
// sigpool fields (alarmName, flapCount, shelvedBy...).
type Alarm struct {
	ID string `json:"alarmId"`
	// Name is the inventory entry the alarm comes from.
	Name string `json:"alarmName"`
	Key
	ObjectClass           string            `json:"objectClass,omitempty"`
	Severity              Severity          `json:"perceivedSeverity"`
	AdditionalText        string            `json:"additionalText,omitempty"`
	AdditionalInformation map[string]string `json:"additionalInformation,omitempty"`
	ProposedRepairActions string            `json:"proposedRepairActions,omitempty"`

	RaisedTime  time.Time  `json:"alarmRaisedTime"`
	ChangedTime *time.Time `json:"alarmChangedTime,omitempty"`
	ClearedTime *time.Time `json:"alarmClearedTime,omitempty"`
	// ClearUserID is set when an operator cleared the alarm; the system
	// clearing it (the condition went away) leaves it empty.
	ClearUserID   string `json:"clearUserId,omitempty"`
	ClearSystemID string `json:"clearSystemId,omitempty"`

	AckState    AckState   `json:"ackState"`
	AckTime     *time.Time `json:"ackTime,omitempty"`
	AckUserID   string     `json:"ackUserId,omitempty"`
	AckSystemID string     `json:"ackSystemId,omitempty"`

	Comments []Comment `json:"comments,omitempty"`

	// FlapCount is how many times the condition went away and came back
	// within the clear hold time while the alarm stayed raised.
	FlapCount int `json:"flapCount,omitempty"`
	// Shelved is the id of the shelf that hides the alarm from the active
	// view and from paging, if any.
	Shelved string `json:"shelvedBy,omitempty"`
}

// Active reports whether the alarm has not been cleared.
func (a *Alarm) Active() bool { return a.ClearedTime == nil }

func (a *Alarm) clone() Alarm {
	c := *a
	if a.AdditionalInformation != nil {
		c.AdditionalInformation = make(map[string]string, len(a.AdditionalInformation))
		for k, v := range a.AdditionalInformation {
			c.AdditionalInformation[k] = v
		}
	}
	c.Comments = append([]Comment(nil), a.Comments...)
	return c
}

// NotificationType names a notification as 3GPP TS 28.532 does.
type NotificationType string

// The notifications a Manager emits.
const (
	NotifyNewAlarm        NotificationType = "notifyNewAlarm"
	NotifyChangedAlarm    NotificationType = "notifyChangedAlarm"
	NotifyClearedAlarm    NotificationType = "notifyClearedAlarm"
	NotifyAckStateChanged NotificationType = "notifyAckStateChanged"
	NotifyComments        NotificationType = "notifyComments"
)

// Notification reports one change to one alarm.
type Notification struct {
	ID        uint64           `json:"notificationId"`
	Type      NotificationType `json:"notificationType"`
	EventTime time.Time        `json:"eventTime"`
	// Alarm is the alarm after the change.
	Alarm *Alarm `json:"alarm"`
}

// Shelf hides the alarms of a managed object (and of the objects below it
// in the naming tree) from the active view and from paging until it
// expires or is removed: the operator's tool for planned maintenance. The
// alarms are still raised, cleared and recorded.
type Shelf struct {
	ID     string    `json:"shelfId"`
	Object string    `json:"objectInstance"`
	UserID string    `json:"userId"`
	Reason string    `json:"reason,omitempty"`
	Since  time.Time `json:"since"`
	Until  time.Time `json:"until"`
}

// Covers reports whether the shelf applies to the object dn: the same
// object or one below it (dn ends with ","+... after the shelf's object).
func (s *Shelf) Covers(dn string) bool { return Under(dn, s.Object) }

// Under reports whether dn names base or an object below it: "sgw=sg1,
// assoc=asp3" is under "sgw=sg1". Names compare after normalisation.
func Under(dn, base string) bool {
	dn, base = NormalizeDN(dn), NormalizeDN(base)
	if base == "" {
		return true
	}
	return dn == base || strings.HasPrefix(dn, base+",")
}

// NormalizeDN removes the spaces around the separators of a distinguished
// name: "sgw=sg1, assoc = asp3" becomes "sgw=sg1,assoc=asp3".
func NormalizeDN(dn string) string {
	parts := strings.Split(dn, ",")
	for i, p := range parts {
		k, v, ok := strings.Cut(p, "=")
		if ok {
			parts[i] = strings.TrimSpace(k) + "=" + strings.TrimSpace(v)
		} else {
			parts[i] = strings.TrimSpace(p)
		}
	}
	return strings.Join(parts, ",")
}

// ValidDN reports whether dn is a non-empty sequence of key=value parts.
func ValidDN(dn string) bool {
	if dn == "" {
		return false
	}
	for _, p := range strings.Split(NormalizeDN(dn), ",") {
		k, v, ok := strings.Cut(p, "=")
		if !ok || k == "" || v == "" {
			return false
		}
	}
	return true
}
