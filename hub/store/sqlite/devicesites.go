package sqlite

import (
	"context"
	"fmt"
)

// ListDeviceSites walks the distinct spellings of the devices' sites
// through devices_site (site, created, id), one index search each
// (siteSpellings), and orders them by each spelling's first device, which
// is the first entry of its spelling in the same index: two searches per
// spelling, and never a row per device. Sorting by (created, id) of those first devices
// gives the order a loop over ListDevices meets the spellings in, so a
// caller keeping the first spelling of a folded name keeps the same one.
func (o ops) ListDeviceSites(ctx context.Context) ([]string, error) {
	sites, err := queryAll(ctx, o.read, scanString, siteSpellings+`
	SELECT s.site FROM spelling AS s WHERE s.site IS NOT NULL ORDER BY
		(SELECT d.created FROM devices AS d INDEXED BY devices_site WHERE d.site = s.site ORDER BY d.created, d.id LIMIT 1),
		(SELECT d.id FROM devices AS d INDEXED BY devices_site WHERE d.site = s.site ORDER BY d.created, d.id LIMIT 1)`)
	if err != nil {
		return nil, fmt.Errorf("list device sites: %w", err)
	}
	return sites, nil
}
