// Package audit owns the hub's tamper-evident audit trail.
//
// Every provisioning, authentication and teardown event is one
// store.AuditRecord. Records form a keyed hash chain: each record's Hash is
// HMAC-SHA256 over its own fields and the previous record's Hash, under a
// key that lives in the hub's data directory (audit.key, mode 0600) and not
// in the database. Editing, deleting, inserting or reordering any row
// therefore breaks the chain at that row, and someone who can write the
// database file but not read the key cannot forge a consistent chain.
//
// What the chain alone cannot show: records cut off the end (the shorter
// chain is valid), and a chain rewritten by someone who holds the key (the
// hub's own user, root on its host, anyone with a backup of the data
// directory, an auditor given the key to verify an export: HMAC verifies
// and seals with the same key). Both are caught by an Anchor: the head
// that Verify reports, written down where they cannot reach it, and
// checked by a later Verify or VerifyExport. Records after the newest
// anchor are only as safe as the key.
//
// Exports are signed besides (sign.go): the hub checks the records it
// exports against the key and signs them with an Ed25519 key of its own
// (audit-sign.key), so that an auditor or a SIEM checks an export with the
// hub's public key alone (VerifySignedExport) and is never given the key
// that seals the chain.
package audit

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
	"unicode/utf8"

	"github.com/shiftgate/shiftgate/hub/store"
)

// KeyFile is the name of the chain key inside the hub's data directory.
const KeyFile = "audit.key"

const keySize = 32

// Entry is what a caller records; the Log adds sequence, time and hashes.
type Entry struct {
	Actor   string // who or what: "token:<id> (<name>)", "scheduler", "cli"
	Action  string // e.g. user.create, user.deprovision, group.update
	Subject string // e.g. "user:<id>", "group:<id>"
	System  string // scim, api, scheduler, cli, agent
	// Detail is marshalled to JSON: before/after of what changed, reasons,
	// counts. It must never hold a secret.
	Detail any
}

// Log seals entries into the chain.
//
// It remembers the head it last appended, so that an append is one
// statement instead of a read and a write: the store refuses a record
// whose Seq or Prev does not follow its head (store.ErrConflict), and then
// the Log reads the head and appends once more. The head it remembers goes
// stale when the transaction that appended is rolled back, or another
// process (a CLI command) appends.
type Log struct {
	key []byte
	now func() time.Time

	mu       sync.Mutex
	headSeq  int64
	headHash []byte // nil: unknown, read it

	// sealers keeps sealers for key: a new one costs an HMAC key
	// schedule and five allocations, on every login and sign-out.
	sealers sync.Pool
}

// checkKey refuses a key too short to be the chain's: an empty one in
// particular, under which anyone can seal a chain.
func checkKey(key []byte) error {
	if len(key) < keySize {
		return fmt.Errorf("audit key is %d bytes, need %d", len(key), keySize)
	}
	return nil
}

// New returns a Log that seals with key and stamps records with now().
func New(key []byte, now func() time.Time) (*Log, error) {
	if err := checkKey(key); err != nil {
		return nil, err
	}
	if now == nil {
		now = time.Now
	}
	return &Log{key: bytes.Clone(key), now: now}, nil
}

// Append seals e onto the chain and writes it through ops, which must be a
// transaction (store.Store.InTx): reading the head and appending are one
// atomic step only there.
func (l *Log) Append(ctx context.Context, ops store.Ops, e Entry) (store.AuditRecord, error) {
	rs, err := l.AppendMany(ctx, ops, []Entry{e})
	if err != nil {
		return store.AuditRecord{}, err
	}
	return rs[0], nil
}

// AppendMany seals entries onto the chain in order, reading the head once:
// for changes that record one entry per affected user. Like Append, ops
// must be a transaction.
func (l *Log) AppendMany(ctx context.Context, ops store.Ops, entries []Entry) ([]store.AuditRecord, error) {
	if len(entries) == 0 {
		return nil, nil
	}
	now := l.now().UTC()
	out := make([]store.AuditRecord, len(entries))
	for i, e := range entries {
		detail := json.RawMessage("{}")
		if e.Detail != nil {
			b, err := json.Marshal(e.Detail)
			if err != nil {
				return nil, fmt.Errorf("audit %s: marshal detail: %w", e.Action, err)
			}
			detail = b
		}
		// Fields are sealed as JSON can carry them: a byte that is not
		// UTF-8 (a token name or file name from the command line) would
		// be replaced in an export, which then no longer verifies.
		out[i] = store.AuditRecord{Time: now, Actor: validUTF8(e.Actor), Action: validUTF8(e.Action), Subject: validUTF8(e.Subject),
			System: validUTF8(e.System), Detail: detail}
	}
	l.mu.Lock()
	seq, prev := l.headSeq, l.headHash
	l.mu.Unlock()
	s, _ := l.sealers.Get().(*sealer)
	if s == nil {
		s = newSealer(l.key)
	}
	defer l.sealers.Put(s)
	for attempt := 0; ; attempt++ {
		if attempt > 0 {
			var err error
			if seq, prev, err = ops.AuditHead(ctx); err != nil {
				return nil, fmt.Errorf("audit: read head: %w", err)
			}
		}
		p := prev
		for i := range out {
			out[i].Seq, out[i].Prev = seq+int64(i)+1, p
			out[i].Hash = s.seal(out[i])
			p = out[i].Hash
		}
		var err error
		if len(out) == 1 {
			err = ops.AppendAudit(ctx, out[0])
		} else {
			err = ops.AppendAuditBatch(ctx, out)
		}
		if errors.Is(err, store.ErrConflict) && attempt == 0 {
			continue // the head moved: read it and seal again
		}
		if err != nil {
			l.forgetHead()
			return nil, fmt.Errorf("audit %s: %w", entries[0].Action, err)
		}
		last := out[len(out)-1]
		l.mu.Lock()
		l.headSeq, l.headHash = last.Seq, last.Hash
		l.mu.Unlock()
		return out, nil
	}
}

