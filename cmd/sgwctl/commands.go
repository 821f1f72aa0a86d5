package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/sigpool/sigpool/alarms"
	"github.com/sigpool/sigpool/internal/mgmt"
)

// DefaultSocket is the gateway's management socket under systemd
// (RuntimeDirectory=sigpool/sgw in deploy/systemd/sigpool-sgw.service).
const DefaultSocket = "/run/sigpool/sgw/mgmt.sock"

type cli struct {
	out, errOut io.Writer
	socket      string
	addr        string
	asJSON      bool
	user        string
	timeout     time.Duration
}

func (c *cli) client() *client { return newClient(c.socket, c.addr, c.timeout) }

// newRoot builds the command tree writing to out and errOut.
func newRoot(out, errOut io.Writer) *cobra.Command {
	c := &cli{out: out, errOut: errOut}
	root := &cobra.Command{
		Use:           "sgwctl",
		Short:         "Operate sigpool daemons through their management API",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(out)
	root.SetErr(errOut)
	user := os.Getenv("USER")
	if user == "" {
		user = "operator"
	}
	socket := os.Getenv("SGWCTL_SOCKET")
	if socket == "" {
		socket = DefaultSocket
	}
	pf := root.PersistentFlags()
	pf.StringVar(&c.socket, "socket", socket, "management Unix socket of the daemon ($SGWCTL_SOCKET)")
	pf.StringVar(&c.addr, "addr", os.Getenv("SGWCTL_ADDR"), "management TCP address HOST:PORT, instead of the socket ($SGWCTL_ADDR)")
	pf.BoolVar(&c.asJSON, "json", false, "print the API's JSON instead of tables")
	pf.StringVar(&c.user, "user", user, "operator name recorded with acknowledgements, clears and comments")
	pf.DurationVar(&c.timeout, "timeout", 10*time.Second, "timeout of each request")

	root.AddCommand(c.statusCmd(), c.alarmsCmd(), c.logCmd(),
		c.listCmd("pools", "Pools with their elements", "/api/v1/pools", printPools),
		c.elementsCmd(),
		c.listCmd("associations", "SCTP associations with their paths", "/api/v1/associations", printAssociations),
		c.aspsCmd(),
		c.drainCmd(),
		c.listCmd("ases", "M3UA application servers", "/api/v1/ases", printASes),
	)
	return root
}

func (c *cli) printJSON(b []byte) error {
	var buf bytes.Buffer
	if err := json.Indent(&buf, b, "", "  "); err != nil {
		_, err = c.out.Write(b)
		return err
	}
	buf.WriteByte('\n')
	_, err := c.out.Write(buf.Bytes())
	return err
}

func (c *cli) table() *tabwriter.Writer { return tabwriter.NewWriter(c.out, 0, 0, 2, ' ', 0) }

func ts(t time.Time) string { return t.UTC().Format(time.RFC3339) }

func (c *cli) statusCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "status",
		Short: "Readiness, alarm counts and the active alarms: what is broken and since when",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var st mgmt.Status
			raw, err := c.client().getJSON(cmd.Context(), "/api/v1/status", &st)
			if err != nil {
				return err
			}
			if c.asJSON {
				return c.printJSON(raw)
			}
			ready := "yes"
			if !st.Ready {
				ready = "NO"
			}
			var checks []string
			for n, v := range st.Checks {
				checks = append(checks, n+": "+v)
			}
			sort.Strings(checks)
			if len(checks) > 0 {
				ready += " (" + strings.Join(checks, "; ") + ")"
			}
			fmt.Fprintf(c.out, "system:  %s\nready:   %s\nalarms:  %d critical, %d major, %d minor, %d warning, %d indeterminate\n",
				st.System, ready, st.Alarms.Critical, st.Alarms.Major, st.Alarms.Minor, st.Alarms.Warning, st.Alarms.Indeterminate)
			if len(st.Active) == 0 {
				fmt.Fprintln(c.out, "\nno active alarm")
				return nil
			}
			fmt.Fprintln(c.out)
			return c.printAlarms(st.Active, false)
		},
	}
}

