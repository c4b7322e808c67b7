package hub

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/shiftgate/shiftgate/hub/store"
)

// credentialRevokedAt is when the credential cr (revoked) was revoked: the
// time of the first audit record of its owner that revoked it, a
// credential.revoke naming it (a hub before revoking was made idempotent
// wrote one for each repeated request) or the user.deprovision that
// revoked it with the user's others. ok is false when no record names
// it, and the answer leaves the time out rather than make one up.
func (s *Server) credentialRevokedAt(ctx context.Context, cr store.Credential) (at time.Time, ok bool, err error) {
	hexID := fmt.Sprintf("%x", cr.ID)
	var first store.AuditRecord
	for _, action := range []string{"credential.revoke", "user.deprovision"} {
		recs, err := s.st.ListAudit(ctx, store.AuditQuery{Subject: "user:" + cr.UserID, Action: action})
		if err != nil {
			return time.Time{}, false, err
		}
		for _, rec := range recs {
			var d struct {
				Credential         string   `json:"credential"`
				CredentialsRevoked []string `json:"credentialsRevoked"`
			}
			if json.Unmarshal(rec.Detail, &d) != nil || d.Credential != hexID && !slices.Contains(d.CredentialsRevoked, hexID) {
				continue
			}
			if !ok || rec.Seq < first.Seq {
				first, ok = rec, true
			}
			break // records come in Seq order: the first is the earliest
		}
	}
	if !ok {
		return time.Time{}, false, nil
	}
	return first.Time.UTC(), true, nil
}