// validUTF8 replaces each run of bytes that are not UTF-8 with U+FFFD.
func validUTF8(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	return strings.ToValidUTF8(s, "\uFFFD")
}

// forgetHead makes the next append read the head from the store.
func (l *Log) forgetHead() {
	l.mu.Lock()
	l.headSeq, l.headHash = 0, nil
	l.mu.Unlock()
}

// sealer computes records' chain hashes with one HMAC and one encoding
// buffer, so sealing the thousands of records of a mass change (one per
// user) does not allocate per field.
type sealer struct {
	mac hash.Hash
	buf []byte
}

func newSealer(key []byte) *sealer {
	// 512 bytes hold a typical record's fields, so a single Append
	// allocates the buffer once.
	return &sealer{mac: hmac.New(sha256.New, key), buf: make([]byte, 0, 512)}
}

// seal computes a record's chain hash: HMAC-SHA256 over its fields and the
// previous hash. Every field is length-prefixed so that no two different
// records encode to the same bytes; the encoding must never change, or
// existing chains stop verifying.
func (s *sealer) seal(r store.AuditRecord) []byte {
	b := s.buf[:0]
	b = binary.BigEndian.AppendUint64(b, uint64(r.Seq))
	b = binary.BigEndian.AppendUint64(b, uint64(r.Time.UnixNano()))
	for _, f := range [...]string{r.Actor, r.Action, r.Subject, r.System} {
		b = binary.BigEndian.AppendUint64(b, uint64(len(f)))
		b = append(b, f...)
	}
	b = binary.BigEndian.AppendUint64(b, uint64(len(r.Detail)))
	b = append(b, r.Detail...)
	b = binary.BigEndian.AppendUint64(b, uint64(len(r.Prev)))
	b = append(b, r.Prev...)
	s.buf = b
	s.mac.Reset()
	s.mac.Write(b)
	return s.mac.Sum(nil)
}

// Report is the outcome of Verify, VerifyExport and VerifySignedExport.
type Report struct {
	Records  int64  // records checked
	HeadSeq  int64  // last sequence number
	HeadHash []byte // last hash: anchor it elsewhere to detect truncation

	// Trailer is an export's signature trailer, when it has one; its
	// after, record count, head and SHA-256 match the export's lines.
	Trailer *Trailer
	// SignedBy is the id of the key whose signature over the trailer
	// was verified; "" when no signature was checked.
	SignedBy string
}

// Anchor returns the report's head as an anchor to keep.
func (r Report) Anchor() Anchor {
	return Anchor{Seq: r.HeadSeq, Hash: bytes.Clone(r.HeadHash)}
}

// Anchor is one record's sequence number and chain hash, written down
// where nobody who can write the hub's data directory can change it: a
// SIEM, a ticket, a signed e-mail, paper. Checked by Verify or
// VerifyExport (WithAnchor), it proves that the trail still holds that
// record unchanged, and so every record before it: a trail cut short
// before it, replaced by another (wiped and begun again under the same
// key) or rewritten up to it, even by someone who holds the key, no
// longer matches. Keep the newest head, and take one often: what was
// appended after it is protected by the key alone.
type Anchor struct {
	Seq  int64
	Hash []byte
}

// String is the anchor as ParseAnchor reads it: "SEQ:HEXHASH".
func (a Anchor) String() string {
	return strconv.FormatInt(a.Seq, 10) + ":" + hex.EncodeToString(a.Hash)
}

// ParseAnchor reads "SEQ:HEXHASH", as Anchor.String and `audit verify`
// print it.
func ParseAnchor(s string) (Anchor, error) {
	seq, h, ok := strings.Cut(strings.TrimSpace(s), ":")
	if !ok {
		return Anchor{}, fmt.Errorf("audit anchor %q: want SEQ:HASH, as audit verify prints the head", s)
	}
	n, err := strconv.ParseInt(seq, 10, 64)
	if err != nil || n < 1 {
		return Anchor{}, fmt.Errorf("audit anchor %q: the sequence number must be a whole number from 1", s)
	}
	hash, err := hex.DecodeString(h)
	if err != nil || len(hash) != sha256.Size {
		return Anchor{}, fmt.Errorf("audit anchor %q: the hash must be %d hex digits", s, 2*sha256.Size)
	}
	return Anchor{Seq: n, Hash: hash}, nil
}

// Option tunes Verify, VerifyExport, VerifySignedExport and Export.
type Option func(*options)

type options struct {
	anchors []Anchor
	// bySeq and last index anchors (collect): a verify against the
	// checkpoints of a year (half a million anchors) looks each record
	// up once rather than comparing it with every anchor.
	bySeq    map[int64]Anchor
	last     Anchor // the anchor with the highest Seq
	progress func(Report)

	sign     bool // WithSigner: Export signs with signer, after checking records under chainKey
	signer   *Signer
	chainKey []byte
	pub      ed25519.PublicKey // WithPublicKey: VerifyExport checks and requires the signature
}

