package alarms

import (
	"fmt"
	"time"
)

//go:generate go run ./internal/inventorydoc/gen -docs ../docs/alarms.md -rules ../deploy/prometheus/sigpool-alarms.rules.yml -rules-test ../deploy/prometheus/tests/sigpool-alarms.test.yml

// Debounce says how long a condition must hold before its alarm is raised
// and how long it must stay away before the alarm clears. See Manager for
// the rules.
type Debounce struct {
	// RaiseAfter is how long a condition must hold, without interruption,
	// before the alarm is raised. Zero raises at once.
	RaiseAfter time.Duration
	// ClearAfter is how long a condition must stay away before the raised
	// alarm clears. A condition that comes back sooner counts as a flap of
	// the same alarm. Zero clears at once.
	ClearAfter time.Duration
	// FlapCount and FlapWindow raise the alarm anyway, before RaiseAfter,
	// when the condition has appeared FlapCount times within FlapWindow: a
	// condition that never lasts RaiseAfter but keeps coming back is a
	// fault too. FlapCount 0 turns this off.
	FlapCount  int
	FlapWindow time.Duration
}

// Definition is one entry of the alarm inventory: everything about an alarm
// except the managed object it is raised on.
type Definition struct {
	// Name identifies the entry in the API, in the alarm_name label of
	// sigpool_alarm_active and in alert rules.
	Name            string
	EventType       EventType
	ProbableCause   string
	SpecificProblem string
	Severity        Severity
	// ObjectClass and Object describe the managed object: its class and
	// the form of its distinguished name.
	ObjectClass string
	Object      string
	// RaisedBy names the programs that raise it.
	RaisedBy string
	// Stateless alarms report an event rather than a condition: nothing
	// clears them automatically except AutoClear; an operator clears them
	// once handled.
	Stateless bool
	AutoClear time.Duration
	Debounce  Debounce
	// Meaning says what happened and what it does to traffic; Repair is
	// the proposed repair action (X.733 proposedRepairActions).
	Meaning string
	Repair  string
}

// Key returns the key of this alarm on object dn.
func (d *Definition) Key(dn string) Key {
	return Key{Object: NormalizeDN(dn), EventType: d.EventType, ProbableCause: d.ProbableCause, SpecificProblem: d.SpecificProblem}
}

