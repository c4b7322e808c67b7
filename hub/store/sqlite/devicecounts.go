package sqlite

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/shiftgate/shiftgate/hub/store"
)

// CountDevices counts in one pass over the devices table, a single
// statement and so a single snapshot. The connected devices and the
// sightings not yet stored come in as JSON (as group members do, see
// groups.go), each read once into a table SQLite indexes for the lookups:
// a hub of 10,000 kiosks passes 10,000 IDs per scrape, which costs a
// third of the CPU of turning 10,000 rows into store.Device values
// (BenchmarkKioskMetricsScrape10000 in hub/). No index helps: every
// enabled device is counted (TestCountDevicesPlan).
func (o ops) CountDevices(ctx context.Context, q store.DeviceCountQuery) (store.DeviceCounts, error) {
	query, args, err := countDevicesQuery(q)
	if err != nil {
		return store.DeviceCounts{}, fmt.Errorf("count devices: %w", err)
	}
	got := make([]int64, 2+len(q.Over))
	dest := make([]any, len(got))
	for i := range got {
		dest[i] = &got[i]
	}
	if err := o.read.QueryRowContext(ctx, query, args...).Scan(dest...); err != nil {
		return store.DeviceCounts{}, fmt.Errorf("count devices: %w", unavailable(err))
	}
	c := store.DeviceCounts{Enrolled: int(got[0]), Away: int(got[1]), Over: make([]int, len(q.Over))}
	for i := range q.Over {
		c.Over[i] = int(got[2+i])
	}
	return c, nil
}

// countDevicesQuery returns CountDevices' statement and its arguments.
// A device's time is compared in nanoseconds, as stored: away for longer
// than d before now is since < now-d, as now.Sub(since) > d is in Go.
func countDevicesQuery(q store.DeviceCountQuery) (string, []any, error) {
	if err := checkTimes(q.Now); err != nil {
		return "", nil, err
	}
	seen := make(map[string]int64, len(q.Seen))
	for id, at := range q.Seen {
		if err := checkTimes(at); err != nil {
			return "", nil, err
		}
		seen[id] = nanos(at)
	}
	conn := q.Connected
	if conn == nil {
		conn = []string{} // null would be one row of NULL, and NOT IN it never true
	}
	connJSON, err := json.Marshal(conn)
	if err != nil {
		return "", nil, err
	}
	seenJSON, err := json.Marshal(seen)
	if err != nil {
		return "", nil, err
	}
	args := []any{string(connJSON), string(seenJSON), int64(store.DeviceActive)}
	var sb strings.Builder
	// MATERIALIZED makes each JSON document parsed once, into a table
	// with an automatic index, rather than once per device; and enabled
	// computed once per device, not once per sum that reads it (a
	// flattened subquery repeats its expressions, the NOT IN lookup
	// among them).
	sb.WriteString(`WITH conn(id) AS MATERIALIZED (SELECT value FROM json_each(?1)),
	seen(id, at) AS MATERIALIZED (SELECT key, value FROM json_each(?2)),
	stored(id, since) AS (SELECT id, CASE last_seen WHEN 0 THEN created ELSE last_seen END FROM devices WHERE state = ?3),
	enabled(away, since) AS MATERIALIZED (SELECT d.id NOT IN conn, CASE WHEN s.at > d.since THEN s.at ELSE d.since END
		FROM stored d LEFT JOIN seen s ON s.id = d.id)
	SELECT count(*), coalesce(sum(away), 0)`)
	for _, d := range q.Over {
		args = append(args, q.Now.Add(-d).UnixNano())
		sb.WriteString(", coalesce(sum(away AND since < ?" + strconv.Itoa(len(args)) + "), 0)")
	}
	sb.WriteString(" FROM enabled")
	return sb.String(), args, nil
}
