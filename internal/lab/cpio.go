package lab

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path"
)

// cpioWriter writes an uncompressed initramfs in the "newc" format (the
// format the kernel unpacks into its root file system at boot).
type cpioWriter struct {
	w    *bufio.Writer
	ino  uint32
	seen map[string]bool
}

func newCPIO(w io.Writer) *cpioWriter {
	return &cpioWriter{w: bufio.NewWriterSize(w, 1<<20), ino: 1, seen: map[string]bool{}}
}

const (
	modeDir  = 0o040000
	modeFile = 0o100000
	modeLink = 0o120000
	modeChr  = 0o020000
)

func (c *cpioWriter) header(name string, mode uint32, size int, rdevMajor, rdevMinor uint32) error {
	c.ino++
	// 13 eight-digit hex fields after the magic; see the kernel's
	// Documentation/driver-api/early-userspace/buffer-format.rst.
	_, err := fmt.Fprintf(c.w, "070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X",
		c.ino, mode, 0, 0, 1, 0, size, 0, 0, rdevMajor, rdevMinor, len(name)+1, 0)
	if err != nil {
		return err
	}
	if _, err := c.w.WriteString(name); err != nil {
		return err
	}
	if err := c.w.WriteByte(0); err != nil {
		return err
	}
	return c.pad(110 + len(name) + 1)
}

func (c *cpioWriter) pad(n int) error {
	for ; n%4 != 0; n++ {
		if err := c.w.WriteByte(0); err != nil {
			return err
		}
	}
	return nil
}

// dir adds a directory and its missing parents.
func (c *cpioWriter) dir(name string) error {
	if name == "." || name == "/" || name == "" || c.seen[name] {
		return nil
	}
	if err := c.dir(path.Dir(name)); err != nil {
		return err
	}
	c.seen[name] = true
	return c.header(name, modeDir|0o755, 0, 0, 0)
}

// file adds a regular file with the given content.
func (c *cpioWriter) file(name string, perm uint32, data []byte) error {
	if err := c.dir(path.Dir(name)); err != nil {
		return err
	}
	if err := c.header(name, modeFile|perm, len(data), 0, 0); err != nil {
		return err
	}
	if _, err := c.w.Write(data); err != nil {
		return err
	}
	return c.pad(len(data))
}

// copyFile adds the host file src as name.
func (c *cpioWriter) copyFile(name string, perm uint32, src string) error {
	data, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	return c.file(name, perm, data)
}

func (c *cpioWriter) symlink(name, target string) error {
	if err := c.dir(path.Dir(name)); err != nil {
		return err
	}
	if err := c.header(name, modeLink|0o777, len(target), 0, 0); err != nil {
		return err
	}
	if _, err := c.w.WriteString(target); err != nil {
		return err
	}
	return c.pad(len(target))
}

func (c *cpioWriter) charDev(name string, major, minor uint32) error {
	if err := c.dir(path.Dir(name)); err != nil {
		return err
	}
	return c.header(name, modeChr|0o600, 0, major, minor)
}

// close writes the trailer and flushes.
func (c *cpioWriter) close() error {
	if err := c.header("TRAILER!!!", 0, 0, 0, 0); err != nil {
		return err
	}
	return c.w.Flush()
}
