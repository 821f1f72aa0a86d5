// Command sgwctl is the operator's command line for sigpool daemons: it
// talks to a daemon's management API (internal/mgmt) over its Unix socket
// (--socket, default /run/sigpool/sgw/mgmt.sock) or over TCP (--addr) and prints
// human tables, or the API's JSON with --json.
//
//	sgwctl status                        ready? what is broken and since when
//	sgwctl alarms [list] [--severity major,critical] [--object DN] [--unacked] [--cleared]
//	sgwctl alarms ack|unack ID...        acknowledge
//	sgwctl alarms clear ID... [--force]  clear by hand
//	sgwctl alarms comment ID TEXT...     add a comment
//	sgwctl alarms watch [--count N]      follow the notifications
//	sgwctl alarms shelve DN --for 2h     hide an object's alarms for maintenance
//	sgwctl alarms shelves | unshelve ID
//	sgwctl log level [LEVEL]             show or set the log level
//	sgwctl pools | elements POOL | associations | asps | ases
//	sgwctl asps block ID [--reason R] | asps unblock ID
//	sgwctl drain [--reason R] | drain --status | drain --cancel
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	root := newRoot(os.Stdout, os.Stderr)
	if err := root.ExecuteContext(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "sgwctl:", err)
		os.Exit(1)
	}
}
