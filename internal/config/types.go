package config

import (
	"fmt"
	"strings"

	"github.com/spf13/pflag"
	"gopkg.in/yaml.v3"

	"github.com/sigpool/sigpool/sigtran/sctp"
)

// Addr is an SCTP transport address in a configuration file:
// "ip[+ip…]:port", one IP per network of a multihomed endpoint, the first
// the preferred (primary) one, IPv6 in brackets ("[fd00::1]+[fd01::1]:2905").
// It decodes into the embedded sctp.Addr; a malformed address is a
// FieldError on its line. The zero Addr (key absent) has no IPs.
type Addr struct{ sctp.Addr }

// ParseAddr parses "ip[+ip…]:port" and refuses what sctp.ParseAddr lets
// through but no endpoint can bind: a repeated IP, a wildcard mixed with
// explicit IPs, and port 0 when port is required.
func ParseAddr(s string, portRequired bool) (sctp.Addr, error) {
	a, err := sctp.ParseAddr(strings.TrimSpace(s))
	if err != nil {
		return a, fmt.Errorf("%s", strings.TrimPrefix(err.Error(), "sctp: "))
	}
	seen := map[string]bool{}
	for _, ip := range a.IPs {
		if seen[ip.String()] {
			return sctp.Addr{}, fmt.Errorf("address %q: %s appears twice", s, ip)
		}
		seen[ip.String()] = true
		if ip.IsUnspecified() && len(a.IPs) > 1 {
			return sctp.Addr{}, fmt.Errorf("address %q: the wildcard %s binds every address; it cannot be combined with others", s, ip)
		}
		if ip.Zone() != "" {
			return sctp.Addr{}, fmt.Errorf("address %q: zoned address %s not supported", s, ip)
		}
	}
	if portRequired && a.Port == 0 {
		return sctp.Addr{}, fmt.Errorf("address %q: port 0", s)
	}
	return a, nil
}

// UnmarshalYAML decodes "ip[+ip…]:port" (port 0 allowed: an ephemeral
// port for a dialing endpoint; Validate refuses it where it matters). An
// empty value leaves the address unset (IsZero).
func (a *Addr) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return &FieldError{Line: n.Line, Msg: "an SCTP address is a string ip[+ip…]:port"}
	}
	if strings.TrimSpace(n.Value) == "" || n.Tag == "!!null" {
		a.Addr = sctp.Addr{} // present but empty: unset
		return nil
	}
	p, err := ParseAddr(n.Value, false)
	if err != nil {
		return &FieldError{Line: n.Line, Msg: err.Error()}
	}
	a.Addr = p
	return nil
}

// MarshalYAML writes the address back in the same form.
func (a Addr) MarshalYAML() (any, error) {
	if a.IsZero() {
		return "", nil
	}
	return a.String(), nil
}

// IsZero says whether the address was left out.
func (a Addr) IsZero() bool { return len(a.IPs) == 0 && a.Port == 0 }

// Overrides binds command-line flags to fields of a configuration: a flag
// the user set replaces the field (or adds it) before the file is decoded,
// so its value is parsed, checked for type and validated as if it were in
// the file, and an error about it names the flag. Flags left unset change
// nothing, so the file's values and the type's defaults stand.
type Overrides struct {
	fs    *pflag.FlagSet
	binds []binding
}

type binding struct {
	flag, field string
	list        bool
	str         *string
	strs        *[]string
}

// NewOverrides defines its flags on fs (a cobra command's Flags(), or a
// new pflag.FlagSet).
func NewOverrides(fs *pflag.FlagSet) *Overrides { return &Overrides{fs: fs} }

// String defines flag --name overriding the scalar at field (a path such
// as "registrar.asap"); the value is decoded as the field's type: a
// duration, a number, an address...
func (o *Overrides) String(name, field, usage string) {
	b := binding{flag: name, field: field, str: new(string)}
	o.fs.StringVar(b.str, name, "", usage)
	o.binds = append(o.binds, b)
}

// Strings defines a repeatable flag --name (also comma-separated) that
// replaces the list at field.
func (o *Overrides) Strings(name, field, usage string) {
	b := binding{flag: name, field: field, list: true, strs: new([]string)}
	o.fs.StringSliceVar(b.strs, name, nil, usage)
	o.binds = append(o.binds, b)
}

// Set lists "--flag" for each bound flag the user set, in definition order.
func (o *Overrides) Set() []string {
	var out []string
	for _, b := range o.binds {
		if o.fs.Changed(b.flag) {
			out = append(out, "--"+b.flag)
		}
	}
	return out
}

// apply patches root with the flags that were set; it returns the flag
// names by index of their line marker.
func (o *Overrides) apply(root *yaml.Node) ([]string, error) {
	var names []string
	for _, b := range o.binds {
		if !o.fs.Changed(b.flag) {
			continue
		}
		line := flagLine + len(names)
		names = append(names, "--"+b.flag)
		var val *yaml.Node
		if b.list {
			val = &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq", Line: line, Column: 1}
			for _, s := range *b.strs {
				val.Content = append(val.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: s, Line: line, Column: 1})
			}
		} else {
			val = &yaml.Node{Kind: yaml.ScalarNode, Value: *b.str, Line: line, Column: 1}
		}
		if err := setPath(root, b.field, val, line); err != nil {
			return nil, &FieldError{Flag: "--" + b.flag, Field: b.field, Msg: err.Error()}
		}
	}
	return names, nil
}

// setPath puts val at path (keys only) in the mapping root, making the
// mappings on the way.
func setPath(root *yaml.Node, path string, val *yaml.Node, line int) error {
	n := root
	parts := splitPath(path)
	for i, part := range parts {
		if part[0] == '[' {
			return fmt.Errorf("a flag can only set a field reached by keys")
		}
		if n.Kind != yaml.MappingNode {
			return fmt.Errorf("%s is not a mapping in the file", strings.Join(parts[:i], "."))
		}
		last := i == len(parts)-1
		found := false
		for k := 0; k+1 < len(n.Content); k += 2 {
			if n.Content[k].Value == part {
				found = true
				if last {
					n.Content[k].Line = line
					n.Content[k+1] = val
				} else {
					n = n.Content[k+1]
				}
				break
			}
		}
		if found {
			continue
		}
		key := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: part, Line: line, Column: 1}
		if last {
			n.Content = append(n.Content, key, val)
			break
		}
		m := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Line: line, Column: 1}
		n.Content = append(n.Content, key, m)
		n = m
	}
	return nil
}
