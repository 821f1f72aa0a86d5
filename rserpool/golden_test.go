package rserpool

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// testdata/golden holds ASAP messages that rsplib 3.4.4 (rspregistrar,
// rspserver, rspterminal) sent in the lab, cut from a capture by
// TestLabRsplibInterop -update-golden, each beside tshark 4.0's decode of
// its frame (tshark -O asap). TestGoldenRsplib decodes every message with
// DecodeMessage, checks the fields against tshark's, and re-encodes it:
// our encoder writes what rsplib writes, byte for byte.

// tsharkField is one "Label: value" line of tshark's ASAP decode.
type tsharkField struct{ key, val string }

// tsharkFields returns the "Label: value" lines of the ASAP part of a
// tshark -O asap decode, in order.
func tsharkFields(text string) []tsharkField {
	_, asap, ok := strings.Cut(text, "\nAggregate Server Access Protocol\n")
	if !ok {
		return nil
	}
	var out []tsharkField
	for _, line := range strings.Split(asap, "\n") {
		if !strings.HasPrefix(line, " ") {
			break // the end of the ASAP tree
		}
		if k, v, ok := strings.Cut(strings.TrimSpace(line), ": "); ok {
			out = append(out, tsharkField{k, v})
		}
	}
	return out
}

// want is a field our decode says tshark must show: exactly val, or
// (suffix) ending in val, as in "Type: ASAP Registration (1)".
type want struct {
	key, val string
	suffix   bool
}

func (w want) match(f tsharkField) bool {
	if f.key != w.key {
		return false
	}
	if w.suffix {
		return strings.HasSuffix(f.val, w.val)
	}
	return f.val == w.val
}

// tsharkView lists, in wire order, the fields tshark shows for m (the
// labels and formats of tshark 4.0's ASAP dissector).
type tsharkView []want

func (v *tsharkView) add(key, val string)    { *v = append(*v, want{key, val, false}) }
func (v *tsharkView) suffix(key, val string) { *v = append(*v, want{key, val, true}) }

func (v *tsharkView) handle(h []byte) {
	s := hex.EncodeToString(h)
	if isPrintable(h) {
		s += " (" + string(h) + ")"
	}
	v.add("Pool Handle", s)
}

func isPrintable(b []byte) bool {
	for _, c := range b {
		if c < 0x20 || c > 0x7e {
			return false
		}
	}
	return len(b) > 0
}

func (v *tsharkView) id(id uint32) { v.add("PE Identifier", fmt.Sprintf("0x%08x", id)) }

func (v *tsharkView) transport(t Transport) {
	v.add("Port", fmt.Sprint(t.Port))
	if t.Kind != ParamUDPTransport {
		v.suffix("Transport Use", fmt.Sprintf("(%d)", t.Use))
	}
	for _, a := range t.Addrs {
		if a.Is4() {
			v.add("IP Version 4 Address", a.String())
		} else {
			v.add("IP Version 6 Address", a.String())
		}
	}
}

func loadPercent(l uint32) string { return fmt.Sprintf("%.2f%%", float64(l)/MaxLoad*100) }

func (v *tsharkView) policy(p Policy) {
	v.suffix("Policy Type", fmt.Sprintf("(0x%08x)", uint32(p.Type)))
	switch p.Type {
	case WeightedRoundRobin, WeightedRandom:
		v.add("Policy Weight", fmt.Sprint(p.Weight))
	case Priority:
		v.add("Policy Priority", fmt.Sprint(p.Priority))
	case LeastUsed, RandomizedLeastUsed:
		v.add("Policy Load", loadPercent(p.Load))
	case LeastUsedWithDegradation, PriorityLeastUsed:
		v.add("Policy Load", loadPercent(p.Load))
		v.add("Policy Degradation", loadPercent(p.LoadDegradation))
	}
}

func (v *tsharkView) element(pe PoolElement) {
	v.id(pe.ID)
	v.add("Home ENRP Server Identifier", fmt.Sprintf("0x%08x", pe.HomeRegistrar))
	v.add("Registration Life", fmt.Sprintf("%dms", pe.RegistrationLife))
	v.transport(pe.UserTransport)
	v.policy(pe.Policy)
	if pe.ASAPTransport != nil {
		v.transport(*pe.ASAPTransport)
	}
}

func (v *tsharkView) causes(cs []ErrorCause) {
	for _, c := range cs {
		v.add("Cause Code", fmt.Sprintf("0x%04x", uint16(c.Code)))
	}
}

