// Package config loads a daemon's YAML configuration file strictly and
// reports every problem with the file, the line and the field it is about:
//
//	sgw.yaml:12: pools[0].policy: unknown policy "lest-used" (want one of round-robin, random, least-used)
//
// The loader refuses unknown keys and values of the wrong type (yaml.v3
// with KnownFields), then calls the configuration's Validate method if it
// has one (Validator). Validate names the field it complains about with a
// path ("pools[0].policy", see FieldError and In) and knows nothing of
// lines: the loader finds the line of that path in the parsed document.
//
// Conventions shared by sigpool's daemons:
//
//   - durations are Go duration strings ("250ms", "5m"); a bare number is
//     refused, so that "5" never silently means 5 nanoseconds;
//   - SCTP addresses are "ip[+ip…]:port" (multihomed: one IP per network),
//     IPv6 in brackets, parsed into sctp.Addr by Addr;
//   - flags override the file: Overrides binds a flag to a field path, and
//     a flag the user set on the command line replaces that field before
//     decoding, so it is parsed and validated exactly as the file is. An
//     error about such a field names the flag instead of a line.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"sort"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Validator is implemented by configurations that check their values (and
// may fill in defaults) once decoded. Its errors should be *FieldError
// (Errorf), possibly several joined with errors.Join, and nested with In;
// any other error is reported as it is, with the file name only.
type Validator interface {
	Validate() error
}

// FieldError is one problem of a configuration: the field, as a YAML path
// such as "services[1].key.ssn", and where it comes from: a line of File,
// or the command-line flag that set it.
type FieldError struct {
	File  string
	Line  int
	Flag  string // "--mgmt" when the value came from a flag
	Field string
	Msg   string
}