// WithAnchor makes Verify and VerifyExport also check the chain against
// a kept anchor: the record at a.Seq must be there and have a.Hash.
func WithAnchor(a Anchor) Option {
	return func(o *options) { o.anchors = append(o.anchors, a) }
}

// WithProgress has fn called with the report so far after every page of
// records (a thousand), so a long walk over a large trail can show how far
// it is.
func WithProgress(fn func(Report)) Option {
	return func(o *options) { o.progress = fn }
}

func collect(opts []Option) (options, error) {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	o.bySeq = make(map[int64]Anchor, len(o.anchors))
	for _, a := range o.anchors {
		if a.Seq < 1 || len(a.Hash) != sha256.Size {
			return o, fmt.Errorf("audit anchor %d:%x is not a record's sequence number and hash", a.Seq, a.Hash)
		}
		if b, ok := o.bySeq[a.Seq]; ok && !hmac.Equal(a.Hash, b.Hash) {
			return o, fmt.Errorf("audit anchors %s and %s give record %d two hashes: they are of two trails", b, a, a.Seq)
		}
		o.bySeq[a.Seq] = a
		if a.Seq > o.last.Seq {
			o.last = a
		}
	}
	if o.sign {
		if o.signer == nil {
			// Not an unsigned export instead: a caller that asked for
			// a signature must not hand out one without.
			return o, errors.New("no signing key to sign the export with")
		}
		if err := checkKey(o.chainKey); err != nil {
			return o, fmt.Errorf("check records before signing: %w", err)
		}
	}
	if o.pub != nil && len(o.pub) != ed25519.PublicKeySize {
		return o, fmt.Errorf("public key is %d bytes, want an Ed25519 public key (%d)", len(o.pub), ed25519.PublicKeySize)
	}
	return o, nil
}

// checkAnchors returns a *BrokenError if record r contradicts an anchor.
func (o *options) checkAnchors(r store.AuditRecord) error {
	if a, ok := o.bySeq[r.Seq]; ok && !hmac.Equal(a.Hash, r.Hash) {
		return &BrokenError{Seq: r.Seq, Anchored: true, Reason: fmt.Sprintf("its hash is not the one in your anchor %s: the trail up to here was rewritten or replaced", a)}
	}
	return nil
}

// checkEnd returns a *BrokenError if the trail ends before an anchor.
func (o *options) checkEnd(rep Report) error {
	if a := o.last; a.Seq > rep.HeadSeq {
		return &BrokenError{Seq: rep.HeadSeq + 1, Reason: fmt.Sprintf("record missing: the trail ends at record %d, but your anchor %s says it held record %d (records were cut off the end)", rep.HeadSeq, a, a.Seq)}
	}
	return nil
}

// BrokenError names the first record at which the chain does not hold.
type BrokenError struct {
	Seq    int64 // the first bad record (or the first missing sequence number)
	Reason string
	// Anchored: the record is not the one an anchor holds. The records
	// before it link up under the key, but are not the trail the anchor
	// was taken from: whoever holds the key may have rewritten them.
	Anchored bool
}

func (e *BrokenError) Error() string {
	return fmt.Sprintf("audit chain broken at record %d: %s", e.Seq, e.Reason)
}

// verifyPage is how many records Verify reads at a time.
const verifyPage = 1000

// Verify walks the whole chain in sequence order, a page at a time. It
// returns a *BrokenError for the first record that was edited, deleted,
// inserted or moved (a row numbered below 1, which no walk from record 1
// reads, included), or that contradicts an anchor (WithAnchor), and
// other errors for failures to read. Without an anchor it cannot see
// records cut off the end, nor a chain re-sealed with the key.
func Verify(ctx context.Context, key []byte, trail Trail, opts ...Option) (Report, error) {
	return verifyFrom(ctx, key, trail, Anchor{}, opts)
}

// VerifyFrom is Verify from record from.Seq on, which must still be there
// with hash from.Hash (a *BrokenError if it is not: Anchored set when it
// is there with another hash, not when it is gone): the walk over what was appended since an
// earlier check (see Watcher), which takes the records up to from as
// checked then. Report.Records counts from.Seq and the records after it.
func VerifyFrom(ctx context.Context, key []byte, trail Trail, from Anchor, opts ...Option) (Report, error) {
	if from.Seq < 1 || len(from.Hash) != sha256.Size {
		return Report{}, fmt.Errorf("verify audit: %d:%x is not a record's sequence number and hash", from.Seq, from.Hash)
	}
	return verifyFrom(ctx, key, trail, from, opts)
}

