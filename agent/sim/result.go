package sim

import (
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"sync"
	"text/tabwriter"
	"time"
)

// Result is what a scenario measured. A summary over rounds gives their
// median as p50 (the mean of the two middle rounds of an even number) and
// the nearest-rank p99; with fewer than 100 rounds p99 is the maximum.
type Result struct {
	Scenario    string     `json:"scenario"`
	Hub         string     `json:"hub"`
	Kiosks      int        `json:"kiosks"`
	Rounds      int        `json:"rounds"`
	Concurrency int        `json:"concurrency,omitempty"`
	Sessions    int        `json:"sessions,omitempty"`
	Duration    string     `json:"round_duration,omitempty"`
	Metrics     []Metric   `json:"metrics"`
	Errors      int64      `json:"errors"`
	ErrorSample []string   `json:"error_sample,omitempty"`
	Stray       int64      `json:"stray_messages"`
	Lost        int64      `json:"lost_channels"` // kiosk channels ended by the hub or the network
	HubMemory   *HubMemory `json:"hub_memory,omitempty"`
	Setup       []Phase    `json:"setup"`
	// PerRound holds every round's raw figures.
	PerRound []map[string]float64 `json:"per_round"`
}

// Metric is one line of the result table. A metric is either a single
// Value or a P50/P99/Max summary; Note says what it summarises.
type Metric struct {
	Name  string   `json:"name"`
	Unit  string   `json:"unit"`
	Value *float64 `json:"value,omitempty"`
	P50   *float64 `json:"p50,omitempty"`
	P99   *float64 `json:"p99,omitempty"`
	Max   *float64 `json:"max,omitempty"`
	Note  string   `json:"note,omitempty"`
}

// HubMemory is the hub's resident memory (from /proc/PID/status).
type HubMemory struct {
	ConnectedRSSMiB float64 `json:"connected_rss_mib"` // right after every kiosk connected
	EndRSSMiB       float64 `json:"end_rss_mib"`       // after the last round
	PeakRSSMiB      float64 `json:"peak_rss_mib"`      // VmHWM
}

func value(name, unit string, v float64, note string) Metric {
	return Metric{Name: name, Unit: unit, Value: ptr(v), Note: note}
}

func summary(name, unit string, p50, p99, mx float64, note string) Metric {
	return Metric{Name: name, Unit: unit, P50: ptr(p50), P99: ptr(p99), Max: ptr(mx), Note: note}
}

// ptr is &v, or nil for NaN (no data), which JSON cannot carry.
func ptr(v float64) *float64 {
	if math.IsNaN(v) {
		return nil
	}
	return &v
}

// summarize is the median/p99/max of xs, the figures of rounds.
func summarize(name, unit string, xs []float64, note string) Metric {
	return summary(name, unit, median(xs), percentile(xs, 99), percentile(xs, 100), note)
}

// percentile is the nearest-rank percentile p (0–100] of xs; NaN if empty.
func percentile(xs []float64, p float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	r := int(math.Ceil(p / 100 * float64(len(s))))
	return s[min(max(r, 1), len(s))-1]
}

// median is the median of xs: the middle value, or the mean of the two
// middle values of an even number; NaN if empty. The targets are medians
// of rounds, and the nearest rank (the lower of the two middle values)
// made four rounds of 200, 240, 300 and 310 µs a median of 240.
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// WriteTable prints r as a table.
func (r *Result) WriteTable(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "shiftgate-sim %s: hub %s, %d kiosks connected, %d rounds", r.Scenario, r.Hub, r.Kiosks, r.Rounds)
	if r.Concurrency > 0 {
		fmt.Fprintf(&b, ", concurrency %d", r.Concurrency)
	}
	if r.Sessions > 0 {
		fmt.Fprintf(&b, ", %d sessions per leaver", r.Sessions)
	}
	if r.Duration != "" {
		fmt.Fprintf(&b, ", %s per round", r.Duration)
	}
	fmt.Fprintln(&b)
	tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "metric\tvalue\tp50\tp99\tmax\tunit\t")
	for _, m := range r.Metrics {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t  %s\n", m.Name, num(m.Value), num(m.P50), num(m.P99), num(m.Max), m.Unit, m.Note)
	}
	if r.HubMemory != nil {
		fmt.Fprintf(tw, "hub RSS, all connected\t%s\t\t\t\tMiB\t  VmRSS after connecting\n", num(&r.HubMemory.ConnectedRSSMiB))
		fmt.Fprintf(tw, "hub RSS, end\t%s\t\t\t\tMiB\t  VmRSS after the last round\n", num(&r.HubMemory.EndRSSMiB))
		fmt.Fprintf(tw, "hub RSS, peak\t%s\t\t\t\tMiB\t  VmHWM\n", num(&r.HubMemory.PeakRSSMiB))
	}
	e := float64(r.Errors)
	fmt.Fprintf(tw, "errors\t%s\t\t\t\t\t  must be 0\n", num(&e))
	st := float64(r.Stray)
	fmt.Fprintf(tw, "unexpected messages\t%s\t\t\t\t\t  pushes or answers no kiosk waited for\n", num(&st))
	lost := float64(r.Lost)
	fmt.Fprintf(tw, "lost kiosk channels\t%s\t\t\t\t\t  closed by the hub or the network\n", num(&lost))
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, e := range r.ErrorSample {
		fmt.Fprintf(&b, "error: %s\n", e)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func num(v *float64) string {
	switch {
	case v == nil:
		return ""
	case math.IsNaN(*v):
		return "-"
	case *v == math.Trunc(*v) && math.Abs(*v) < 1e9:
		return fmt.Sprintf("%.0f", *v)
	case math.Abs(*v) >= 100:
		return fmt.Sprintf("%.1f", *v)
	default:
		return fmt.Sprintf("%.3f", *v)
	}
}

// errorLog counts errors and keeps the first few; safe for concurrent use.
type errorLog struct {
	mu     sync.Mutex
	n      int64
	sample []string
}

func (e *errorLog) add(err error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.n++
	if len(e.sample) < 5 {
		e.sample = append(e.sample, err.Error())
	}
}