// The inventory: every alarm sigpool raises. Components raise alarms only
// through these definitions, so the list (and docs/alarms.md, generated
// from it) is complete by construction.
var (
	AssociationDown = &Definition{
		Name:            "association-down",
		EventType:       CommunicationsAlarm,
		ProbableCause:   "communicationsSubsystemFailure",
		SpecificProblem: "SCTP association down",
		Severity:        Major,
		ObjectClass:     "SctpAssociation",
		Object:          "sgw=<gateway>,assoc=<association>",
		RaisedBy:        "sgw, aspd, registrar",
		Debounce:        Debounce{ClearAfter: 10 * time.Second},
		Meaning: "A configured SCTP association is not established: it was lost (the peer stopped answering on every path, " +
			"aborted, or restarted) or it cannot be set up. Everything it carried (M3UA to an STP or to an ASP, ASAP " +
			"session messages) moves to the other associations, if any.",
		Repair: "Check that the peer process runs and listens on the configured addresses and port; check both IP " +
			"networks between the hosts (ping each peer address from each local address); look for ABORT causes in " +
			"the gateway log for this association. The alarm clears 10 s after the association is up again.",
	}
	PathDown = &Definition{
		Name:            "path-down",
		EventType:       CommunicationsAlarm,
		ProbableCause:   "lossOfRedundancy",
		SpecificProblem: "SCTP path down",
		Severity:        Minor,
		ObjectClass:     "SctpPath",
		Object:          "sgw=<gateway>,assoc=<association>,path=<peer IP>",
		RaisedBy:        "sgw, aspd, registrar",
		Debounce:        Debounce{ClearAfter: 10 * time.Second},
		Meaning: "One peer address of a multihomed association is unreachable (heartbeats or retransmissions to it " +
			"failed Path.Max.Retrans times), or has stayed potentially failed (RFC 7829) for longer than the PF hold " +
			"(default 1.2 s, the telecom PathDown bound; a shorter PF raises nothing). Traffic runs on the remaining " +
			"paths: nothing is lost, but one more network failure takes the association down.",
		Repair: "Check the network that carries this path: the local interface, the switch, the route to the peer " +
			"address. The alarm clears 10 s after the path answers heartbeats again.",
	}
	ASPDown = &Definition{
		Name:            "asp-down",
		EventType:       CommunicationsAlarm,
		ProbableCause:   "applicationSubsystemFailure",
		SpecificProblem: "M3UA ASP down",
		Severity:        Major,
		ObjectClass:     "M3uaAsp",
		Object:          "sgw=<gateway>,asp=<ASP identifier>",
		RaisedBy:        "sgw",
		Debounce:        Debounce{ClearAfter: 10 * time.Second},
		Meaning: "An M3UA application server process that was ASP-ACTIVE lost its association, or left " +
			"ASP-ACTIVE while its pool element is still registered (an orderly stop that deregisters first " +
			"raises nothing). It takes no traffic; the other ASPs of its pools carry it. The alarm clears when " +
			"an ASP with that identifier is ASP-ACTIVE again, or when its pool element leaves the handlespace " +
			"(a restarted aspd comes back as a new element; pool-below-minimum covers the capacity).",
		Repair: "Check the aspd process on the ASP host (systemctl status sigpool-aspd) and its association " +
			"alarms; an ASP blocked by an operator is reported as blocked, not as down.",
	}
	ASPending = &Definition{
		Name:            "as-pending",
		EventType:       CommunicationsAlarm,
		ProbableCause:   "applicationSubsystemFailure",
		SpecificProblem: "M3UA AS pending",
		Severity:        Major,
		ObjectClass:     "M3uaAs",
		Object:          "sgw=<gateway>,as=<application server>",
		RaisedBy:        "sgw",
		Debounce:        Debounce{RaiseAfter: 0, ClearAfter: 5 * time.Second},
		Meaning: "The last active ASP of an application server went inactive; the gateway queues the AS's " +
			"traffic for the recovery timer T(r), waiting for an ASP to become active. When T(r) expires the AS " +
			"goes down and the queued messages are discarded.",
		Repair: "Look at the ASP alarms of this AS: bring an ASP back to ASP-ACTIVE before T(r) runs out.",
	}
	ASDown = &Definition{
		Name:            "as-down",
		EventType:       CommunicationsAlarm,
		ProbableCause:   "applicationSubsystemFailure",
		SpecificProblem: "M3UA AS down",
		Severity:        Critical,
		ObjectClass:     "M3uaAs",
		Object:          "sgw=<gateway>,as=<application server>",
		RaisedBy:        "sgw",
		Debounce:        Debounce{ClearAfter: 5 * time.Second},
		Meaning: "An application server has no active ASP: the signalling it serves (its routing keys) is " +
			"unavailable through this gateway and its messages are discarded.",
		Repair: "Restore at least one ASP of the AS (aspd process, its associations, its registration in the " +
			"pool). This is an outage: escalate at once.",
	}
	PoolBelowMinimum = &Definition{
		Name:            "pool-below-minimum",
		EventType:       QualityOfServiceAlarm,
		ProbableCause:   "thresholdCrossed",
		SpecificProblem: "Pool below its minimum of live elements",
		Severity:        Major,
		ObjectClass:     "Pool",
		Object:          "sgw=<gateway>,pool=<pool handle>",
		RaisedBy:        "sgw, registrar",
		Debounce:        Debounce{RaiseAfter: 5 * time.Second, ClearAfter: 10 * time.Second, FlapCount: 3, FlapWindow: 5 * time.Minute},
		Meaning: "Fewer pool elements are registered and reachable in the pool than its configured minimum: " +
			"the pool still serves, but without the spare capacity it was sized for. A rolling restart " +
			"shorter than 5 s does not raise it.",
		Repair: "Find the missing elements (sgwctl elements POOL), restart or re-register them; check the " +
			"registrar-peer alarms if the elements are registered at another registrar.",
	}
	PoolEmpty = &Definition{
		Name:            "pool-empty",
		EventType:       QualityOfServiceAlarm,
		ProbableCause:   "applicationSubsystemFailure",
		SpecificProblem: "Pool empty",
		Severity:        Critical,
		ObjectClass:     "Pool",
		Object:          "sgw=<gateway>,pool=<pool handle>",
		RaisedBy:        "sgw, registrar",
		Debounce:        Debounce{ClearAfter: 5 * time.Second},
		Meaning: "The pool has no live element: handle resolution fails and new dialogues for its " +
			"application server cannot be placed.",
		Repair: "Start or repair the ASP hosts of the pool; check that they reach a registrar (ASAP " +
			"registration) and that their associations to the gateways are up. This is an outage: escalate at once.",
	}
	RegistrarPeerLost = &Definition{
		Name:            "registrar-peer-lost",
		EventType:       CommunicationsAlarm,
		ProbableCause:   "communicationsSubsystemFailure",
		SpecificProblem: "ENRP peer lost",
		Severity:        Major,
		ObjectClass:     "RegistrarPeer",
		Object:          "registrar=<registrar id>,peer=<peer registrar id>",
		RaisedBy:        "sgw, registrar",
		Debounce:        Debounce{ClearAfter: 10 * time.Second},
		Meaning: "A registrar of the operation scope stopped answering ENRP presence: its handlespace copy is " +
			"no longer synchronised, and the surviving registrars will take over its pool elements.",
		Repair: "Check the peer's host and process and the network between the registrars. When it comes " +
			"back it resynchronises its handlespace by itself.",
	}
	TakeoverPerformed = &Definition{
		Name:            "takeover-performed",
		EventType:       CommunicationsAlarm,
		ProbableCause:   "communicationsSubsystemFailure",
		SpecificProblem: "Registrar takeover performed",
		Severity:        Warning,
		ObjectClass:     "RegistrarPeer",
		Object:          "registrar=<registrar id>,peer=<taken-over registrar id>",
		RaisedBy:        "sgw, registrar",
		Stateless:       true,
		AutoClear:       24 * time.Hour,
		Meaning: "This registrar took over the pool elements of a registrar that was declared dead (ENRP " +
			"takeover). Service continues; the elements now have this registrar as their home.",
		Repair: "Find out why the peer registrar died (its alarms and journal). Acknowledge and clear this " +
			"alarm once understood; it clears by itself after 24 h.",
	}
	HandlespaceChecksumMismatch = &Definition{
		Name:            "handlespace-checksum-mismatch",
		EventType:       ProcessingErrorAlarm,
		ProbableCause:   "corruptData",
		SpecificProblem: "Handlespace checksum mismatch",
		Severity:        Major,
		ObjectClass:     "RegistrarPeer",
		Object:          "registrar=<registrar id>,peer=<peer registrar id>",
		RaisedBy:        "sgw, registrar",
		Debounce:        Debounce{RaiseAfter: 2 * time.Second, ClearAfter: 10 * time.Second, FlapCount: 5, FlapWindow: 10 * time.Minute},
		Meaning: "The checksum a peer registrar announces for the pool elements it owns differs from this " +
			"registrar's copy: the handlespaces disagree and handle resolution may differ between gateways. " +
			"The registrar resynchronises; the alarm stays if that does not help.",
		Repair: "If it does not clear within a minute, compare the pools on both registrars (sgwctl pools on " +
			"each) and restart the registrar whose copy is wrong; report the case with both outputs.",
	}
	MessagesDiscarded = &Definition{
		Name:            "messages-discarded",
		EventType:       QualityOfServiceAlarm,
		ProbableCause:   "queueSizeExceeded",
		SpecificProblem: "Queue overflow, messages discarded",
		Severity:        Major,
		ObjectClass:     "Queue",
		Object:          "sgw=<gateway>,queue=<queue name>",
		RaisedBy:        "sgw, aspd",
		Debounce:        Debounce{ClearAfter: time.Minute},
		Meaning: "A queue reached its limit and messages were discarded (signalling lost): the traffic " +
			"exceeds what the next hop takes, or the next hop is stalled. sigpool_gateway_msus_discarded_total " +
			"says how many and why.",
		Repair: "Check the load of the destination (sgwctl elements, sgwctl associations) and the discard " +
			"reasons in the metrics; add elements to the pool or throttle the source. The alarm clears after a " +
			"minute without discards.",
	}
	ConfigReloadRefused = &Definition{
		Name:            "config-reload-refused",
		EventType:       ProcessingErrorAlarm,
		ProbableCause:   "configurationOrCustomizationError",
		SpecificProblem: "Configuration reload refused",
		Severity:        Minor,
		ObjectClass:     "Process",
		Object:          "<program>=<instance>",
		RaisedBy:        "sgw, aspd, registrar",
		Meaning: "A reload (SIGHUP) found an invalid configuration file and kept running with the previous " +
			"configuration: the file on disk and the running configuration now differ, and a restart would fail.",
		Repair: "Read the reason in the alarm's additional text, fix the file, and reload again " +
			"(systemctl reload). A successful reload clears the alarm.",
	}
	HistoryUnwritable = &Definition{
		Name:            "alarm-history-unwritable",
		EventType:       ProcessingErrorAlarm,
		ProbableCause:   "fileError",
		SpecificProblem: "Alarm history cannot be written",
		Severity:        Minor,
		ObjectClass:     "Process",
		Object:          "<program>=<instance>",
		RaisedBy:        "sgw, aspd, registrar (the alarm manager itself)",
		Debounce:        Debounce{ClearAfter: time.Minute},
		Meaning: "The alarm manager could not append to its history file: alarms still work, but what " +
			"happened since will not survive a restart.",
		Repair: "Check the file system holding the state directory (full, read-only, permissions of the " +
			"sigpool user). The alarm clears once a write succeeds again.",
	}
)

