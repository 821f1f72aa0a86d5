package config

import (
	"testing"
)

// FuzzParse: any bytes give a configuration or an error that names the
// file, never a panic.
func FuzzParse(f *testing.F) {
	f.Add([]byte(good))
	f.Add([]byte(replace(11, "    policy: lest-used")))
	f.Add([]byte("registrar: &a {asap: '10.1.0.1:1'}\npools: [*a]\n"))
	f.Add([]byte("pools:\n  - {handle: x, timeout: 1h}\n  - handle: y\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		var c testConfig
		err := Parse("f.yaml", b, &c, nil)
		if err == nil {
			return
		}
		for _, fe := range Flatten(err) {
			if fe.File != "f.yaml" {
				t.Fatalf("error without the file: %v", err)
			}
		}
	})
}