func verifyFrom(ctx context.Context, key []byte, trail Trail, from Anchor, opts []Option) (Report, error) {
	var rep Report
	if err := checkKey(key); err != nil {
		return rep, fmt.Errorf("verify audit: %w", err)
	}
	o, err := collect(opts)
	if err != nil {
		return rep, fmt.Errorf("verify audit: %w", err)
	}
	var prev []byte
	s := newSealer(key)
	if from.Seq > 0 {
		rep.HeadSeq = from.Seq - 1
	} else if err := checkFloor(ctx, trail); err != nil {
		return rep, err
	}
	for {
		page, err := trail.ListAudit(ctx, store.AuditQuery{AfterSeq: rep.HeadSeq, Limit: verifyPage})
		if err != nil {
			return rep, fmt.Errorf("verify audit: %w", err)
		}
		if from.Seq > 0 && rep.Records == 0 && (len(page) == 0 || page[0].Seq != from.Seq) {
			why := "records were cut off the end, or the trail was replaced"
			if len(page) > 0 {
				why = fmt.Sprintf("removed: the next stored record is %d", page[0].Seq)
			}
			return rep, &BrokenError{Seq: from.Seq, Reason: fmt.Sprintf("record missing: record %d, checked before as %s, is gone (%s)", from.Seq, from, why)}
		}
		for _, r := range page {
			if rep.Records == 0 && from.Seq > 0 {
				// The record at from is checked against its own hash and
				// from's; its link to the one before was checked with it.
				if !hmac.Equal(r.Hash, from.Hash) {
					return rep, &BrokenError{Seq: r.Seq, Anchored: true, Reason: fmt.Sprintf("its hash is not the one checked before as %s: the trail up to here was rewritten or replaced", from)}
				}
				prev = r.Prev
			}
			if err := check(s, r, rep.HeadSeq+1, prev); err != nil {
				return rep, err
			}
			if err := o.checkAnchors(r); err != nil {
				return rep, err
			}
			prev = r.Hash
			rep.HeadSeq = r.Seq
			rep.HeadHash = r.Hash
			rep.Records++
		}
		if len(page) < verifyPage {
			return rep, o.checkEnd(rep)
		}
		if o.progress != nil {
			o.progress(rep)
		}
	}
}

// checkFloor returns a *BrokenError if the trail holds a record numbered
// below 1. The hub numbers records from 1, and every walk reads the
// records after 0, so such a row is one nobody sealed: put into the
// database outside the hub (a plain INSERT: the guards refuse only UPDATE
// and DELETE). No walk would read it, but a search of the trail without a
// lower bound (the console's audit page) shows it beside the real ones.
func checkFloor(ctx context.Context, trail Trail) error {
	low, err := trail.ListAudit(ctx, store.AuditQuery{AfterSeq: math.MinInt64, Limit: 1})
	if err != nil {
		return fmt.Errorf("verify audit: %w", err)
	}
	if len(low) > 0 && low[0].Seq < 1 {
		return &BrokenError{Seq: low[0].Seq, Reason: fmt.Sprintf("a record numbered %d, below 1, where the hub never writes one: it was put into the database outside the hub", low[0].Seq)}
	}
	return nil
}

// exported is the JSON-lines form of a record.
type exported struct {
	Seq     int64           `json:"seq"`
	Time    time.Time       `json:"time"`
	Actor   string          `json:"actor"`
	Action  string          `json:"action"`
	Subject string          `json:"subject"`
	System  string          `json:"system"`
	Detail  json.RawMessage `json:"detail"`
	Prev    []byte          `json:"prev"`
	Hash    []byte          `json:"hash"`
}

func exportedOf(r store.AuditRecord) exported {
	return exported{r.Seq, r.Time.UTC(), r.Actor, r.Action, r.Subject, r.System, r.Detail, r.Prev, r.Hash}
}

// Export writes every record after afterSeq as one JSON object per line, in
// sequence order, hashes base64-encoded, a page at a time. It takes
// WithProgress and WithSigner (then the last line is the signature
// trailer). It holds one page in memory, however long the trail: the
// signature's SHA-256 is taken as the lines are written.
//
// With WithSigner, anchors (WithAnchor: the head the hub's audit watch
// checked) are checked as Verify checks them, and an export the trail
// contradicts is not signed: records cut off the end, or a trail
// rewritten with the key, leave every record holding under the key, and
// a signed export of them would tell an auditor with the public key alone
// that the trail the hub itself calls broken is intact. An anchor at or
// before afterSeq, which the export does not hold, is looked up in ops.
func Export(ctx context.Context, ops store.Ops, afterSeq int64, w io.Writer, opts ...Option) (int64, error) {
	o, err := collect(opts)
	if err != nil {
		return 0, fmt.Errorf("export audit: %w", err)
	}
	if afterSeq < 0 {
		return 0, fmt.Errorf("export audit: after record %d: want 0 or more", afterSeq)
	}
	var (
		sum    = sha256.New()
		s      *sealer     // checks records before they are signed
		lines  *lineReader // reads each line back as a verifier will
		prev   []byte
		broken error
		line   bytes.Buffer
	)
	var linked *Anchor // the anchor the first record must link to
	if o.sign {
		s, lines = newSealer(o.chainKey), newLineReader()
		if linked, broken, err = o.checkStored(ctx, ops, afterSeq); err != nil {
			return 0, fmt.Errorf("export audit: %w", err)
		}
	}
	enc := json.NewEncoder(&line)
	rep := Report{HeadSeq: afterSeq}
	for {
		page, err := ops.ListAudit(ctx, store.AuditQuery{AfterSeq: rep.HeadSeq, Limit: verifyPage})
		if err != nil {
			return rep.Records, fmt.Errorf("export audit: %w", err)
		}
		for _, r := range page {
			line.Reset()
			if err := enc.Encode(exportedOf(r)); err != nil {
				return rep.Records, fmt.Errorf("export audit: %w", err)
			}
			if s != nil && broken == nil {
				if rep.Records == 0 && afterSeq > 0 {
					prev = r.Prev // as VerifyExport takes it
				}
				broken = check(s, r, rep.HeadSeq+1, prev)
				if broken == nil && rep.Records == 0 && linked != nil && !hmac.Equal(r.Prev, linked.Hash) {
					broken = &BrokenError{Seq: r.Seq, Anchored: true, Reason: fmt.Sprintf("does not link to record %d as the anchor %s holds it: the trail up to here was rewritten or replaced", linked.Seq, linked)}
				}
				if broken == nil {
					broken = o.checkAnchors(r)
				}
				if broken == nil {
					// What is signed is the line, not the row: it must
					// read back as the record that was checked, or no
					// verifier could check it (a text field sealed
					// before fields were made UTF-8 comes out as U+FFFD).
					broken = lines.roundTrips(line.Bytes(), r)
				}
				prev = r.Hash
			}
			if _, err := w.Write(line.Bytes()); err != nil {
				return rep.Records, fmt.Errorf("export audit: %w", err)
			}
			if s != nil {
				sum.Write(line.Bytes())
			}
			rep.HeadSeq, rep.HeadHash = r.Seq, r.Hash
			rep.Records++
		}
		if len(page) < verifyPage {
			break
		}
		if o.progress != nil {
			o.progress(rep)
		}
	}
	if !o.sign {
		return rep.Records, nil
	}
	if broken == nil {
		broken = o.checkEnd(rep)
	}
	if broken != nil {
		return rep.Records, fmt.Errorf("export audit: not signed: %w", broken)
	}
	tl, err := marshalTrailer(o.signer.trailer(afterSeq, rep, sum.Sum(nil)))
	if err == nil {
		_, err = w.Write(append(tl, '\n'))
	}
	if err != nil {
		return rep.Records, fmt.Errorf("export audit: write signature: %w", err)
	}
	return rep.Records, nil
}