func (e *FieldError) Error() string {
	var b strings.Builder
	switch {
	case e.Flag != "":
		b.WriteString("flag ")
		b.WriteString(e.Flag)
		b.WriteString(": ")
	case e.File != "" && e.Line > 0:
		fmt.Fprintf(&b, "%s:%d: ", e.File, e.Line)
	case e.File != "":
		b.WriteString(e.File)
		b.WriteString(": ")
	case e.Line > 0:
		fmt.Fprintf(&b, "line %d: ", e.Line)
	}
	if e.Field != "" {
		b.WriteString(e.Field)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Errorf returns a FieldError about field.
func Errorf(field, format string, args ...any) *FieldError {
	return &FieldError{Field: field, Msg: fmt.Sprintf(format, args...)}
}

// In puts the field errors in err below prefix: a nested Validate says
// "policy", its parent In("pools[0]", err), and the loader sees
// "pools[0].policy". Other errors become FieldErrors about prefix itself.
// In(prefix, nil) is nil.
func In(prefix string, err error) error {
	if err == nil {
		return nil
	}
	list := Flatten(err)
	out := make([]error, 0, len(list))
	for _, fe := range list {
		c := *fe
		switch {
		case c.Field == "":
			c.Field = prefix
		case strings.HasPrefix(c.Field, "["):
			c.Field = prefix + c.Field
		case prefix != "":
			c.Field = prefix + "." + c.Field
		}
		out = append(out, &c)
	}
	if len(out) == 1 {
		return out[0]
	}
	return errors.Join(out...)
}

// Flatten lists the FieldErrors in err (joined errors are walked; an error
// that is no FieldError becomes one without a field).
func Flatten(err error) []*FieldError {
	if err == nil {
		return nil
	}
	if fe, ok := err.(*FieldError); ok {
		return []*FieldError{fe}
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []*FieldError
		for _, e := range j.Unwrap() {
			out = append(out, Flatten(e)...)
		}
		return out
	}
	var fe *FieldError
	if errors.As(err, &fe) {
		c := *fe
		c.Msg = strings.TrimSuffix(strings.TrimSuffix(err.Error(), fe.Error()), ": ")
		if c.Msg == "" {
			c.Msg = fe.Msg
		} else {
			c.Msg += ": " + fe.Msg
		}
		return []*FieldError{&c}
	}
	return []*FieldError{{Msg: err.Error()}}
}

// Load reads the YAML file at path into v (a pointer to a struct), applies
// the flags of o that were set (o may be nil), and validates. path may be
// empty: then v is made of the flags alone. The error, if any, is a
// *FieldError or several joined, each naming file and line (or flag) and
// field.
func Load(path string, v any, o *Overrides) error {
	var b []byte
	if path != "" {
		var err error
		b, err = os.ReadFile(path)
		if err != nil {
			return err
		}
	}
	return Parse(path, b, v, o)
}

// Parse is Load for the contents b of the file named name.
func Parse(name string, b []byte, v any, o *Overrides) error {
	if rv := reflect.ValueOf(v); rv.Kind() != reflect.Pointer || rv.IsNil() {
		return fmt.Errorf("config: Parse needs a non-nil pointer, got %T", v)
	}
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&doc); err != nil && !errors.Is(err, io.EOF) {
		return syntaxError(name, err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		return &FieldError{File: name, Line: extra.Line, Msg: "more than one YAML document"}
	}
	root := &doc
	if root.Kind == yaml.DocumentNode && len(root.Content) > 0 {
		root = root.Content[0]
	}
	if root.Kind == 0 || (root.Kind == yaml.ScalarNode && root.Tag == "!!null") {
		root = &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
	}
	if root.Kind != yaml.MappingNode {
		return &FieldError{File: name, Line: root.Line, Msg: "the file must be a mapping of keys to values"}
	}
	var flags []string
	if o != nil {
		var err error
		if flags, err = o.apply(root); err != nil {
			return err
		}
	}
	l := &locator{name: name, root: root, flags: flags}
	if err := decodeStrict(root, v); err != nil {
		return l.decodeError(err)
	}
	if val, ok := v.(Validator); ok {
		if err := val.Validate(); err != nil {
			return l.locate(err)
		}
	}
	return nil
}

// decodeStrict decodes node into v refusing unknown keys. yaml.v3 has
// KnownFields on its byte Decoder only, and the tree (patched by flags,
// with the lines of the file) must be decoded as a tree; so the keys are
// checked against v's type first, the way yaml.v3 maps them.
func decodeStrict(n *yaml.Node, v any) error {
	if err := unknownFields(n, reflect.TypeOf(v).Elem(), ""); err != nil {
		return err
	}
	return n.Decode(v)
}

// unknownError is an unknown key found by unknownFields.
type unknownError struct {
	line  int
	field string
	key   string
	known []string
}

func (e *unknownError) Error() string {
	return fmt.Sprintf("line %d: unknown field %q", e.line, e.key)
}

// unknownFields walks node against type t the way yaml.v3 maps it
// (yaml tags, ",inline", lower-cased field names) and reports the first
// key that no field takes.
func unknownFields(n *yaml.Node, t reflect.Type, path string) error {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	if reflect.PointerTo(t).Implements(unmarshalerType) || t.Implements(unmarshalerType) {
		return nil
	}
	switch t.Kind() {
	case reflect.Struct:
		if n.Kind != yaml.MappingNode {
			return nil // a type error; the decoder reports it
		}
		fields := structFields(t)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, val := n.Content[i], n.Content[i+1]
			if k.Value == "<<" {
				continue
			}
			ft, ok := fields[k.Value]
			if !ok {
				if _, open := fields["*"]; open {
					continue
				}
				known := make([]string, 0, len(fields))
				for name := range fields {
					known = append(known, name)
				}
				sort.Strings(known)
				return &unknownError{line: k.Line, field: join(path, k.Value), key: k.Value, known: known}
			}
			if err := unknownFields(val, ft, join(path, k.Value)); err != nil {
				return err
			}
		}
	case reflect.Slice, reflect.Array:
		if n.Kind != yaml.SequenceNode {
			return nil
		}
		for i, c := range n.Content {
			if err := unknownFields(c, t.Elem(), fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return err
			}
		}
	case reflect.Map:
		if n.Kind != yaml.MappingNode {
			return nil
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			if err := unknownFields(n.Content[i+1], t.Elem(), join(path, n.Content[i].Value)); err != nil {
				return err
			}
		}
	}
	return nil
}

var unmarshalerType = reflect.TypeOf((*yaml.Unmarshaler)(nil)).Elem()

// structFields maps the YAML keys of struct type t to their field types.
func structFields(t reflect.Type) map[string]reflect.Type {
	m := map[string]reflect.Type{}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if f.PkgPath != "" && !f.Anonymous {
			continue
		}
		tag := f.Tag.Get("yaml")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if strings.Contains(","+opts+",", ",inline,") {
			ft := f.Type
			for ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				for k, v := range structFields(ft) {
					m[k] = v
				}
			} else {
				m["*"] = ft // inline map: anything goes
			}
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		m[name] = f.Type
	}
	return m
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// syntaxError turns yaml.v3's "yaml: line 7: ..." into a FieldError.
func syntaxError(name string, err error) error {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	line, rest := splitLine(msg)
	return &FieldError{File: name, Line: line, Msg: rest}
}

// splitLine splits "line 7: text" into 7 and "text".
func splitLine(msg string) (int, string) {
	if strings.HasPrefix(msg, "line ") {
		r := msg[len("line "):]
		if i := strings.IndexByte(r, ':'); i > 0 {
			if n, err := strconv.Atoi(r[:i]); err == nil {
				return n, strings.TrimSpace(r[i+1:])
			}
		}
	}
	return 0, msg
}

// locator maps errors back to lines (or flags) and fields.
type locator struct {
	name  string
	root  *yaml.Node
	flags []string // flags[i] set the nodes with line flagLine+i
}

// flagLine is the first of the line numbers given to the nodes a flag
// made, so that errors about them can name the flag.
const flagLine = 1 << 28

func (l *locator) where(fe *FieldError) {
	if fe.Line >= flagLine {
		if i := fe.Line - flagLine; i < len(l.flags) {
			fe.Flag = l.flags[i]
		}
		fe.Line = 0
		return
	}
	fe.File = l.name
}

func (l *locator) decodeError(err error) error {
	var ue *unknownError
	if errors.As(err, &ue) {
		fe := &FieldError{Line: ue.line, Field: ue.field, Msg: fmt.Sprintf("unknown field %q (known here: %s)", ue.key, strings.Join(ue.known, ", "))}
		l.where(fe)
		return fe
	}
	var fe *FieldError
	if errors.As(err, &fe) { // from an UnmarshalYAML of this package
		c := *fe
		if c.Field == "" {
			c.Field = pathAtLine(l.root, c.Line, "")
		}
		l.where(&c)
		return &c
	}
	var te *yaml.TypeError
	if errors.As(err, &te) {
		var out []error
		for _, m := range te.Errors {
			line, msg := splitLine(m)
			fe := &FieldError{Line: line, Field: pathAtLine(l.root, line, ""), Msg: typeMessage(msg)}
			l.where(fe)
			out = append(out, fe)
		}
		if len(out) == 1 {
			return out[0]
		}
		return errors.Join(out...)
	}
	return &FieldError{File: l.name, Msg: strings.TrimPrefix(err.Error(), "yaml: ")}
}

// typeMessage rewords yaml.v3's "cannot unmarshal !!str `abc` into int".
func typeMessage(msg string) string {
	const p = "cannot unmarshal "
	if !strings.HasPrefix(msg, p) {
		return msg
	}
	r := msg[len(p):]
	i := strings.Index(r, " into ")
	if i < 0 {
		return msg
	}
	got, want := r[:i], r[i+len(" into "):]
	if j := strings.IndexByte(got, ' '); j > 0 {
		got = got[j+1:]
	} else {
		got = kindName(got)
	}
	got = strings.Trim(got, "`")
	switch want {
	case "time.Duration":
		return fmt.Sprintf("%q is not a duration (write it with a unit: 500ms, 2s, 5m)", got)
	case "int", "int8", "int16", "int32", "int64", "uint", "uint8", "uint16", "uint32", "uint64":
		return fmt.Sprintf("%q is not a number of type %s", got, want)
	case "bool":
		return fmt.Sprintf("%q is not true or false", got)
	}
	return fmt.Sprintf("%s cannot be a %s", got, want)
}

func kindName(tag string) string {
	switch tag {
	case "!!map":
		return "a mapping"
	case "!!seq":
		return "a list"
	}
	return tag
}

func (l *locator) locate(err error) error {
	list := Flatten(err)
	out := make([]error, 0, len(list))
	for _, fe := range list {
		c := *fe
		if c.Field != "" {
			c.Line = lineOf(l.root, c.Field)
		}
		l.where(&c)
		if c.Line == 0 && c.Flag == "" {
			c.File = l.name
		}
		out = append(out, &c)
	}
	if len(out) == 1 {
		return out[0]
	}
	return errors.Join(out...)
}

// lineOf finds the line of path ("a.b[2].c") in root, or of the deepest
// part of it the document has (a missing key: its parent's line); 0 when
// not even the first part is there.
func lineOf(root *yaml.Node, path string) int {
	n, line := root, 0
	for _, part := range splitPath(path) {
		if n.Kind == yaml.AliasNode && n.Alias != nil {
			n = n.Alias
		}
		if part[0] == '[' {
			i, err := strconv.Atoi(part[1 : len(part)-1])
			if err != nil || n.Kind != yaml.SequenceNode || i < 0 || i >= len(n.Content) {
				return line
			}
			n = n.Content[i]
			line = n.Line
			continue
		}
		if n.Kind != yaml.MappingNode {
			return line
		}
		found := false
		for k := 0; k+1 < len(n.Content); k += 2 {
			if n.Content[k].Value == part {
				line, n, found = n.Content[k].Line, n.Content[k+1], true
				break
			}
		}
		if !found {
			return line
		}
	}
	return line
}

// pathAtLine finds the path of the deepest key or item that starts on
// line, for errors that come with a line only.
func pathAtLine(n *yaml.Node, line int, path string) string {
	best := ""
	switch n.Kind {
	case yaml.MappingNode:
		for k := 0; k+1 < len(n.Content); k += 2 {
			key, val := n.Content[k], n.Content[k+1]
			p := join(path, key.Value)
			if key.Line == line || val.Line == line {
				best = p
			}
			if d := pathAtLine(val, line, p); d != "" {
				return d
			}
		}
	case yaml.SequenceNode:
		for i, c := range n.Content {
			p := fmt.Sprintf("%s[%d]", path, i)
			if c.Line == line && c.Kind == yaml.ScalarNode {
				best = p
			}
			if d := pathAtLine(c, line, p); d != "" {
				return d
			}
		}
	}
	return best
}

func splitPath(p string) []string {
	var parts []string
	for p != "" {
		switch {
		case p[0] == '.':
			p = p[1:]
		case p[0] == '[':
			i := strings.IndexByte(p, ']')
			if i < 0 {
				return append(parts, p)
			}
			parts = append(parts, p[:i+1])
			p = p[i+1:]
		default:
			i := strings.IndexAny(p, ".[")
			if i < 0 {
				i = len(p)
			}
			parts = append(parts, p[:i])
			p = p[i:]
		}
	}
	return parts
}
