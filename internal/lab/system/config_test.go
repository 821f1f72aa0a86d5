package system

import (
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/sigpool/sigpool/gateway"
)

// The gateways' files must pass sgw's own parser (strict keys, validation)
// and say what the scenario relies on.
func TestGatewayConfigsParse(t *testing.T) {
	for n := 1; n <= 2; n++ {
		b, err := GatewayYAML(n)
		if err != nil {
			t.Fatal(err)
		}
		c, err := gateway.ParseConfig("gw.yaml", b)
		if err != nil {
			t.Fatalf("gateway %d: %v\n%s", n, err, b)
		}
		self := gatewayHosts[n-1]
		if c.GatewayID != uint32(n) || c.Network.Listen != endpoint(self, portNetwork) {
			t.Errorf("gateway %d: id %d, network side %s", n, c.GatewayID, c.Network.Listen)
		}
		if len(c.Registrar.Peers) != 1 || strings.Contains(c.Registrar.Peers[0], addrs(self)) {
			t.Errorf("gateway %d peers with %v; want the other gateway only", n, c.Registrar.Peers)
		}
		if c.Registrar.KeepAlive != time.Second || len(c.Services) != 1 || c.Services[0].Pool != poolHandle {
			t.Errorf("gateway %d: keepalive %s, services %+v", n, c.Registrar.KeepAlive, c.Services)
		}
		if !strings.HasPrefix(c.Mgmt, "127.0.0.1:") {
			t.Errorf("gateway %d management on %s; want the host's loopback", n, c.Mgmt)
		}
	}
}

func TestAspdConfig(t *testing.T) {
	b, err := AspdYAML(hostASP1+1, 1)
	if err != nil {
		t.Fatal(err)
	}
	var c aspdConfig
	if err := yaml.Unmarshal(b, &c); err != nil {
		t.Fatal(err)
	}
	if c.Local != "10.1.0.4+10.2.0.4" || c.Mgmt != mgmtAddr(1) || len(c.Gateways) != 2 || len(c.Registrars) != 2 {
		t.Errorf("aspd config %+v", c)
	}
	if c.Gateways[0] != "10.1.0.1+10.2.0.1:2906" || c.Registrars[1] != "10.1.0.2+10.2.0.2:3863" {
		t.Errorf("aspd dials %v and registers at %v", c.Gateways, c.Registrars)
	}
}

func TestSigloadArgs(t *testing.T) {
	args := strings.Join(sigloadArgs(150, time.Minute, "/tmp/s.json"), " ")
	for _, want := range []string{
		"--gateway 10.1.0.1+10.2.0.1:2905,10.1.0.2+10.2.0.2:2905",
		"--local 10.1.0.6+10.2.0.6:0",
		"--opc 1001", "--dpc 2001", "--rc 100", "--rate 150", "--duration 1m0s", "--json /tmp/s.json", "--progress 100ms", "--per-dialogue",
	} {
		if !strings.Contains(args, want) {
			t.Errorf("sigload args %q lack %q", args, want)
		}
	}
}