func (c *cli) printAlarms(list []alarms.Alarm, cleared bool) error {
	w := c.table()
	if cleared {
		fmt.Fprintln(w, "ID\tSEVERITY\tRAISED\tCLEARED\tALARM\tOBJECT\tACK\tTEXT")
	} else {
		fmt.Fprintln(w, "ID\tSEVERITY\tSINCE\tALARM\tOBJECT\tACK\tTEXT")
	}
	for _, a := range list {
		ack := "-"
		if a.AckState == alarms.Acknowledged {
			ack = a.AckUserID
		}
		text := a.AdditionalText
		if a.FlapCount > 0 {
			text = appendField(text, fmt.Sprintf("flapped %d times", a.FlapCount))
		}
		if a.Shelved != "" {
			text = appendField(text, "shelved by "+a.Shelved)
		}
		if n := len(a.Comments); n > 0 {
			text = appendField(text, fmt.Sprintf("%d comment(s), last: %s", n, a.Comments[n-1].Text))
		}
		if cleared {
			cl := "-"
			if a.ClearedTime != nil {
				cl = ts(*a.ClearedTime)
			}
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", a.ID, a.Severity, ts(a.RaisedTime), cl, a.Name, a.Object, ack, text)
		} else {
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", a.ID, a.Severity, ts(a.RaisedTime), a.Name, a.Object, ack, text)
		}
	}
	return w.Flush()
}

func appendField(s, more string) string {
	if s == "" {
		return more
	}
	return s + "; " + more
}

// sortAlarms orders the API's map: most severe first, then oldest.
func sortAlarms(m map[string]alarms.Alarm, cleared bool) []alarms.Alarm {
	out := make([]alarms.Alarm, 0, len(m))
	for _, a := range m {
		out = append(out, a)
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if cleared && a.ClearedTime != nil && b.ClearedTime != nil && !a.ClearedTime.Equal(*b.ClearedTime) {
			return a.ClearedTime.Before(*b.ClearedTime)
		}
		if !cleared && a.Severity != b.Severity {
			return a.Severity < b.Severity
		}
		if !a.RaisedTime.Equal(b.RaisedTime) {
			return a.RaisedTime.Before(b.RaisedTime)
		}
		ai, _ := strconv.Atoi(a.ID)
		bi, _ := strconv.Atoi(b.ID)
		return ai < bi
	})
	return out
}

func (c *cli) alarmsCmd() *cobra.Command {
	var severity, object, name string
	var unacked, acked, shelved, cleared bool
	list := func(cmd *cobra.Command, _ []string) error {
		q := url.Values{}
		if severity != "" {
			q.Set("perceivedSeverity", severity)
		}
		if object != "" {
			q.Set("baseObjectInstance", object)
		}
		if name != "" {
			q.Set("alarmName", name)
		}
		switch {
		case unacked && acked:
			return errors.New("--acked and --unacked exclude each other")
		case unacked:
			q.Set("alarmAckState", string(alarms.Unacknowledged))
		case acked:
			q.Set("alarmAckState", string(alarms.Acknowledged))
		}
		if shelved {
			q.Set("shelved", "true")
		}
		if cleared {
			q.Set("cleared", "true")
		}
		path := "/api/fm/v1/alarms"
		if len(q) > 0 {
			path += "?" + q.Encode()
		}
		var m map[string]alarms.Alarm
		raw, err := c.client().getJSON(cmd.Context(), path, &m)
		if err != nil {
			return err
		}
		if c.asJSON {
			return c.printJSON(raw)
		}
		if len(m) == 0 {
			fmt.Fprintln(c.out, "no alarm")
			return nil
		}
		return c.printAlarms(sortAlarms(m, cleared), cleared)
	}
	cmd := &cobra.Command{
		Use:   "alarms",
		Short: "List and handle alarms (list, ack, unack, clear, comment, watch, shelve)",
		Args:  cobra.NoArgs,
		RunE:  list,
	}
	listCmd := &cobra.Command{Use: "list", Short: "List the active alarms (or the cleared ones)", Args: cobra.NoArgs, RunE: list}
	for _, fs := range []*cobra.Command{cmd, listCmd} {
		f := fs.Flags()
		f.StringVar(&severity, "severity", "", "only these severities, comma-separated (critical,major,minor,warning,indeterminate)")
		f.StringVar(&object, "object", "", "only the alarms of this managed object and those below it (a DN)")
		f.StringVar(&name, "name", "", "only the alarms of this inventory entry (e.g. association-down)")
		f.BoolVar(&unacked, "unacked", false, "only unacknowledged alarms")
		f.BoolVar(&acked, "acked", false, "only acknowledged alarms")
		f.BoolVar(&shelved, "shelved", false, "include the alarms hidden by a shelf")
		f.BoolVar(&cleared, "cleared", false, "list the cleared alarms of the history instead")
	}
	cmd.AddCommand(listCmd, c.ackCmd("ack", alarms.Acknowledged), c.ackCmd("unack", alarms.Unacknowledged),
		c.clearCmd(), c.commentCmd(), c.watchCmd(), c.shelveCmd(), c.shelvesCmd(), c.unshelveCmd(), c.countCmd())
	return cmd
}

