package governance

import (
	"context"
	"io"
)

// WriteEvidencePage is WriteEvidence reading page items and review.decide
// records at a time, for tests of pages smaller than a campaign's.
func (s *Service) WriteEvidencePage(ctx context.Context, w io.Writer, id, format string, page int) (Evidence, error) {
	return s.writeEvidence(ctx, w, id, format, page)
}