// checkStored checks the anchors at or before afterSeq, which an export
// after afterSeq does not hold, against the records in ops: a
// *BrokenError (returned as broken) for one missing or with another hash.
// linked is the anchor at afterSeq, which the export's first record must
// link to.
func (o *options) checkStored(ctx context.Context, ops store.Ops, afterSeq int64) (linked *Anchor, broken error, err error) {
	for i, a := range o.anchors {
		if a.Seq > afterSeq {
			continue
		}
		if a.Seq == afterSeq {
			linked = &o.anchors[i]
		}
		if broken != nil {
			continue
		}
		rs, err := ops.ListAudit(ctx, store.AuditQuery{AfterSeq: a.Seq - 1, Limit: 1})
		if err != nil {
			return nil, nil, err
		}
		switch {
		case len(rs) == 0 || rs[0].Seq != a.Seq:
			broken = &BrokenError{Seq: a.Seq, Reason: fmt.Sprintf("record missing: the anchor %s says the trail held record %d (records were removed or cut off the end)", a, a.Seq)}
		default:
			broken = o.checkAnchors(rs[0])
		}
	}
	return linked, broken, nil
}

// VerifyExport checks an exported copy of the chain (what Export wrote
// with the same afterSeq) away from the hub: every record must follow the
// one before it and match its hash under key, as Verify checks the
// database. The first record of an export after record N links to a hash
// the export does not hold: give an anchor at N (WithAnchor) to check it.
// Like Verify it cannot see records cut off the end, or a chain re-sealed
// with the key, without an anchor.
//
// A signature trailer, when the export ends with one, must match the
// export's lines (after, record count, head, SHA-256): a *SignatureError
// otherwise. Its signature is checked only WithPublicKey, which also
// refuses an export without one (ErrUnsigned); without it, an export from
// a hub before signed exports verifies as before.
//
// Every line must be byte for byte as Export writes it. A line with a
// field repeated (or spelled in another case), an unknown field, or a
// value written another way would still verify, since Go reads only one
// of the repeats, while a SIEM or jq reading the same line may show the
// other: what was verified must be what everyone reads.
//
// It returns a *BrokenError for the first line that does not hold, and
// other errors for input that is not an export. It holds one line in
// memory at a time.
func VerifyExport(key []byte, afterSeq int64, r io.Reader, opts ...Option) (Report, error) {
	if err := checkKey(key); err != nil {
		return Report{HeadSeq: afterSeq}, fmt.Errorf("verify audit export: %w", err)
	}
	o, err := collect(opts)
	if err != nil {
		return Report{HeadSeq: afterSeq}, fmt.Errorf("verify audit export: %w", err)
	}
	return verifyExport(newSealer(key), afterSeq, r, o)
}

// VerifySignedExport checks a signed export with the hub's public key
// alone, no audit.key: the trailer's signature under pub (ErrUnsigned
// without one), and that the lines are the ones signed (SHA-256, record
// count, after, head: a *SignatureError otherwise); that every line is as
// Export writes it, the records consecutive from afterSeq+1 and each
// record's prev the hash of the one before it (a *BrokenError otherwise);
// and anchors (WithAnchor), whose hash is a record's hash.
//
// It does not recompute the records' hashes, which needs the key: the hub
// checked them before it signed (WithSigner). So the export is what the
// hub held, intact under its key, when it signed; whether the hub's key
// was used to rewrite the trail before then only anchors show.
func VerifySignedExport(pub ed25519.PublicKey, afterSeq int64, r io.Reader, opts ...Option) (Report, error) {
	o, err := collect(append(opts, WithPublicKey(pub)))
	if err != nil {
		return Report{HeadSeq: afterSeq}, fmt.Errorf("verify audit export: %w", err)
	}
	if len(o.pub) == 0 {
		return Report{HeadSeq: afterSeq}, errors.New("verify audit export: no public key")
	}
	return verifyExport(nil, afterSeq, r, o)
}