// patch applies one PATCH to each id and prints each result.
func (c *cli) patch(ctx context.Context, ids []string, body mgmt.AlarmPatch, verb string) error {
	var failed int
	for _, id := range ids {
		raw, err := c.client().do(ctx, http.MethodPatch, "/api/fm/v1/alarms/"+url.PathEscape(id), body)
		if err != nil {
			fmt.Fprintf(c.errOut, "alarm %s: %v\n", id, err)
			failed++
			continue
		}
		if c.asJSON {
			c.printJSON(raw)
			continue
		}
		var a alarms.Alarm
		json.Unmarshal(raw, &a)
		fmt.Fprintf(c.out, "alarm %s %s: %s %s\n", a.ID, verb, a.Name, a.Object)
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d alarms not %s", failed, len(ids), verb)
	}
	return nil
}

func (c *cli) ackCmd(use string, st alarms.AckState) *cobra.Command {
	verb := strings.ToLower(string(st))
	return &cobra.Command{
		Use:   use + " ID...",
		Short: "Mark alarms " + verb,
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, ids []string) error {
			return c.patch(cmd.Context(), ids, mgmt.AlarmPatch{AckState: st, AckUserID: c.user, AckSystemID: "sgwctl"}, verb)
		},
	}
}

func (c *cli) clearCmd() *cobra.Command {
	var force bool
	cmd := &cobra.Command{
		Use:   "clear ID...",
		Short: "Clear alarms by hand (refused while the condition is present, unless --force)",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, ids []string) error {
			return c.patch(cmd.Context(), ids, mgmt.AlarmPatch{Severity: alarms.Cleared.String(), ClearUserID: c.user, ClearSystemID: "sgwctl", Force: force}, "cleared")
		},
	}
	cmd.Flags().BoolVar(&force, "force", false, "clear even though the condition is still reported")
	return cmd
}

func (c *cli) commentCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "comment ID TEXT...",
		Short: "Add a comment to an alarm",
		Args:  cobra.MinimumNArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			body := mgmt.CommentRequest{UserID: c.user, SystemID: "sgwctl", Text: strings.Join(args[1:], " ")}
			raw, err := c.client().do(cmd.Context(), http.MethodPost, "/api/fm/v1/alarms/"+url.PathEscape(args[0])+"/comments", body)
			if err != nil {
				return err
			}
			if c.asJSON {
				return c.printJSON(raw)
			}
			var a alarms.Alarm
			json.Unmarshal(raw, &a)
			fmt.Fprintf(c.out, "alarm %s: %d comment(s)\n", a.ID, len(a.Comments))
			return nil
		},
	}
}

func (c *cli) countCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "count",
		Short: "Count the active alarms by severity",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var n mgmt.AlarmCount
			raw, err := c.client().getJSON(cmd.Context(), "/api/fm/v1/alarms/count", &n)
			if err != nil {
				return err
			}
			if c.asJSON {
				return c.printJSON(raw)
			}
			w := c.table()
			fmt.Fprintln(w, "CRITICAL\tMAJOR\tMINOR\tWARNING\tINDETERMINATE")
			fmt.Fprintf(w, "%d\t%d\t%d\t%d\t%d\n", n.Critical, n.Major, n.Minor, n.Warning, n.Indeterminate)
			return w.Flush()
		},
	}
}

