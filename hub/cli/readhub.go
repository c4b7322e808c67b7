package cli

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/shiftgate/shiftgate/hub"
	"github.com/shiftgate/shiftgate/hub/audit"
	"github.com/shiftgate/shiftgate/hub/governance"
	"github.com/shiftgate/shiftgate/hub/lifecycle"
	"github.com/shiftgate/shiftgate/hub/store"
	"github.com/shiftgate/shiftgate/hub/store/sqlite"
)

// openHubReadOnly opens the hub database in dir read-only
// (sqlite.OpenReadOnly), for the commands that only read: audit verify and
// export, token, device and site list, review list and show, findings and
// report. No migrations, no checkpoint of the write-ahead log into hub.db,
// no file made or written: they run beside a hub, and on a copy under
// investigation. A directory without a hub is refused (existingHub), and
// so is a database of an older or newer schema, with what to do (see
// olderSchema).
func openHubReadOnly(ctx context.Context, dir string) (*sqlite.ReadOnly, error) {
	if err := existingHub(dir); err != nil {
		return nil, err
	}
	path := filepath.Join(dir, hub.DBFile)
	st, err := sqlite.OpenReadOnly(ctx, path)
	if older := (*sqlite.OlderSchemaError)(nil); errors.As(err, &older) {
		return nil, olderSchema(dir, path, older, err)
	}
	return st, err
}

// olderSchema is the refusal of a read-only command on a database of an
// older schema (err, from OpenReadOnly, says to start the hub on it once
// to upgrade it). That is wrong while a hub holds hub.lock: one is
// running already, and since it did not upgrade the schema, it is of an
// older build (an upgrade left running), which only a restart on this
// build changes. When whether a hub runs cannot be told (the lock file
// is the hub user's), both are said.
func olderSchema(dir, path string, older *sqlite.OlderSchemaError, err error) error {
	held, holder, lerr := dataDirHeld(dir)
	switch {
	case lerr != nil:
		return fmt.Errorf("%w; if a hub is running on %s already, it is of an older build: restart it on this build (whether one runs cannot be told: %v)", err, dir, lerr)
	case !held:
		return err
	}
	return fmt.Errorf("open store %s read-only: %w: its version %d is older than this build's (%d), and the hub running on %s%s is of an older build: restart it on this build, which upgrades the schema as it starts, then run the command again (a read-only command does not migrate; nothing was changed)",
		path, sqlite.ErrNeedsMigration, older.Version, older.Want, dir, holder)
}

// readHub runs fn on the hub in dir opened read-only (openHubReadOnly).
// What fn prints through its env is held back and printed, in the order
// it was written, once fn has returned and the database is known not to
// have changed under it (ReadOnly.Unchanged: a hub started on a stopped
// one meanwhile): a table or report read across that change may be
// inconsistent, so the command prints none and asks to be run again.
func (e env) readHub(ctx context.Context, dir string, fn func(st *sqlite.ReadOnly, e env) error) error {
	st, err := openHubReadOnly(ctx, dir)
	if err != nil {
		return err
	}
	defer st.Close()
	var held heldOutput
	defer held.discard() // what print did not get to
	inner := e
	inner.stdout, inner.stderr = held.to(e.stdout), held.to(e.stderr)
	err = fn(st, inner)
	if cerr := st.Unchanged(); cerr != nil {
		// Whatever fn found, or failed on, may come of the change.
		return fmt.Errorf("%w: run the command again", cerr)
	}
	if perr := held.print(); perr != nil && err == nil {
		err = perr
	}
	return err
}

// heldOutput keeps what is written to several writers, in order, until
// print.
type heldOutput struct{ chunks []heldChunk }

type heldChunk struct {
	w io.Writer
	b []byte
	// f, when set, is a complete temporary file to copy to w instead of
	// b (holdFile): an export of tens of megabytes is held on disk, not
	// in memory.
	f *os.File
}

// holdFile holds the complete temporary file f for w, in the order of
// what is written around it: print copies it to w from its start, and
// print or discard closes and removes it. h owns f from here.
func (h *heldOutput) holdFile(w io.Writer, f *os.File) {
	h.chunks = append(h.chunks, heldChunk{w: w, f: f})
}

// discard drops what print did not write, closing and removing the
// files held.
func (h *heldOutput) discard() {
	for _, c := range h.chunks {
		if c.f != nil {
			c.f.Close()
			os.Remove(c.f.Name())
		}
	}
	h.chunks = nil
}

// to returns a writer whose writes are held for w.
func (h *heldOutput) to(w io.Writer) io.Writer { return heldWriter{h: h, w: w} }

// print writes what was held to its writers, in the order it was written.
func (h *heldOutput) print() error {
	for len(h.chunks) > 0 {
		c := h.chunks[0]
		if c.f == nil {
			if _, err := c.w.Write(c.b); err != nil {
				return err
			}
			h.chunks = h.chunks[1:]
			continue
		}
		_, err := c.f.Seek(0, io.SeekStart)
		if err == nil {
			_, err = io.Copy(c.w, c.f)
		}
		c.f.Close()
		os.Remove(c.f.Name())
		h.chunks = h.chunks[1:]
		if err != nil {
			return err
		}
	}
	return nil
}

type heldWriter struct {
	h *heldOutput
	w io.Writer
}

func (hw heldWriter) Write(p []byte) (int, error) {
	if n := len(hw.h.chunks); n > 0 && hw.h.chunks[n-1].w == hw.w && hw.h.chunks[n-1].f == nil {
		hw.h.chunks[n-1].b = append(hw.h.chunks[n-1].b, p...)
	} else {
		hw.h.chunks = append(hw.h.chunks, heldChunk{w: hw.w, b: bytes.Clone(p)})
	}
	return len(p), nil
}

// withReports runs fn on a governance service that reads the hub in dir
// read-only (readHub), for the reports: review list and show, findings and
// report.
func (e env) withReports(ctx context.Context, dir string, fn func(g *governance.Service, e env) error) error {
	return e.readHub(ctx, dir, func(st *sqlite.ReadOnly, e env) error {
		g, err := reportService(ctx, st)
		if err != nil {
			return err
		}
		return fn(g, e)
	})
}

// reportService builds a governance service on a read-only store. The service and its
// lifecycle engine need an audit log, which reading never appends to (the
// store refuses every write): it gets a throwaway key, so that a report
// needs no access to audit.key, which is kept from whoever only reads the
// database.
func reportService(ctx context.Context, st store.Store) (*governance.Service, error) {
	rules, err := storedRules(ctx, st)
	if err != nil {
		return nil, err
	}
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, err
	}
	log, err := audit.New(key, time.Now)
	if err != nil {
		return nil, err
	}
	eng, err := lifecycle.New(lifecycle.Config{Store: st, Audit: log, Now: time.Now, Rules: rules})
	if err != nil {
		return nil, err
	}
	return governance.New(governance.Config{Store: st, Audit: log, Engine: eng, Now: time.Now})
}