// verifyExport is VerifyExport (s checks each record's hash) and
// VerifySignedExport (s is nil: linkage only).
func verifyExport(s *sealer, afterSeq int64, r io.Reader, o options) (Report, error) {
	rep := Report{HeadSeq: afterSeq}
	if afterSeq < 0 {
		return rep, fmt.Errorf("verify audit export: after record %d: want 0 or more", afterSeq)
	}
	var linked *Anchor // the anchor the first record must link to
	for i, a := range o.anchors {
		switch {
		case a.Seq < afterSeq:
			return rep, fmt.Errorf("verify audit export: anchor %s is before this export, which begins after record %d: check it against the database or an export that holds it", a, afterSeq)
		case a.Seq == afterSeq:
			linked = &o.anchors[i]
		}
	}
	br := bufio.NewReader(r)
	var (
		prev        []byte
		lines       = newLineReader()
		sum         = sha256.New() // of the lines before a trailer
		trailer     *Trailer
		trailerLine int64
	)
	for line := int64(1); ; line++ {
		b, err := readExportLine(br)
		if err != nil && !errors.Is(err, io.EOF) {
			return rep, fmt.Errorf("verify audit export: line %d: %w", line, err)
		}
		if len(b) == 0 { // the end
			break
		}
		if trailer != nil {
			return rep, &SignatureError{Reason: fmt.Sprintf("line %d follows the signature trailer (line %d), which must be the last line: lines were added after it", line, trailerLine)}
		}
		b = bytes.TrimSuffix(bytes.TrimSuffix(b, []byte("\n")), []byte("\r"))
		if bytes.HasPrefix(b, trailerPrefix) {
			if trailer, err = parseTrailer(b); err != nil {
				return rep, &SignatureError{Reason: fmt.Sprintf("line %d: %v", line, err)}
			}
			trailerLine = line
			continue
		}
		rec, canonical, err := lines.read(b)
		if err != nil {
			return rep, fmt.Errorf("verify audit export: line %d: %w", line, err)
		}
		if !canonical {
			return rep, &BrokenError{Seq: rec.Seq, Reason: fmt.Sprintf("line %d is not as audit export writes it (a field repeated, added or written another way): other readers may see values other than the ones verified", line)}
		}
		if rep.Records == 0 && afterSeq > 0 {
			prev = rec.Prev // the export does not hold the record it links to
		}
		if s != nil {
			err = check(s, rec, rep.HeadSeq+1, prev)
		} else {
			err = checkLink(rec, rep.HeadSeq+1, prev)
		}
		if err != nil {
			return rep, err
		}
		if rep.Records == 0 && linked != nil && !hmac.Equal(rec.Prev, linked.Hash) {
			return rep, &BrokenError{Seq: rec.Seq, Anchored: true, Reason: fmt.Sprintf("does not link to record %d as your anchor %s holds it: the trail up to here was rewritten or replaced", linked.Seq, linked)}
		}
		if err := o.checkAnchors(rec); err != nil {
			return rep, err
		}
		sum.Write(b)
		sum.Write([]byte{'\n'})
		prev = rec.Hash
		rep.HeadSeq, rep.HeadHash = rec.Seq, rec.Hash
		rep.Records++
		if o.progress != nil && rep.Records%verifyPage == 0 {
			o.progress(rep)
		}
	}
	if trailer != nil {
		if err := o.checkTrailer(trailer, afterSeq, rep, sum.Sum(nil)); err != nil {
			return rep, err
		}
		rep.Trailer = trailer
		if o.pub != nil {
			rep.SignedBy = trailer.KeyID
		}
	}
	if linked != nil && rep.Records == 0 {
		return rep, fmt.Errorf("verify audit export: it holds no record after %d, so anchor %s cannot be checked against it", afterSeq, linked)
	}
	if err := o.checkEnd(rep); err != nil {
		return rep, err
	}
	if trailer == nil && o.pub != nil {
		return rep, fmt.Errorf("verify audit export: %w (its last line): a hub from before signed exports made it, or lines were cut off its end", ErrUnsigned)
	}
	return rep, nil
}

// maxExportLine bounds one line of an export a verifier reads. A record's
// line is a few MiB at most (its detail is bounded by the requests that
// make it), so a longer line is no export, and must not take all of an
// auditor's memory.
const maxExportLine = 64 << 20

// errExportLineTooLong is readExportLine's error for such a line.
var errExportLineTooLong = fmt.Errorf("longer than %d MiB: not an audit export line", maxExportLine>>20)

// readExportLine reads up to and including the next '\n', or to the end,
// refusing a line longer than maxExportLine before it is held whole.
func readExportLine(br *bufio.Reader) ([]byte, error) {
	var line []byte
	for {
		frag, err := br.ReadSlice('\n')
		if len(line)+len(frag) > maxExportLine {
			return nil, errExportLineTooLong
		}
		line = append(line, frag...)
		if !errors.Is(err, bufio.ErrBufferFull) {
			return line, err
		}
	}
}

// lineReader reads a record line of an export and tells whether it is
// byte for byte as Export writes it. It reuses one encoding buffer.
type lineReader struct {
	canon bytes.Buffer
	enc   *json.Encoder
}

func newLineReader() *lineReader {
	l := &lineReader{}
	l.enc = json.NewEncoder(&l.canon)
	return l
}