func (c *cli) watchCmd() *cobra.Command {
	var count int
	cmd := &cobra.Command{
		Use:   "watch",
		Short: "Print the alarm notifications as they happen (until interrupted, or --count of them)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cl := c.client()
			req, err := http.NewRequestWithContext(cmd.Context(), http.MethodGet, cl.base+"/api/fm/v1/notifications", nil)
			if err != nil {
				return err
			}
			resp, err := cl.stream.Do(req)
			if err != nil {
				return err
			}
			defer resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				return &apiError{resp.StatusCode, "notification stream refused"}
			}
			sc := bufio.NewScanner(resp.Body)
			sc.Buffer(make([]byte, 64<<10), 1<<20)
			var event, data string
			seen := 0
			for sc.Scan() {
				line := sc.Text()
				switch {
				case strings.HasPrefix(line, "event: "):
					event = strings.TrimPrefix(line, "event: ")
				case strings.HasPrefix(line, "data: "):
					data = strings.TrimPrefix(line, "data: ")
				case line == "" && data != "":
					if event == "error" {
						return fmt.Errorf("notification stream ended: %s", data)
					}
					if err := c.printNotification(data); err != nil {
						return err
					}
					event, data = "", ""
					seen++
					if count > 0 && seen >= count {
						return nil
					}
				}
			}
			if cmd.Context().Err() != nil {
				return nil
			}
			if err := sc.Err(); err != nil {
				return err
			}
			return errors.New("notification stream closed by the daemon")
		},
	}
	cmd.Flags().IntVar(&count, "count", 0, "exit after this many notifications (0: run until interrupted)")
	return cmd
}

func (c *cli) printNotification(data string) error {
	if c.asJSON {
		_, err := fmt.Fprintln(c.out, data)
		return err
	}
	var n alarms.Notification
	if err := json.Unmarshal([]byte(data), &n); err != nil {
		return fmt.Errorf("bad notification: %w", err)
	}
	a := n.Alarm
	if a == nil {
		a = &alarms.Alarm{}
	}
	sev := a.Severity.String()
	if n.Type == alarms.NotifyClearedAlarm {
		sev = alarms.Cleared.String()
	}
	line := fmt.Sprintf("%s %-22s id=%s %s %s %s", ts(n.EventTime), n.Type, a.ID, sev, a.Name, a.Object)
	switch n.Type {
	case alarms.NotifyAckStateChanged:
		line += fmt.Sprintf(" %s by %s", a.AckState, a.AckUserID)
	case alarms.NotifyComments:
		if k := len(a.Comments); k > 0 {
			line += fmt.Sprintf(" %s: %q", a.Comments[k-1].UserID, a.Comments[k-1].Text)
		}
	default:
		if a.AdditionalText != "" {
			line += " " + strconv.Quote(a.AdditionalText)
		}
	}
	_, err := fmt.Fprintln(c.out, line)
	return err
}

func (c *cli) shelveCmd() *cobra.Command {
	var dur, reason string
	cmd := &cobra.Command{
		Use:   "shelve DN",
		Short: "Hide the alarms of an object (and those below it) for a maintenance window",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			body := mgmt.ShelveRequest{Object: args[0], UserID: c.user, Reason: reason, Duration: dur}
			raw, err := c.client().do(cmd.Context(), http.MethodPost, "/api/fm/v1/shelves", body)
			if err != nil {
				return err
			}
			if c.asJSON {
				return c.printJSON(raw)
			}
			var s alarms.Shelf
			json.Unmarshal(raw, &s)
			fmt.Fprintf(c.out, "shelf %s: %s until %s\n", s.ID, s.Object, ts(s.Until))
			return nil
		},
	}
	cmd.Flags().StringVar(&dur, "for", "1h", "how long (Go duration: 30m, 2h)")
	cmd.Flags().StringVar(&reason, "reason", "", "why (recorded with the shelf)")
	return cmd
}

func (c *cli) shelvesCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "shelves",
		Short: "List the shelves in place",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var list []alarms.Shelf
			raw, err := c.client().getJSON(cmd.Context(), "/api/fm/v1/shelves", &list)
			if err != nil {
				return err
			}
			if c.asJSON {
				return c.printJSON(raw)
			}
			if len(list) == 0 {
				fmt.Fprintln(c.out, "no shelf")
				return nil
			}
			w := c.table()
			fmt.Fprintln(w, "ID\tOBJECT\tUSER\tSINCE\tUNTIL\tREASON")
			for _, s := range list {
				fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\n", s.ID, s.Object, s.UserID, ts(s.Since), ts(s.Until), s.Reason)
			}
			return w.Flush()
		},
	}
}

