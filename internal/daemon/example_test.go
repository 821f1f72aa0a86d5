package daemon_test

import (
	"context"
	"fmt"
	"io"
	"sync/atomic"
	"time"

	"github.com/sigpool/sigpool/alarms"
	"github.com/sigpool/sigpool/internal/config"
	"github.com/sigpool/sigpool/internal/daemon"
)

// File is a program's configuration.
type File struct {
	Name  string        `yaml:"name"`
	Drain time.Duration `yaml:"drain"`
}

func (f *File) Validate() error {
	if f.Name == "" {
		return config.Errorf("name", "must be set")
	}
	return nil
}

// A program loads its file, opens the runtime, builds its components on
// d.Log, d.Alarms and d.Metrics, and hands Run its hooks. Run returns nil
// after SIGTERM and the drain, so main exits 0.
func Example() {
	var f File
	if err := config.Parse("demo.yaml", []byte("name: demo\ndrain: 1s\n"), &f, nil); err != nil {
		fmt.Println(err)
		return
	}
	d, err := daemon.New(daemon.Options{
		Name: "demo", Instance: f.Name, LogOutput: io.Discard,
		DrainTimeout: f.Drain,
		// MgmtAddr: "127.0.0.1:9100", MgmtSocket: "/run/sigpool/demo.sock", History: "/var/lib/sigpool/demo-alarms.jsonl",
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	var up atomic.Bool
	ctx, stop := context.WithCancel(context.Background()) // a program passes context.Background()
	err = d.Run(ctx, daemon.Hooks{
		Main: func(ctx context.Context) error {
			up.Store(true)
			stop() // here: stop at once, as SIGTERM would
			<-ctx.Done()
			return nil
		},
		Ready: func(context.Context) error {
			if !up.Load() {
				return fmt.Errorf("starting")
			}
			return nil
		},
		Reload: func(context.Context) error {
			var n File
			return config.Load("/etc/sigpool/demo.yaml", &n, nil) // refused: alarm raised, old config kept
		},
		Drain: func(ctx context.Context) error {
			fmt.Println("draining")
			return nil
		},
	})
	fmt.Println("Run returned", err, "active alarms:", len(d.Alarms.Alarms(alarms.Filter{})))
	// Output:
	// draining
	// Run returned <nil> active alarms: 0
}
