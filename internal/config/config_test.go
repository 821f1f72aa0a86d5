package config

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"
)

type pool struct {
	Handle  string        `yaml:"handle"`
	Policy  string        `yaml:"policy"`
	Min     int           `yaml:"min_elements"`
	Timeout time.Duration `yaml:"timeout"`
}

var policies = []string{"round-robin", "random", "least-used"}

func (p *pool) Validate() error {
	var errs []error
	if p.Handle == "" {
		errs = append(errs, Errorf("handle", "must be set"))
	}
	ok := p.Policy == ""
	for _, s := range policies {
		ok = ok || p.Policy == s
	}
	if !ok {
		errs = append(errs, Errorf("policy", "unknown policy %q (want one of %s)", p.Policy, strings.Join(policies, ", ")))
	}
	if p.Min < 0 {
		errs = append(errs, Errorf("min_elements", "must not be negative"))
	}
	return errors.Join(errs...)
}

type registrar struct {
	ASAP  Addr   `yaml:"asap"`
	Peers []Addr `yaml:"peers"`
}

type testConfig struct {
	ID        uint32        `yaml:"id"`
	Mgmt      string        `yaml:"mgmt"`
	Drain     time.Duration `yaml:"drain"`
	Registrar registrar     `yaml:"registrar"`
	Pools     []pool        `yaml:"pools"`
}

func (c *testConfig) Validate() error {
	var errs []error
	if c.ID == 0 {
		errs = append(errs, Errorf("id", "must be set and non-zero"))
	}
	if c.Drain < 0 {
		errs = append(errs, Errorf("drain", "must not be negative"))
	}
	if c.Registrar.ASAP.IsZero() {
		errs = append(errs, Errorf("registrar.asap", "must be set"))
	}
	for i := range c.Pools {
		errs = append(errs, In(fmt.Sprintf("pools[%d]", i), c.Pools[i].Validate()))
	}
	return errors.Join(errs...)
}

const good = `# a gateway
id: 7
mgmt: 127.0.0.1:9100
drain: 5s
registrar:
  asap: 10.1.0.1+10.2.0.1:3863
  peers:
    - 10.1.0.2+10.2.0.2:9901
pools:
  - handle: hlr
    policy: least-used
    min_elements: 2
    timeout: 250ms
`

func TestParseGood(t *testing.T) {
	var c testConfig
	if err := Parse("sgw.yaml", []byte(good), &c, nil); err != nil {
		t.Fatal(err)
	}
	if c.ID != 7 || c.Drain != 5*time.Second || c.Pools[0].Timeout != 250*time.Millisecond {
		t.Fatalf("decoded %+v", c)
	}
	want := []netip.Addr{netip.MustParseAddr("10.1.0.1"), netip.MustParseAddr("10.2.0.1")}
	if a := c.Registrar.ASAP; a.Port != 3863 || len(a.IPs) != 2 || a.IPs[0] != want[0] || a.IPs[1] != want[1] {
		t.Fatalf("asap %v", a)
	}
	if len(c.Registrar.Peers) != 1 || c.Registrar.Peers[0].String() != "10.1.0.2+10.2.0.2:9901" {
		t.Fatalf("peers %v", c.Registrar.Peers)
	}
}

// replace swaps one line of good (1-based) for another.
func replace(line int, text string) string {
	ls := strings.Split(good, "\n")
	ls[line-1] = text
	return strings.Join(ls, "\n")
}

func TestErrorsNameFileLineField(t *testing.T) {
	for _, tc := range []struct {
		name, doc string
		want      []string // substrings of the error
	}{
		{"unknown top-level field", replace(3, "mgmnt: 127.0.0.1:9100"),
			[]string{"sgw.yaml:3: mgmnt: unknown field \"mgmnt\"", "mgmt"}},
		{"unknown nested field", replace(12, "    min_elemnts: 2"),
			[]string{"sgw.yaml:12: pools[0].min_elemnts: unknown field \"min_elemnts\""}},
		{"wrong type", replace(2, "id: seven"),
			[]string{"sgw.yaml:2: id: \"seven\" is not a number of type uint32"}},
		{"number as duration", replace(4, "drain: 5"),
			[]string{"sgw.yaml:4: drain: \"5\" is not a duration"}},
		{"bad duration", replace(13, "    timeout: 250xs"),
			[]string{"sgw.yaml:13: pools[0].timeout: \"250xs\" is not a duration"}},
		{"bad address", replace(6, "  asap: 10.1.0.1+10.2.0.300:3863"),
			[]string{"sgw.yaml:6: registrar.asap: ", "10.2.0.300"}},
		{"address without port", replace(8, "    - 10.1.0.2+10.2.0.2"),
			[]string{"sgw.yaml:8: registrar.peers[0]: ", "missing port"}},
		{"repeated address", replace(6, "  asap: 10.1.0.1+10.1.0.1:3863"),
			[]string{"sgw.yaml:6: registrar.asap: ", "appears twice"}},
		{"bad value from Validate", replace(11, "    policy: lest-used"),
			[]string{`sgw.yaml:11: pools[0].policy: unknown policy "lest-used" (want one of round-robin, random, least-used)`}},
		{"empty address is unset", replace(6, "  asap: \"\""),
			[]string{"sgw.yaml:6: registrar.asap: must be set"}},
		{"missing value from Validate names the parent", strings.Replace(good, "  asap: 10.1.0.1+10.2.0.1:3863\n", "", 1),
			[]string{"sgw.yaml:5: registrar.asap: must be set"}},
		{"two problems", replace(2, "id: 0") + "  - handle: \"\"\n",
			[]string{"sgw.yaml:2: id: must be set", "sgw.yaml:14: pools[1].handle: must be set"}},
		{"syntax", replace(3, "mgmt: [127.0.0.1"),
			[]string{"sgw.yaml:"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var c testConfig
			err := Parse("sgw.yaml", []byte(tc.doc), &c, nil)
			if err == nil {
				t.Fatal("accepted")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q\n lacks %q", err, w)
				}
			}
			if len(Flatten(err)) == 0 || Flatten(err)[0].Line == 0 {
				t.Errorf("no line in %#v", Flatten(err))
			}
		})
	}
}

func TestLoadFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "gw.yaml")
	if err := os.WriteFile(p, []byte(replace(11, "    policy: lest-used")), 0o600); err != nil {
		t.Fatal(err)
	}
	var c testConfig
	err := Load(p, &c, nil)
	var fe *FieldError
	if !errors.As(err, &fe) || fe.File != p || fe.Line != 11 || fe.Field != "pools[0].policy" {
		t.Fatalf("got %v (%#v)", err, fe)
	}
	if err := Load(filepath.Join(t.TempDir(), "none.yaml"), &c, nil); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("missing file: %v", err)
	}
}

func TestOverrides(t *testing.T) {
	newFlags := func(args ...string) *Overrides {
		fs := pflag.NewFlagSet("t", pflag.ContinueOnError)
		o := NewOverrides(fs)
		o.String("id", "id", "")
		o.String("mgmt", "mgmt", "")
		o.String("drain", "drain", "")
		o.String("asap", "registrar.asap", "")
		o.Strings("peer", "registrar.peers", "")
		if err := fs.Parse(args); err != nil {
			t.Fatal(err)
		}
		return o
	}
	// Set flags win over the file; unset ones leave it alone.
	var c testConfig
	o := newFlags("--mgmt", "[::1]:9200", "--peer", "10.1.0.3:9901", "--peer", "10.1.0.4+10.2.0.4:9901", "--drain", "2s")
	if err := Parse("sgw.yaml", []byte(good), &c, o); err != nil {
		t.Fatal(err)
	}
	if c.Mgmt != "[::1]:9200" || c.Drain != 2*time.Second || c.ID != 7 || len(c.Registrar.Peers) != 2 ||
		c.Registrar.Peers[1].String() != "10.1.0.4+10.2.0.4:9901" || c.Registrar.ASAP.Port != 3863 {
		t.Fatalf("merged %+v", c)
	}
	if got := o.Set(); strings.Join(got, " ") != "--mgmt --drain --peer" {
		t.Fatalf("Set() = %v", got)
	}
	// No file: the flags alone, with the same validation.
	c = testConfig{}
	if err := Parse("", nil, &c, newFlags("--id", "3", "--asap", "10.1.0.9:3863")); err != nil {
		t.Fatal(err)
	}
	if c.ID != 3 || c.Registrar.ASAP.Port != 3863 {
		t.Fatalf("flags only: %+v", c)
	}
	// A bad flag value is named by the flag, not by a line.
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--drain", "5"}, `flag --drain: drain: "5" is not a duration`},
		{[]string{"--id", "0"}, "flag --id: id: must be set and non-zero"},
		{[]string{"--asap", "10.1.0.1"}, "flag --asap: registrar.asap: "},
	} {
		c = testConfig{}
		err := Parse("sgw.yaml", []byte(good), &c, newFlags(tc.args...))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: error %v, want %q", tc.args, err, tc.want)
		}
	}
}

func TestParseAddr(t *testing.T) {
	for _, tc := range []struct {
		in   string
		ok   bool
		port bool
	}{
		{"10.1.0.1:2905", true, true},
		{"10.1.0.1+10.2.0.1:2905", true, true},
		{"[fd00::1]+[fd01::1]:2905", true, true},
		{"0.0.0.0:2905", true, true},
		{"0.0.0.0+10.1.0.1:2905", false, true},
		{"10.1.0.1:0", false, true},
		{"10.1.0.1:0", true, false},
		{"10.1.0.1", false, false},
		{"10.1.0.1:70000", false, false},
		{":2905", false, false},
	} {
		_, err := ParseAddr(tc.in, tc.port)
		if (err == nil) != tc.ok {
			t.Errorf("ParseAddr(%q, %v): %v", tc.in, tc.port, err)
		}
	}
}

func TestNotAMapping(t *testing.T) {
	var c testConfig
	err := Parse("x.yaml", []byte("- 1\n- 2\n"), &c, nil)
	if err == nil || !strings.HasPrefix(err.Error(), "x.yaml:1: ") {
		t.Fatalf("got %v", err)
	}
	err = Parse("x.yaml", []byte("id: 1\n---\nid: 2\n"), &c, nil)
	if err == nil || !strings.Contains(err.Error(), "more than one YAML document") {
		t.Fatalf("got %v", err)
	}
}