// Inventory lists every definition, in the order of the documentation.
var Inventory = []*Definition{
	AssociationDown,
	PathDown,
	ASPDown,
	ASPending,
	ASDown,
	PoolBelowMinimum,
	PoolEmpty,
	RegistrarPeerLost,
	TakeoverPerformed,
	HandlespaceChecksumMismatch,
	MessagesDiscarded,
	ConfigReloadRefused,
	HistoryUnwritable,
}

// Lookup returns the inventory entry with the given name.
func Lookup(name string) (*Definition, bool) {
	for _, d := range Inventory {
		if d.Name == name {
			return d, true
		}
	}
	return nil, false
}

// lookupKey returns the inventory entry an alarm key belongs to.
func lookupKey(k Key) (*Definition, bool) {
	for _, d := range Inventory {
		if d.EventType == k.EventType && d.ProbableCause == k.ProbableCause && d.SpecificProblem == k.SpecificProblem {
			return d, true
		}
	}
	return nil, false
}

// Validate checks an inventory: unique names and keys, known severities,
// texts present, consistent debounce.
func Validate(inv []*Definition) error {
	names := map[string]bool{}
	keys := map[Key]bool{}
	for _, d := range inv {
		k := d.Key("")
		switch {
		case d.Name == "" || d.SpecificProblem == "" || d.ProbableCause == "" || d.EventType == "":
			return fmt.Errorf("alarms: definition %q: name, event type, probable cause and specific problem are required", d.Name)
		case names[d.Name]:
			return fmt.Errorf("alarms: definition %q: duplicate name", d.Name)
		case keys[k]:
			return fmt.Errorf("alarms: definition %q: duplicate (event type, probable cause, specific problem)", d.Name)
		case d.Severity < Critical || d.Severity > Indeterminate:
			return fmt.Errorf("alarms: definition %q: severity %v cannot be raised", d.Name, d.Severity)
		case d.Meaning == "" || d.Repair == "" || d.Object == "" || d.ObjectClass == "":
			return fmt.Errorf("alarms: definition %q: object, object class, meaning and repair action are required", d.Name)
		case d.Debounce.FlapCount > 0 && d.Debounce.FlapWindow <= 0:
			return fmt.Errorf("alarms: definition %q: flap count without a flap window", d.Name)
		case d.Debounce.FlapCount == 1:
			return fmt.Errorf("alarms: definition %q: a flap count of 1 is RaiseAfter 0; say so", d.Name)
		case d.Stateless && (d.Debounce != Debounce{}):
			return fmt.Errorf("alarms: definition %q: a stateless alarm has no condition to debounce", d.Name)
		case !d.Stateless && d.AutoClear != 0:
			return fmt.Errorf("alarms: definition %q: only stateless alarms clear after a time", d.Name)
		}
		names[d.Name], keys[k] = true, true
	}
	return nil
}