func (c *cli) unshelveCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "unshelve ID",
		Short: "Remove a shelf before it expires",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if _, err := c.client().do(cmd.Context(), http.MethodDelete, "/api/fm/v1/shelves/"+url.PathEscape(args[0]), nil); err != nil {
				return err
			}
			fmt.Fprintf(c.out, "shelf %s removed\n", args[0])
			return nil
		},
	}
}

func (c *cli) logCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "log", Short: "The daemon's logging"}
	cmd.AddCommand(&cobra.Command{
		Use:   "level [LEVEL]",
		Short: "Show the log level, or set it (debug, info, warn, error)",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var body any
			method := http.MethodGet
			if len(args) == 1 {
				method, body = http.MethodPut, map[string]string{"level": args[0]}
			}
			raw, err := c.client().do(cmd.Context(), method, "/api/v1/log/level", body)
			if err != nil {
				return err
			}
			if c.asJSON {
				return c.printJSON(raw)
			}
			var lv struct{ Level string }
			if err := json.Unmarshal(raw, &lv); err != nil {
				return fmt.Errorf("bad answer: %w", err)
			}
			fmt.Fprintln(c.out, lv.Level)
			return nil
		},
	})
	return cmd
}

// listCmd is a command that prints what one list endpoint returns.
func (c *cli) listCmd(use, short, path string, print func(w *tabwriter.Writer, raw []byte) error) *cobra.Command {
	return &cobra.Command{
		Use:   use,
		Short: short,
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return c.showList(cmd.Context(), path, print)
		},
	}
}

func (c *cli) showList(ctx context.Context, path string, print func(w *tabwriter.Writer, raw []byte) error) error {
	raw, err := c.client().getJSON(ctx, path, nil)
	if err != nil {
		return err
	}
	if c.asJSON {
		return c.printJSON(raw)
	}
	w := c.table()
	if err := print(w, raw); err != nil {
		return err
	}
	return w.Flush()
}

func (c *cli) elementsCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "elements POOL",
		Short: "The elements of a pool, with their load",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return c.showList(cmd.Context(), "/api/v1/pools/"+url.PathEscape(args[0])+"/elements", printElements)
		},
	}
}

func printPools(w *tabwriter.Writer, raw []byte) error {
	var pools []mgmt.Pool
	if err := json.Unmarshal(raw, &pools); err != nil {
		return err
	}
	fmt.Fprintln(w, "POOL\tPOLICY\tELEMENTS\tMINIMUM")
	for _, p := range pools {
		fmt.Fprintf(w, "%s\t%s\t%d\t%d\n", p.Handle, p.Policy, len(p.Elements), p.MinElements)
	}
	return nil
}

func printElements(w *tabwriter.Writer, raw []byte) error {
	var els []mgmt.Element
	if err := json.Unmarshal(raw, &els); err != nil {
		return err
	}
	fmt.Fprintln(w, "ID\tADDRESS\tSTATE\tLOAD\tHOME REGISTRAR")
	for _, e := range els {
		fmt.Fprintf(w, "%s\t%s\t%s\t%d\t%s\n", e.ID, e.Address, e.State, e.Load, e.Registrar)
	}
	return nil
}

func printAssociations(w *tabwriter.Writer, raw []byte) error {
	var as []mgmt.Association
	if err := json.Unmarshal(raw, &as); err != nil {
		return err
	}
	fmt.Fprintln(w, "ASSOCIATION\tSTATE\tLOCAL\tPEER\tPATH\tPATH STATE\tSRTT\tRTO")
	for _, a := range as {
		if len(a.Paths) == 0 {
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\t-\t-\t-\t-\n", a.Name, a.State, a.Local, a.Peer)
		}
		for i, p := range a.Paths {
			name, state, local, peer := a.Name, a.State, a.Local, a.Peer
			if i > 0 {
				name, state, local, peer = "", "", "", ""
			}
			addr := p.Address
			if p.Primary {
				addr += " (primary)"
			}
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", name, state, local, peer, addr, p.State,
				secs(p.SRTTSeconds), secs(p.RTOSeconds))
		}
	}
	return nil
}

func secs(s float64) string {
	return time.Duration(s * float64(time.Second)).Round(time.Microsecond).String()
}