// read parses line b (without its "\n") as a record; canonical reports
// whether Export would write that record as exactly b.
func (l *lineReader) read(b []byte) (rec store.AuditRecord, canonical bool, err error) {
	var e exported
	if err := json.Unmarshal(b, &e); err != nil {
		return rec, false, err
	}
	l.canon.Reset()
	c := e
	c.Time = e.Time.UTC()
	if err := l.enc.Encode(c); err != nil {
		return rec, false, err
	}
	rec = store.AuditRecord{Seq: e.Seq, Time: e.Time, Actor: e.Actor, Action: e.Action, Subject: e.Subject, System: e.System, Detail: e.Detail, Prev: e.Prev, Hash: e.Hash}
	return rec, bytes.Equal(bytes.TrimSuffix(l.canon.Bytes(), []byte("\n")), b), nil
}

// roundTrips returns a *BrokenError unless line (as Export wrote it, with
// its "\n") reads back, canonical, as record r with every sealed byte.
func (l *lineReader) roundTrips(line []byte, r store.AuditRecord) error {
	got, canonical, err := l.read(bytes.TrimSuffix(line, []byte("\n")))
	if err == nil && canonical && got.Seq == r.Seq && got.Time.Equal(r.Time) && got.Actor == r.Actor && got.Action == r.Action &&
		got.Subject == r.Subject && got.System == r.System && bytes.Equal(got.Detail, r.Detail) &&
		bytes.Equal(got.Prev, r.Prev) && bytes.Equal(got.Hash, r.Hash) {
		return nil
	}
	return &BrokenError{Seq: r.Seq, Reason: "it holds under the key, but its export line does not carry it byte for byte (a text field that is not UTF-8, or detail that is not compact JSON), so no verifier could check that line"}
}

// check returns a *BrokenError unless r is record want, links to prev and
// matches its hash.
func check(s *sealer, r store.AuditRecord, want int64, prev []byte) error {
	switch {
	case r.Seq != want:
		return &BrokenError{Seq: want, Reason: fmt.Sprintf("record missing (next stored record is %d)", r.Seq)}
	case !hmac.Equal(r.Prev, prev):
		return &BrokenError{Seq: r.Seq, Reason: "does not link to the previous record (a record before it was removed, replaced or moved)"}
	case !hmac.Equal(r.Hash, s.seal(r)):
		return &BrokenError{Seq: r.Seq, Reason: "contents do not match their hash (the record was edited)"}
	}
	return nil
}

// checkLink is check without the key: r must be record want and link to
// prev, as far as the export's own prev and hash fields say.
func checkLink(r store.AuditRecord, want int64, prev []byte) error {
	switch {
	case r.Seq != want:
		return &BrokenError{Seq: want, Reason: fmt.Sprintf("record missing (next exported record is %d)", r.Seq)}
	case !hmac.Equal(r.Prev, prev):
		return &BrokenError{Seq: r.Seq, Reason: "does not link to the previous record (a record before it was removed, replaced or moved)"}
	case len(r.Hash) != sha256.Size:
		return &BrokenError{Seq: r.Seq, Reason: fmt.Sprintf("its hash is %d bytes, not %d", len(r.Hash), sha256.Size)}
	}
	return nil
}

// ErrKeyMissing means the audit key is gone while the trail holds records
// sealed with it.
var ErrKeyMissing = errors.New("the audit key is missing")

// Trail is what LoadOrCreateKey and LoadOrCreateSigner read of the audit
// trail: whether it has records.
type Trail interface {
	ListAudit(ctx context.Context, q store.AuditQuery) ([]store.AuditRecord, error)
}

// LoadKey reads DIR/audit.key; it never makes one. A key readable by group
// or others is refused.
func LoadKey(dir string) ([]byte, error) {
	path := filepath.Join(dir, KeyFile)
	key, err := readKey(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w: %s does not exist: restore it from the backup of this data directory", ErrKeyMissing, path)
	}
	return key, err
}

// LoadOrCreateKey is LoadOrCreateKeyLog without a log: the strays it
// removes are not reported.
func LoadOrCreateKey(ctx context.Context, dir string, trail Trail) ([]byte, error) {
	return LoadOrCreateKeyLog(ctx, dir, trail, nil)
}

