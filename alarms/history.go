package alarms

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
)

// Record is one line of the history file: the state of one alarm after a
// change, a shelf put in place, or a shelf removed.
type Record struct {
	Alarm        *Alarm `json:"alarm,omitempty"`
	Shelf        *Shelf `json:"shelf,omitempty"`
	ShelfRemoved string `json:"shelfRemoved,omitempty"`
}

// Store keeps the Manager's history across restarts.
type Store interface {
	// Load returns the records written so far, oldest first.
	Load() ([]Record, error)
	// Append adds one record. When the store outgrows its bound it
	// replaces its content with snapshot(), the live state in as few
	// records as possible, newest last.
	Append(r Record, snapshot func() []Record) error
}

// DefaultHistoryBytes is the default size cap of a history file.
const DefaultHistoryBytes = 4 << 20

// HistoryFile is a Store in one append-only file of JSON lines.
//
// Every change appends one line with a single write(2) (and fsync, unless
// NoSync): a crash can only tear the last line, which Load ignores and
// truncates away. When the file exceeds MaxBytes it is compacted: the
// snapshot (the latest state of each alarm the manager still holds, newest
// kept first until half of MaxBytes, active alarms and shelves always) is
// written to a temporary file, synced, and renamed over the old one, so the
// file is at all times either the old or the new content.
type HistoryFile struct {
	Path     string
	MaxBytes int64
	NoSync   bool

	mu   sync.Mutex
	f    *os.File
	size int64
	// Torn and Corrupt count the lines Load skipped: a torn last line,
	// and undecodable lines elsewhere.
	Torn, Corrupt int
}

// OpenHistory opens (creating it and its directory) the history file at
// path, capped at maxBytes (DefaultHistoryBytes if 0).
func OpenHistory(path string, maxBytes int64) (*HistoryFile, error) {
	if maxBytes <= 0 {
		maxBytes = DefaultHistoryBytes
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return nil, fmt.Errorf("alarms: history: %w", err)
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_APPEND, 0o640)
	if err != nil {
		return nil, fmt.Errorf("alarms: history: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("alarms: history: %w", err)
	}
	return &HistoryFile{Path: path, MaxBytes: maxBytes, f: f, size: st.Size()}, nil
}

// Load reads every record. A last line without its newline, or that does
// not decode, is a torn write: it is ignored and cut off the file so that
// the next append starts on a line of its own.
func (h *HistoryFile) Load() ([]Record, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	data, err := os.ReadFile(h.Path)
	if err != nil {
		return nil, fmt.Errorf("alarms: history: %w", err)
	}
	var recs []Record
	good := 0
	for off := 0; off < len(data); {
		nl := bytes.IndexByte(data[off:], '\n')
		if nl < 0 { // torn last line
			h.Torn++
			break
		}
		line := data[off : off+nl]
		off += nl + 1
		var r Record
		if err := json.Unmarshal(line, &r); err != nil || (r.Alarm == nil && r.Shelf == nil && r.ShelfRemoved == "") {
			if off == len(data) {
				h.Torn++
				break
			}
			h.Corrupt++
			good = off
			continue
		}
		recs = append(recs, r)
		good = off
	}
	if good != len(data) {
		if err := h.f.Truncate(int64(good)); err != nil {
			return nil, fmt.Errorf("alarms: history: cutting a torn line: %w", err)
		}
	}
	h.size = int64(good)
	return recs, nil
}

// Append writes one record, compacting first when the file would exceed
// its cap.
func (h *HistoryFile) Append(r Record, snapshot func() []Record) error {
	line, err := json.Marshal(r)
	if err != nil {
		return err
	}
	line = append(line, '\n')
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.f == nil {
		return errors.New("alarms: history: closed")
	}
	if h.size+int64(len(line)) > h.MaxBytes && snapshot != nil {
		// The snapshot includes r's effect: the manager changed its state
		// before appending.
		return h.compact(snapshot())
	}
	n, err := h.f.Write(line)
	h.size += int64(n)
	if err != nil {
		return fmt.Errorf("alarms: history: %w", err)
	}
	if !h.NoSync {
		if err := h.f.Sync(); err != nil {
			return fmt.Errorf("alarms: history: %w", err)
		}
	}
	return nil
}

// compact replaces the file with recs: kept records are those that must
// survive (active alarms, shelves) and, newest first, as many others as fit
// in half the cap.
func (h *HistoryFile) compact(recs []Record) error {
	lines := make([][]byte, len(recs))
	budget := h.MaxBytes / 2
	keep := make([]bool, len(recs))
	for i, r := range recs {
		b, err := json.Marshal(r)
		if err != nil {
			return err
		}
		lines[i] = append(b, '\n')
		if r.Shelf != nil || (r.Alarm != nil && r.Alarm.Active()) {
			keep[i] = true
			budget -= int64(len(lines[i]))
		}
	}
	for i := len(recs) - 1; i >= 0; i-- {
		if !keep[i] && int64(len(lines[i])) <= budget {
			keep[i] = true
			budget -= int64(len(lines[i]))
		}
		if budget <= 0 {
			break
		}
	}
	var buf bytes.Buffer
	for i := range recs {
		if keep[i] {
			buf.Write(lines[i])
		}
	}
	tmp := h.Path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o640)
	if err != nil {
		return fmt.Errorf("alarms: history: compacting: %w", err)
	}
	if _, err := f.Write(buf.Bytes()); err != nil {
		f.Close()
		return fmt.Errorf("alarms: history: compacting: %w", err)
	}
	if !h.NoSync {
		if err := f.Sync(); err != nil {
			f.Close()
			return fmt.Errorf("alarms: history: compacting: %w", err)
		}
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("alarms: history: compacting: %w", err)
	}
	if err := os.Rename(tmp, h.Path); err != nil {
		return fmt.Errorf("alarms: history: compacting: %w", err)
	}
	if !h.NoSync {
		if d, err := os.Open(filepath.Dir(h.Path)); err == nil {
			d.Sync()
			d.Close()
		}
	}
	nf, err := os.OpenFile(h.Path, os.O_WRONLY|os.O_APPEND, 0o640)
	if err != nil {
		return fmt.Errorf("alarms: history: reopening after compaction: %w", err)
	}
	h.f.Close()
	h.f = nf
	h.size = int64(buf.Len())
	return nil
}

// Size returns the file's current size in bytes.
func (h *HistoryFile) Size() int64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.size
}

// Close closes the file.
func (h *HistoryFile) Close() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.f == nil {
		return nil
	}
	err := h.f.Close()
	h.f = nil
	return err
}