func printASPs(w *tabwriter.Writer, raw []byte) error {
	var asps []mgmt.ASP
	if err := json.Unmarshal(raw, &asps); err != nil {
		return err
	}
	fmt.Fprintln(w, "ASP\tSTATE\tASSOCIATION\tAPPLICATION SERVERS")
	for _, a := range asps {
		state := a.State
		if a.Blocked != nil {
			state += " (blocked)"
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", a.ID, state, a.Association, strings.Join(a.Servers, ","))
	}
	return nil
}

func printASes(w *tabwriter.Writer, raw []byte) error {
	var ases []mgmt.AS
	if err := json.Unmarshal(raw, &ases); err != nil {
		return err
	}
	fmt.Fprintln(w, "AS\tSTATE\tMODE\tROUTING CONTEXT\tASPS")
	for _, a := range ases {
		fmt.Fprintf(w, "%s\t%s\t%s\t%d\t%s\n", a.Name, a.State, a.TrafficMode, a.RoutingContext, strings.Join(a.ASPs, ","))
	}
	return nil
}

func (c *cli) aspsCmd() *cobra.Command {
	cmd := c.listCmd("asps", "M3UA application server processes (block, unblock)", "/api/v1/asps", printASPs)
	var reason string
	block := func(verb string) *cobra.Command {
		sub := &cobra.Command{
			Use:   verb + " ID",
			Short: map[string]string{"block": "Take an ASP out of traffic (it stays blocked until unblocked)", "unblock": "Put a blocked ASP back into traffic"}[verb],
			Args:  cobra.ExactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				raw, err := c.client().do(cmd.Context(), http.MethodPost, "/api/v1/asps/"+url.PathEscape(args[0])+"/"+verb,
					mgmt.OperatorRequest{UserID: c.user, Reason: reason})
				if err != nil {
					return err
				}
				if c.asJSON {
					return c.printJSON(raw)
				}
				var a mgmt.ASP
				if err := json.Unmarshal(raw, &a); err != nil {
					return fmt.Errorf("bad answer: %w", err)
				}
				state := a.State
				if a.Blocked != nil {
					state += ", blocked by " + a.Blocked.UserID + " since " + ts(a.Blocked.Since)
				}
				fmt.Fprintf(c.out, "ASP %s %sed: %s\n", a.ID, verb, state)
				return nil
			},
		}
		if verb == "block" {
			sub.Flags().StringVar(&reason, "reason", "", "why (recorded with the block)")
		}
		return sub
	}
	cmd.AddCommand(block("block"), block("unblock"))
	return cmd
}

func (c *cli) drainCmd() *cobra.Command {
	var reason string
	var status, cancel bool
	cmd := &cobra.Command{
		Use:   "drain",
		Short: "Drain the gateway: no new dialogue, ongoing ones finish (--status shows, --cancel ends it)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			method, verb := http.MethodPost, "draining"
			var body any = mgmt.OperatorRequest{UserID: c.user, Reason: reason}
			switch {
			case status && cancel:
				return errors.New("--status and --cancel exclude each other")
			case status:
				method, body = http.MethodGet, nil
			case cancel:
				method, verb = http.MethodDelete, "drain cancelled"
			}
			raw, err := c.client().do(cmd.Context(), method, "/api/v1/drain", body)
			if err != nil {
				return err
			}
			if c.asJSON {
				return c.printJSON(raw)
			}
			var d mgmt.Drain
			if err := json.Unmarshal(raw, &d); err != nil {
				return fmt.Errorf("bad answer: %w", err)
			}
			if !d.Draining {
				if status {
					verb = "not draining"
				}
				fmt.Fprintf(c.out, "%s: taking traffic\n", verb)
				return nil
			}
			line := "draining"
			if d.Since != nil {
				line += " since " + ts(*d.Since)
			}
			if d.UserID != "" {
				line += " by " + d.UserID
			}
			if d.Reason != "" {
				line += " (" + d.Reason + ")"
			}
			fmt.Fprintf(c.out, "%s: %d dialogue(s) left\n", line, d.DialoguesLeft)
			return nil
		},
	}
	cmd.Flags().StringVar(&reason, "reason", "", "why (recorded with the drain)")
	cmd.Flags().BoolVar(&status, "status", false, "show the drain state only")
	cmd.Flags().BoolVar(&cancel, "cancel", false, "stop draining: take new dialogues again")
	return cmd
}
