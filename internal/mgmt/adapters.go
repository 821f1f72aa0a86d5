package mgmt

import (
	"context"
	"fmt"
	"sort"
	"strconv"

	"github.com/sigpool/sigpool/rserpool"
	"github.com/sigpool/sigpool/sigtran/m3ua"
	"github.com/sigpool/sigpool/sigtran/sctp"
)

// ElementSource is what RegistrarPools reads the elements from:
// *enrp.Driver (a registrar, or the gateway's embedded one) has it.
type ElementSource interface {
	Elements(handle []byte) []rserpool.PoolElement
}

// RegistrarPools is a PoolProvider over a registrar's handlespace, for the
// pools a daemon is configured with (Handle, Policy and MinElements set,
// Elements ignored): each listing reads their elements from src.
func RegistrarPools(src ElementSource, pools []Pool) PoolProvider {
	return registrarPools{src: src, pools: append([]Pool(nil), pools...)}
}

type registrarPools struct {
	src   ElementSource
	pools []Pool
}

func (r registrarPools) Pools(ctx context.Context) ([]Pool, error) {
	out := make([]Pool, 0, len(r.pools))
	for _, p := range r.pools {
		p.Elements = []Element{}
		for _, pe := range r.src.Elements([]byte(p.Handle)) {
			p.Elements = append(p.Elements, ElementOf(pe))
		}
		sort.Slice(p.Elements, func(i, j int) bool { return p.Elements[i].ID < p.Elements[j].ID })
		out = append(out, p)
	}
	return out, nil
}

// ElementOf describes a pool element for the API: identifier and home
// registrar in hexadecimal (as rsplib's tools print them), the user
// transport as ip[+ip…]:port, the load of load-based policies.
func ElementOf(pe rserpool.PoolElement) Element {
	e := Element{
		ID:      fmt.Sprintf("%08x", pe.ID),
		Address: sctp.Addr{IPs: pe.UserTransport.Addrs, Port: pe.UserTransport.Port}.String(),
		State:   "registered",
		Load:    pe.Policy.Load,
	}
	if pe.HomeRegistrar != 0 {
		e.Registrar = fmt.Sprintf("%08x", pe.HomeRegistrar)
	}
	return e
}

// M3UAState is what M3UASides reads of an M3UA SGP: *m3ua.Server has it.
type M3UAState interface {
	Assocs() map[m3ua.AssocID]sctp.Addr
	ASPIdentifier(a m3ua.AssocID) (uint32, bool)
	ASPState(a m3ua.AssocID) m3ua.ASPState
	ActiveRCs(a m3ua.AssocID) []uint32
	ASState(rc uint32) m3ua.ASState
}

// M3UASide is one M3UA server of a daemon (the gateway has two: the
// network side and the application servers' side) with its configured
// application servers (Name, RoutingContext and TrafficMode set).
type M3UASide struct {
	Name   string // prefix of the association names, e.g. "network"
	Server M3UAState
	ASes   []AS
}

// M3UASides is an ASPProvider over M3UA servers: every association is one
// ASP, named "<side>-<association id>[-<ASP Identifier in hex>]" (the
// identifier when the ASP sent one: a pool element's identifier, on the
// gateway's server side), its state and the application servers it is active for; an
// AS lists its state and its active ASPs.
func M3UASides(sides ...M3UASide) ASPProvider { return m3uaSides(sides) }

type m3uaSides []M3UASide

func (s m3uaSides) ASPs(ctx context.Context) ([]ASP, error) {
	out := []ASP{}
	for _, side := range s {
		names := asNames(side)
		for _, a := range sortedAssocs(side.Server) {
			asp := ASP{
				ID:          aspID(side.Name, a),
				Association: side.Server.Assocs()[a].String(),
				State:       side.Server.ASPState(a).String(),
			}
			if id, ok := side.Server.ASPIdentifier(a); ok {
				asp.ID += fmt.Sprintf("-%08x", id)
			}
			for _, rc := range side.Server.ActiveRCs(a) {
				if n, ok := names[rc]; ok {
					asp.Servers = append(asp.Servers, n)
				} else {
					asp.Servers = append(asp.Servers, "rc "+strconv.FormatUint(uint64(rc), 10))
				}
			}
			out = append(out, asp)
		}
	}
	return out, nil
}

func (s m3uaSides) ApplicationServers(ctx context.Context) ([]AS, error) {
	out := []AS{}
	for _, side := range s {
		assocs := sortedAssocs(side.Server)
		for _, as := range side.ASes {
			as.State = side.Server.ASState(as.RoutingContext).String()
			as.ASPs = nil
			for _, a := range assocs {
				for _, rc := range side.Server.ActiveRCs(a) {
					if rc == as.RoutingContext {
						id := aspID(side.Name, a)
						if pe, ok := side.Server.ASPIdentifier(a); ok {
							id += fmt.Sprintf("-%08x", pe)
						}
						as.ASPs = append(as.ASPs, id)
					}
				}
			}
			out = append(out, as)
		}
	}
	return out, nil
}

func asNames(side M3UASide) map[uint32]string {
	m := make(map[uint32]string, len(side.ASes))
	for _, as := range side.ASes {
		m[as.RoutingContext] = as.Name
	}
	return m
}

func sortedAssocs(s M3UAState) []m3ua.AssocID {
	m := s.Assocs()
	ids := make([]m3ua.AssocID, 0, len(m))
	for a := range m {
		ids = append(ids, a)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	return ids
}

func aspID(side string, a m3ua.AssocID) string {
	return side + "-" + strconv.FormatUint(uint64(a), 10)
}
