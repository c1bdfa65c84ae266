package acceptance

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"
)

// WriteText writes one line per check (PASS, FAIL or SKIP, its name and
// time), what was expected and what happened for a failure, with the last
// lines of the plugin's stderr, and then the summary line. verbose adds
// every check's steps and stderr.
func WriteText(w io.Writer, rs []Result, verbose bool) {
	for _, r := range rs {
		fmt.Fprintf(w, "%-4s %s (%s)", strings.ToUpper(string(r.Status)), r.Name, roundDuration(r.Duration))
		if r.Status == Skip {
			fmt.Fprintf(w, ": %s", r.Reason)
		}
		fmt.Fprintln(w)
		if r.Status == Fail {
			fmt.Fprintf(w, "     expected: %s\n", indent(r.Expected))
			fmt.Fprintf(w, "     got:      %s\n", indent(r.Got))
		}
		if verbose {
			for _, s := range r.Steps {
				fmt.Fprintf(w, "     step: %s\n", s)
			}
		}
		if len(r.Stderr) > 0 && (verbose || r.Status == Fail) {
			fmt.Fprintln(w, "     stderr:")
			for _, l := range r.Stderr {
				fmt.Fprintf(w, "       | %s\n", l)
			}
		}
	}
	fmt.Fprintln(w, Summary(rs))
}

// Summary is the closing line: "N passed, N failed", then ", N skipped"
// when any check was skipped.
func Summary(rs []Result) string {
	var n [3]int
	for _, r := range rs {
		switch r.Status {
		case Pass:
			n[0]++
		case Fail:
			n[1]++
		case Skip:
			n[2]++
		}
	}
	s := fmt.Sprintf("%d passed, %d failed", n[0], n[1])
	if n[2] > 0 {
		s += fmt.Sprintf(", %d skipped", n[2])
	}
	return s
}

// WantConfig counts the checks skipped for want of configuration and
// names, once each, the parameters they lacked values for.
func WantConfig(rs []Result) (n int, params []string) {
	for _, r := range rs {
		if r.Status != Skip || len(r.Missing) == 0 {
			continue
		}
		n++
		for _, p := range r.Missing {
			if !slices.Contains(params, p) {
				params = append(params, p)
			}
		}
	}
	return n, params
}

// indent keeps continuation lines of a multi-line message under its first.
func indent(s string) string { return strings.ReplaceAll(s, "\n", "\n               ") }

func roundDuration(d time.Duration) time.Duration {
	if d >= time.Second {
		return d.Round(10 * time.Millisecond)
	}
	return d.Round(time.Millisecond)
}

// jsonResult is a Result as WriteJSON writes it; the field names are
// stable, for CI scripts.
type jsonResult struct {
	Name       string   `json:"name"`
	Status     Status   `json:"status"`
	DurationMS int64    `json:"duration_ms"`
	Expected   string   `json:"expected"`
	Got        string   `json:"got"`
	Reason     string   `json:"reason"`
	Missing    []string `json:"missing,omitempty"` // a skip for want of these parameters' values
	Stderr     []string `json:"stderr"`
	Steps      []string `json:"steps,omitempty"`
}

// WriteJSON writes one JSON object per check, one per line.
func WriteJSON(w io.Writer, rs []Result) error {
	enc := json.NewEncoder(w)
	for _, r := range rs {
		j := jsonResult{
			Name: r.Name, Status: r.Status, DurationMS: r.Duration.Milliseconds(),
			Expected: r.Expected, Got: r.Got, Reason: r.Reason, Missing: r.Missing,
			Stderr: r.Stderr, Steps: r.Steps,
		}
		if j.Stderr == nil {
			j.Stderr = []string{}
		}
		if err := enc.Encode(j); err != nil {
			return err
		}
	}
	return nil
}