// LoadOrCreateKeyLog reads DIR/audit.key. It makes one (32 random bytes,
// mode 0600) only while trail has no records: a key missing beside records
// it sealed (a database restored without it, a volume not mounted) is
// refused with ErrKeyMissing, since a new key would begin records that
// nothing before them can be checked against, and the trail could never
// be verified whole again. A key readable by group or others is refused.
//
// A damaged key (the wrong size, or all zeros) is refused too while the
// trail has records; beside an empty trail it sealed nothing, and is
// replaced: the file of a first start that crashed before the key reached
// the disk. The key is written beside the file, synced, and only then
// put in place, so that a crash leaves no key file or a whole one.
//
// A key written beside the file by a process that crashed before it
// removed it (".audit.key.NNN") is removed, logged by name on log (which
// may be nil): a copy of the secret that every backup of the directory
// would take along. Making the key and removing those is done holding an
// flock on dir, so that no process removes another's key being written.
func LoadOrCreateKeyLog(ctx context.Context, dir string, trail Trail, log *slog.Logger) ([]byte, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	path := filepath.Join(dir, KeyFile)
	key, err := readKey(path)
	if err == nil {
		// The strays are only a copy of a secret, not a reason to refuse
		// to start: a directory that cannot be locked keeps them.
		unlock, err := lockKeyDir(dir)
		if err != nil {
			log.Warn("could not look for audit keys left beside audit.key by a crash", "dir", dir, "err", err)
			return key, nil
		}
		defer unlock()
		removeStrayKeys(dir, log)
		return key, nil
	}
	missing := errors.Is(err, fs.ErrNotExist)
	var damaged *damagedKeyError
	if !missing && !errors.As(err, &damaged) {
		return nil, err
	}
	recs, lerr := trail.ListAudit(ctx, store.AuditQuery{Limit: 1})
	if lerr != nil {
		return nil, fmt.Errorf("create audit key: %w", lerr)
	}
	switch {
	case len(recs) > 0 && missing:
		return nil, fmt.Errorf("%w: %s does not exist, but the audit trail has records sealed with it: restore the key from the backup of this data directory (a new key would start a chain that cannot be verified against them)", ErrKeyMissing, path)
	case len(recs) > 0:
		return nil, err
	}
	key = make([]byte, keySize)
	if _, err := rand.Read(key); err != nil {
		return nil, fmt.Errorf("create audit key: %w", err)
	}
	// Every process makes or replaces the key only holding the lock, and
	// reads the file again once it has it: a hub and a token create (which
	// takes no hub.lock) starting together end up with one key. Replaced
	// without it, the one that renamed first went on sealing with a key no
	// longer on the disk; and a file the other locked could be deleted
	// meanwhile (an operator moving the damaged key away).
	unlock, err := lockKeyDir(dir)
	if err != nil {
		return nil, fmt.Errorf("create audit key: %w", err)
	}
	defer unlock() // until the new key is in place
	removeStrayKeys(dir, log)
	// Synced before any record is sealed with it: a power cut just after
	// the first start must not leave records whose key is an empty file.
	// Linked into place where there is none, renamed over a damaged one.
	var place func(old, new string) error
	switch cur, err := readKey(path); {
	case err == nil:
		return cur, nil // another process made or replaced it first
	case errors.Is(err, fs.ErrNotExist):
		place = os.Link
	case errors.As(err, &damaged):
		place = os.Rename
	default:
		return nil, err
	}
	if err := writeAside(path, key, 0o600, place); errors.Is(err, fs.ErrExist) {
		return readKey(path) // put there by a process that took no lock
	} else if err != nil {
		return nil, fmt.Errorf("write audit key %s: %w", path, err)
	}
	if err := syncDir(dir); err != nil {
		return nil, fmt.Errorf("write audit key %s: %w", path, err)
	}
	return key, nil
}

// damagedKeyError is readKey's refusal of a key file of the wrong size or
// of zeros.
type damagedKeyError struct{ msg string }

func (e *damagedKeyError) Error() string { return e.msg }

// lockKeyDir takes an exclusive flock on the data directory dir, which
// serializes the making of audit.key, audit-sign.key and audit-sign.pub,
// and the removal of their strays, between processes (a hub and the CLI
// commands beside it), and returns its release. It is released when the
// process dies, so a crash never leaves it held. It is not hub.lock,
// which the CLI commands do not take. Each call opens dir anew, and two
// flocks on separate opens exclude each other within one process too: a
// caller holding it must not call what takes it again.
func lockKeyDir(dir string) (unlock func(), err error) {
	d, err := os.Open(dir)
	if err != nil {
		return nil, err
	}
	for {
		err = syscall.Flock(int(d.Fd()), syscall.LOCK_EX)
		if !errors.Is(err, syscall.EINTR) {
			break
		}
	}
	if err != nil {
		d.Close()
		return nil, fmt.Errorf("lock %s: %w", dir, err)
	}
	return func() { d.Close() }, nil // closing the descriptor releases the lock
}

// removeStrayKeys removes from dir the keys writeAside wrote beside
// audit.key (".audit.key." and a decimal number) that were never
// removed: the process writing one crashed. The caller holds lockKeyDir;
// removeStrays says what is removed and what is left alone.
func removeStrayKeys(dir string, log *slog.Logger) {
	removeStrays(dir, log, KeyFile)
}

// syncDir makes a file put in dir durable with the name given it.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

func readKey(path string) ([]byte, error) {
	key, err := readOwnerOnly(path, "audit key", func(size int64) error {
		if size != keySize {
			return &damagedKeyError{fmt.Sprintf("audit key %s is %d bytes, want %d: restore it from backup", path, size, keySize)}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(key) != keySize {
		return nil, fmt.Errorf("audit key %s is %d bytes, want %d: restore it from backup", path, len(key), keySize)
	}
	// LoadOrCreateKey never writes zeros (but once in 2^256 starts): a
	// file of them was zeroed by a crash or a bad copy, and records sealed
	// under a key anyone knows could be forged by anyone.
	if allZero(key) {
		return nil, &damagedKeyError{fmt.Sprintf("audit key %s is all zero bytes, not a key this hub made: restore it from backup", path)}
	}
	return key, nil
}

// allZero reports whether b holds only zero bytes.
func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// readOwnerOnly reads the secret file at path, what it holds named by
// what ("audit key"). A file readable by group or others is refused, and
// so is one whose size checkSize refuses, before it is read: a file put
// there by mistake may be large. A missing file is an error wrapping
// fs.ErrNotExist.
func readOwnerOnly(path, what string, checkSize func(int64) error) ([]byte, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if st.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("%s %s has mode %v: it must be readable by its owner only (chmod 600 %s)", what, path, st.Mode().Perm(), path)
	}
	if err := checkSize(st.Size()); err != nil {
		return nil, err
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", what, err)
	}
	return b, nil
}
