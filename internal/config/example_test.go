package config_test

import (
	"fmt"

	"github.com/sigpool/sigpool/internal/config"
)

type Pool struct {
	Handle string `yaml:"handle"`
	Policy string `yaml:"policy"`
}

type File struct {
	Listen config.Addr `yaml:"listen"`
	Pools  []Pool      `yaml:"pools"`
}

func (f *File) Validate() error {
	for i, p := range f.Pools {
		switch p.Policy {
		case "round-robin", "random", "least-used":
		default:
			return config.In(fmt.Sprintf("pools[%d]", i),
				config.Errorf("policy", "unknown policy %q (want one of round-robin, random, least-used)", p.Policy))
		}
	}
	return nil
}

func Example() {
	doc := `listen: 10.1.0.1+10.2.0.1:2905
pools:
  - handle: hlr
    policy: least-used
  - handle: msc
    policy: lest-used
`
	var f File
	err := config.Parse("sgw.yaml", []byte(doc), &f, nil)
	fmt.Println(err)
	fmt.Println(f.Listen.IPs, f.Listen.Port)
	// Output:
	// sgw.yaml:6: pools[1].policy: unknown policy "lest-used" (want one of round-robin, random, least-used)
	// [10.1.0.1 10.2.0.1] 2905
}
