package audit

import (
	"bufio"
	"bytes"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"
)

// CheckpointPrefix separates the signed bytes of a checkpoint from an
// export trailer's (SignaturePrefix), so that neither can be passed off as
// the other; it changes with the checkpoint's format.
const CheckpointPrefix = "shiftgate audit checkpoint v1\n"

// CheckpointMessage is the log message of a checkpoint line.
const CheckpointMessage = "audit checkpoint"

// Checkpoint is a head of the trail that the hub says, under its export
// signing key, it held at a time: an anchor with its hash, signed. The
// hub logs one (CheckpointMessage) whenever its audit watch has checked
// new records, so that whoever collects the hub's log (a SIEM) keeps
// anchors off the hub without anyone writing heads down, and a trail
// rewritten with audit.key to the same length, or cut short, no longer
// matches the newest of them (`audit verify --checkpoints`). Nobody can
// add one to the log without the signing key.
//
// Sig is the Ed25519 signature over CheckpointPrefix followed by
// {"head":H,"time":T,"key_id":K} (that order, no spaces; T in RFC 3339
// with nanoseconds, UTC, as Go's time.Time marshals).
type Checkpoint struct {
	Head  string    `json:"head"`
	Time  time.Time `json:"time"`
	KeyID string    `json:"key_id"`
	Sig   []byte    `json:"sig"`
}

func (c Checkpoint) signed() []byte {
	b, err := json.Marshal(struct {
		Head  string    `json:"head"`
		Time  time.Time `json:"time"`
		KeyID string    `json:"key_id"`
	}{c.Head, c.Time, c.KeyID})
	if err != nil {
		panic(err) // a string, a time in range and a string always marshal
	}
	return append([]byte(CheckpointPrefix), b...)
}

// Checkpoint signs head as held at time at.
func (s *Signer) Checkpoint(head Anchor, at time.Time) Checkpoint {
	c := Checkpoint{Head: head.String(), Time: at.UTC(), KeyID: s.id}
	c.Sig = ed25519.Sign(s.priv, c.signed())
	return c
}

// VerifyCheckpoint checks c's signature under pub and returns its head.
func VerifyCheckpoint(pub ed25519.PublicKey, c Checkpoint) (Anchor, error) {
	if len(pub) != ed25519.PublicKeySize {
		return Anchor{}, fmt.Errorf("public key is %d bytes, want an Ed25519 public key (%d)", len(pub), ed25519.PublicKeySize)
	}
	if c.KeyID != KeyID(pub) {
		return Anchor{}, fmt.Errorf("checkpoint %s is signed by key %s, not by this public key (%s)", c.Head, c.KeyID, KeyID(pub))
	}
	if !ed25519.Verify(pub, c.signed(), c.Sig) {
		return Anchor{}, fmt.Errorf("checkpoint %s at %s: the signature does not verify", c.Head, c.Time.Format(time.RFC3339))
	}
	return ParseAnchor(c.Head)
}

// logLineMax bounds a line of a log read for checkpoints; longer lines
// (a checkpoint's is under 400 bytes) are skipped whole.
const logLineMax = 64 << 10

// ReadCheckpoints reads the checkpoints in a log of the hub's (JSON lines,
// as `serve --log-format json` writes them: the message CheckpointMessage,
// the checkpoint under "checkpoint") and checks each under pub. It returns
// the head of every one (once per record), the newest (highest sequence
// number; zero Checkpoint when there is none), and how many it skipped as
// signed by another key (a key the hub made anew: its checkpoints check
// with the public key of their time). Other lines are skipped. A
// checkpoint whose signature does not verify under pub, or that is
// malformed, is an error naming its line: somebody wrote it who does not
// hold the key; so are two that give one record different hashes: the
// hub held two trails (a restore from a backup, or a rewrite).
//
// Verify the trail against every head (WithAnchor): after a cut, the
// watch goes on from what is left and signs checkpoints of the new
// trail, so the newest alone would pass it.
func ReadCheckpoints(r io.Reader, pub ed25519.PublicKey) (heads []Anchor, newest Checkpoint, otherKey int, err error) {
	id := KeyID(pub)
	seen := map[int64]Checkpoint{}
	var best int64
	br := bufio.NewReaderSize(r, logLineMax)
	for n := 1; ; n++ {
		line, rerr := br.ReadSlice('\n')
		long := errors.Is(rerr, bufio.ErrBufferFull)
		for errors.Is(rerr, bufio.ErrBufferFull) { // a line longer than the buffer: not a checkpoint
			_, rerr = br.ReadSlice('\n')
		}
		if !long && bytes.Contains(line, []byte(CheckpointMessage)) {
			var l struct {
				Msg        string      `json:"msg"`
				Checkpoint *Checkpoint `json:"checkpoint"`
			}
			if json.Unmarshal(line, &l) == nil && l.Msg == CheckpointMessage {
				if l.Checkpoint == nil {
					return nil, Checkpoint{}, otherKey, fmt.Errorf("line %d: an %s line without its checkpoint", n, CheckpointMessage)
				}
				c := *l.Checkpoint
				if c.KeyID != id {
					otherKey++
				} else {
					a, err := VerifyCheckpoint(pub, c)
					if err != nil {
						return nil, Checkpoint{}, otherKey, fmt.Errorf("line %d: %w", n, err)
					}
					if before, ok := seen[a.Seq]; ok && before.Head != c.Head {
						return nil, Checkpoint{}, otherKey, fmt.Errorf("line %d: checkpoint %s contradicts checkpoint %s, signed with the same key: the hub held two trails (a restore from a backup, or a rewrite); give the log from the restore on", n, c.Head, before.Head)
					} else if !ok {
						seen[a.Seq] = c
						heads = append(heads, a)
					}
					if a.Seq > best {
						best, newest = a.Seq, c
					}
				}
			}
		}
		if rerr == io.EOF {
			return heads, newest, otherKey, nil
		}
		if rerr != nil {
			return nil, Checkpoint{}, otherKey, fmt.Errorf("read log: %w", rerr)
		}
	}
}
