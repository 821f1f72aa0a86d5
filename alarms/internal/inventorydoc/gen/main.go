// Command gen writes docs/alarms.md and the alarm alert rules from the
// alarm inventory. Run it with `go generate ./alarms`.
package main

import (
	"flag"
	"log"
	"os"

	"github.com/sigpool/sigpool/alarms"
	"github.com/sigpool/sigpool/alarms/internal/inventorydoc"
)

func main() {
	docs := flag.String("docs", "", "write the Markdown inventory here")
	rules := flag.String("rules", "", "write the Prometheus alert rules here")
	rulesTest := flag.String("rules-test", "", "write the promtool unit test of the alert rules here")
	flag.Parse()
	if err := alarms.Validate(alarms.Inventory); err != nil {
		log.Fatal(err)
	}
	if *docs != "" {
		if err := os.WriteFile(*docs, inventorydoc.Markdown(alarms.Inventory), 0o644); err != nil {
			log.Fatal(err)
		}
	}
	if *rulesTest != "" {
		if err := os.WriteFile(*rulesTest, inventorydoc.RulesTest(alarms.Inventory), 0o644); err != nil {
			log.Fatal(err)
		}
	}
	if *rules != "" {
		if err := os.WriteFile(*rules, inventorydoc.Rules(alarms.Inventory), 0o644); err != nil {
			log.Fatal(err)
		}
	}
}