// viewOf returns what tshark must show for m, encoded in n bytes.
func viewOf(m Message, n int) tsharkView {
	var v tsharkView
	v.suffix("Type", fmt.Sprintf("(%d)", m.Type()))
	flags := 0
	switch m := m.(type) {
	case *RegistrationResponse:
		if m.Reject {
			flags = flagReject
		}
	case *EndpointKeepAlive:
		if m.Home {
			flags = flagHome
		}
	}
	v.add("Flags", fmt.Sprintf("0x%02x", flags))
	v.add("Length", fmt.Sprint(n))
	switch m := m.(type) {
	case *Registration:
		v.handle(m.PoolHandle)
		v.element(m.Element)
	case *Deregistration:
		v.handle(m.PoolHandle)
		v.id(m.ID)
	case *RegistrationResponse:
		v.handle(m.PoolHandle)
		v.id(m.ID)
		v.causes(m.Causes)
	case *DeregistrationResponse:
		v.handle(m.PoolHandle)
		v.id(m.ID)
		v.causes(m.Causes)
	case *HandleResolution:
		v.handle(m.PoolHandle)
		if m.HasItems {
			v.add("Items", fmt.Sprint(m.Items))
		}
	case *HandleResolutionResponse:
		v.handle(m.PoolHandle)
		if m.Policy != nil {
			v.policy(*m.Policy)
		}
		for _, pe := range m.Elements {
			v.element(pe)
		}
		v.causes(m.Causes)
	case *EndpointKeepAlive:
		v.add("Server Identifier", fmt.Sprintf("0x%08x", m.ServerID))
		v.handle(m.PoolHandle)
		if m.HasID {
			v.id(m.ID)
		}
	case *EndpointKeepAliveAck:
		v.handle(m.PoolHandle)
		v.id(m.ID)
	case *EndpointUnreachable:
		v.handle(m.PoolHandle)
		v.id(m.ID)
	case *ServerAnnounce:
		v.add("Server Identifier", fmt.Sprintf("0x%08x", m.ServerID))
		for _, t := range m.Transports {
			v.transport(t)
		}
	case *BusinessCard:
		v.handle(m.PoolHandle)
		for _, pe := range m.Elements {
			v.element(pe)
		}
	case *ErrorMessage:
		v.causes(m.Causes)
	}
	return v
}

// keys returns the labels v checks.
func (v tsharkView) keys() map[string]bool {
	k := map[string]bool{}
	for _, w := range v {
		k[w.key] = true
	}
	return k
}

// TestGoldenRsplib: every ASAP message rsplib sent in the lab decodes,
// shows the fields tshark found, in the same order, and re-encodes to
// the same bytes.
func TestGoldenRsplib(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "golden", "rsp*.bin"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 8 {
		t.Fatalf("only %d golden rsplib messages in testdata/golden", len(files))
	}
	types := map[MessageType]bool{}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".bin")
		t.Run(name, func(t *testing.T) {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			text, err := os.ReadFile(strings.TrimSuffix(f, ".bin") + ".tshark.txt")
			if err != nil {
				t.Fatal(err)
			}
			m, report, err := DecodeMessage(b)
			if err != nil {
				t.Fatalf("DecodeMessage: %v\n% x", err, b)
			}
			if len(report) > 0 {
				t.Errorf("parameters to report: %v", report)
			}
			types[m.Type()] = true
			view := viewOf(m, len(b))
			keys := view.keys()
			var shown []tsharkField
			for _, f := range tsharkFields(string(text)) {
				if keys[f.key] {
					shown = append(shown, f)
				}
			}
			if len(shown) != len(view) {
				t.Errorf("tshark shows %d of the fields we check, we decode %d:\n tshark %v\n ours   %v", len(shown), len(view), shown, view)
			}
			for i := range min(len(shown), len(view)) {
				if !view[i].match(shown[i]) {
					t.Errorf("field %d: tshark shows %s: %q, we decode %q", i, shown[i].key, shown[i].val, view[i].val)
				}
			}
			again, err := Marshal(m)
			if err != nil {
				t.Fatalf("re-encoding: %v", err)
			}
			if !bytes.Equal(again, b) {
				t.Errorf("re-encoding differs:\n rsplib % x\n ours   % x", b, again)
			}
		})
	}
	// The capture's message types: registration, its response,
	// deregistration response, handle resolution with rsplib's option and
	// its response, endpoint keep-alive and its ack.
	for _, mt := range []MessageType{MsgRegistration, MsgRegistrationResponse, MsgDeregistrationResponse,
		MsgHandleResolution, MsgHandleResolutionResponse, MsgEndpointKeepAlive, MsgEndpointKeepAliveAck} {
		if !types[mt] {
			t.Errorf("no golden %v", mt)
		}
	}
}

// TestGoldenTsharkView checks the checker: a field changed in the golden
// bytes no longer matches tshark's decode.
func TestGoldenTsharkView(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("testdata", "golden", "rspregistrar-handle-resolution-response-sigpool.bin"))
	if err != nil {
		t.Fatal(err)
	}
	text, err := os.ReadFile(filepath.Join("testdata", "golden", "rspregistrar-handle-resolution-response-sigpool.tshark.txt"))
	if err != nil {
		t.Fatal(err)
	}
	m, _, err := DecodeMessage(b)
	if err != nil {
		t.Fatal(err)
	}
	hrr := m.(*HandleResolutionResponse)
	if len(hrr.Elements) != 1 || hrr.Elements[0].ID != 0x5169a001 || hrr.Elements[0].RegistrationLife != 15000 ||
		hrr.Elements[0].Policy.Type != LeastUsed || hrr.Elements[0].UserTransport.Port != 2905 {
		t.Fatalf("decoded %+v", hrr)
	}
	hrr.Elements[0].Policy.Load++ // still 25.00 %: invisible to tshark
	hrr.Elements[0].UserTransport.Port = 2906
	view := viewOf(hrr, len(b))
	keys := view.keys()
	mismatch := 0
	i := 0
	for _, f := range tsharkFields(string(text)) {
		if keys[f.key] {
			if !view[i].match(f) {
				mismatch++
			}
			i++
		}
	}
	if i != len(view) || mismatch != 1 {
		t.Fatalf("%d fields compared of %d, %d mismatches; want all, 1", i, len(view), mismatch)
	}
}
