package acceptance

import (
	"encoding/xml"
	"fmt"
	"io"
	"strings"
	"time"
)

// The JUnit XML schema CI tools (Jenkins, GitLab, GitHub actions) read.
type junitSuites struct {
	XMLName xml.Name     `xml:"testsuites"`
	Suites  []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name     string      `xml:"name,attr"`
	Tests    int         `xml:"tests,attr"`
	Failures int         `xml:"failures,attr"`
	Skipped  int         `xml:"skipped,attr"`
	Time     string      `xml:"time,attr"`
	Cases    []junitCase `xml:"testcase"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	Time      string        `xml:"time,attr"`
	Failure   *junitMessage `xml:"failure,omitempty"`
	Skipped   *junitMessage `xml:"skipped,omitempty"`
	SystemErr string        `xml:"system-err,omitempty"`
}

type junitMessage struct {
	Message string `xml:"message,attr"`
	Text    string `xml:",chardata"`
}

// WriteJUnit writes the results as one JUnit test suite named suite.
func WriteJUnit(w io.Writer, suite string, rs []Result) error {
	s := junitSuite{Name: suite, Tests: len(rs)}
	var total time.Duration
	for _, r := range rs {
		total += r.Duration
		c := junitCase{Name: r.Name, Classname: suite, Time: seconds(r.Duration)}
		switch r.Status {
		case Fail:
			s.Failures++
			c.Failure = &junitMessage{
				Message: "expected " + r.Expected,
				Text:    fmt.Sprintf("expected: %s\ngot: %s", r.Expected, r.Got),
			}
		case Skip:
			s.Skipped++
			c.Skipped = &junitMessage{Message: r.Reason}
		}
		if len(r.Stderr) > 0 {
			c.SystemErr = strings.Join(r.Stderr, "\n")
		}
		s.Cases = append(s.Cases, c)
	}
	s.Time = seconds(total)
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(junitSuites{Suites: []junitSuite{s}}); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}

func seconds(d time.Duration) string { return fmt.Sprintf("%.3f", d.Seconds()) }
