package mgmt

import (
	"net"
	"os"
)

// Notify sends a state line to systemd ("READY=1", "RELOADING=1",
// "STOPPING=1", "STATUS=...") over $NOTIFY_SOCKET, as units of
// Type=notify expect. Without NOTIFY_SOCKET (not started by systemd) it
// does nothing and returns nil.
func Notify(state string) error {
	path := os.Getenv("NOTIFY_SOCKET")
	if path == "" {
		return nil
	}
	if path[0] == '@' { // abstract socket
		path = "\x00" + path[1:]
	}
	c, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		return err
	}
	defer c.Close()
	_, err = c.Write([]byte(state))
	return err
}
