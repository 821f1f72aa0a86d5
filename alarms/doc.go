// Package alarms is sigpool's fault management: the alarm model of ITU-T
// X.733 and 3GPP TS 28.532, the inventory of every alarm sigpool raises
// (Inventory, documented in docs/alarms.md), and the Manager that turns the
// conditions components report into debounced alarms, keeps the operator's
// actions on them (acknowledgement, comments, manual clear, shelving),
// notifies subscribers, and keeps a bounded history on disk that survives
// a restart.
//
// A component reports conditions, never alarms:
//
//	m.Raise(alarms.Report{Def: alarms.AssociationDown, Object: "sgw=sg1,assoc=asp3", AdditionalText: ev.String()})
//	...
//	m.Clear(alarms.AssociationDown, "sgw=sg1,assoc=asp3")
//
// Time comes from a Clock only, so tests drive debounce, shelving expiry
// and restart grace with a fake clock. Package alarms/metrics exports the
// counts to Prometheus; internal/mgmt serves them over HTTP.
package alarms
