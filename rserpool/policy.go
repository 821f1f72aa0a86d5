package rserpool

import (
	"encoding/binary"
	"fmt"
)

// PolicyType is the 32-bit policy type of a Pool Member Selection Policy
// parameter (RFC 5356, section 5). Adaptive policies (those that use the
// PEs' load) have 0x40000000 set.
type PolicyType uint32

// The policies of RFC 5356.
const (
	RoundRobin               PolicyType = 0x00000001
	WeightedRoundRobin       PolicyType = 0x00000002
	Random                   PolicyType = 0x00000003
	WeightedRandom           PolicyType = 0x00000004
	Priority                 PolicyType = 0x00000005
	LeastUsed                PolicyType = 0x40000001
	LeastUsedWithDegradation PolicyType = 0x40000002
	PriorityLeastUsed        PolicyType = 0x40000003
	RandomizedLeastUsed      PolicyType = 0x40000004
)

// MaxLoad is the load value of a fully loaded PE: RFC 5356 maps 0..100 %
// onto 0x00000000..0xffffffff (and load degradation likewise).
const MaxLoad = 0xffffffff

// LoadPercent converts a percentage (0–100) to a load value.
func LoadPercent(pct float64) uint32 {
	switch {
	case pct <= 0:
		return 0
	case pct >= 100:
		return MaxLoad
	}
	return uint32(pct / 100 * MaxLoad)
}

var policyInfo = map[PolicyType]struct {
	name   string
	abbrev string
	fields int // 32-bit fields after the policy type
}{
	RoundRobin:               {"Round Robin", "RR", 0},
	WeightedRoundRobin:       {"Weighted Round Robin", "WRR", 1},
	Random:                   {"Random", "RAND", 0},
	WeightedRandom:           {"Weighted Random", "WRAND", 1},
	Priority:                 {"Priority", "PRI", 1},
	LeastUsed:                {"Least Used", "LU", 1},
	LeastUsedWithDegradation: {"Least Used with Degradation", "LUD", 2},
	PriorityLeastUsed:        {"Priority Least Used", "PLU", 2},
	RandomizedLeastUsed:      {"Randomized Least Used", "RLU", 1},
}

func (t PolicyType) String() string {
	if i, ok := policyInfo[t]; ok {
		return i.name
	}
	return fmt.Sprintf("PolicyType(0x%08x)", uint32(t))
}

// Known reports whether t is one of the policies of RFC 5356.
func (t PolicyType) Known() bool { _, ok := policyInfo[t]; return ok }

// Adaptive reports whether the policy uses the PEs' load.
func (t PolicyType) Adaptive() bool { return t&0x40000000 != 0 }

// Policy is a Pool Member Selection Policy parameter: the policy type and
// the fields that type carries on the wire (RFC 5356, section 4):
//
//	Round Robin, Random               —
//	Weighted Round Robin, Weighted Random   Weight
//	Priority                          Priority
//	Least Used, Randomized Least Used Load
//	Least Used with Degradation       Load, LoadDegradation
//	Priority Least Used               Load, LoadDegradation
//
// Fields a type does not carry are ignored by AppendTo and zero after
// decoding.
type Policy struct {
	Type            PolicyType
	Weight          uint32
	Priority        uint32
	Load            uint32
	LoadDegradation uint32
}

// Normalize returns p with the fields its type does not carry zeroed.
func (p Policy) Normalize() Policy {
	q := Policy{Type: p.Type}
	switch p.Type {
	case WeightedRoundRobin, WeightedRandom:
		q.Weight = p.Weight
	case Priority:
		q.Priority = p.Priority
	case LeastUsed, RandomizedLeastUsed:
		q.Load = p.Load
	case LeastUsedWithDegradation, PriorityLeastUsed:
		q.Load, q.LoadDegradation = p.Load, p.LoadDegradation
	}
	return q
}

// AppendTo appends the policy parameter to dst.
func (p *Policy) AppendTo(dst []byte) ([]byte, error) {
	info, ok := policyInfo[p.Type]
	if !ok {
		return dst, fmt.Errorf("rserpool: unknown policy type 0x%08x", uint32(p.Type))
	}
	dst = binary.BigEndian.AppendUint16(dst, uint16(ParamPolicy))
	dst = binary.BigEndian.AppendUint16(dst, uint16(8+4*info.fields))
	dst = binary.BigEndian.AppendUint32(dst, uint32(p.Type))
	switch p.Type {
	case WeightedRoundRobin, WeightedRandom:
		dst = binary.BigEndian.AppendUint32(dst, p.Weight)
	case Priority:
		dst = binary.BigEndian.AppendUint32(dst, p.Priority)
	case LeastUsed, RandomizedLeastUsed:
		dst = binary.BigEndian.AppendUint32(dst, p.Load)
	case LeastUsedWithDegradation, PriorityLeastUsed:
		dst = binary.BigEndian.AppendUint32(dst, p.Load)
		dst = binary.BigEndian.AppendUint32(dst, p.LoadDegradation)
	}
	return dst, nil
}

// decodePolicy decodes a policy parameter. An unknown policy type, or a
// length that does not match the type, is an Invalid Values error carrying
// the parameter.
func decodePolicy(p RawParam) (Policy, *Error) {
	var pol Policy
	if len(p.Value) < 4 {
		return pol, invalid(p, "policy parameter of length %d", len(p.TLV))
	}
	pol.Type = PolicyType(binary.BigEndian.Uint32(p.Value))
	info, ok := policyInfo[pol.Type]
	if !ok {
		return pol, invalid(p, "unknown policy type 0x%08x", uint32(pol.Type))
	}
	if len(p.Value) != 4+4*info.fields {
		return pol, invalid(p, "%v policy parameter of length %d, want %d", pol.Type, len(p.TLV), 8+4*info.fields)
	}
	v := p.Value[4:]
	switch pol.Type {
	case WeightedRoundRobin, WeightedRandom:
		pol.Weight = binary.BigEndian.Uint32(v)
	case Priority:
		pol.Priority = binary.BigEndian.Uint32(v)
	case LeastUsed, RandomizedLeastUsed:
		pol.Load = binary.BigEndian.Uint32(v)
	case LeastUsedWithDegradation, PriorityLeastUsed:
		pol.Load = binary.BigEndian.Uint32(v)
		pol.LoadDegradation = binary.BigEndian.Uint32(v[4:])
	}
	return pol, nil
}
