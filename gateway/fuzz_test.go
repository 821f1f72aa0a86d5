package gateway

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzParseConfig: any file is either refused with *FieldErrors (one, or
// several joined) naming the file, or accepted as a configuration that
// validates again; never a panic.
func FuzzParseConfig(f *testing.F) {
	for _, p := range []string{"sgw-rack1.yaml", "sgw-rack2.yaml"} {
		if b, err := os.ReadFile(filepath.Join("..", "examples", p)); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte(transcriptConfig))
	f.Add([]byte("gateway_id: [\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := ParseConfig("f.yaml", b)
		if err != nil {
			if !allFieldErrors(err) {
				t.Fatalf("error %T %v is not made of *FieldError", err, err)
			}
			return
		}
		if err := c.Validate(); err != nil {
			t.Fatalf("accepted configuration does not validate again: %v", err)
		}
	})
}

func allFieldErrors(err error) bool {
	switch e := err.(type) {
	case *FieldError:
		return e.File == "f.yaml"
	case interface{ Unwrap() []error }:
		for _, x := range e.Unwrap() {
			if !allFieldErrors(x) {
				return false
			}
		}
		return len(e.Unwrap()) > 0
	}
	return false
}
