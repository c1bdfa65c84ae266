package acceptance

import (
	"fmt"
	"os"
	"testing"
)

// The test binary doubles as every plugin fixture: started with
// fixtureEnv set, it runs that plugin instead of the tests, so the checks
// meet real separate processes without a build step.
const (
	fixtureEnv = "PLUGCTL_ACCEPTANCE_FIXTURE" // which fixture: raw-source, good-sink, …
	breakEnv   = "PLUGCTL_ACCEPTANCE_BREAK"   // the rule a raw fixture breaks
)

func TestMain(m *testing.M) {
	if name := os.Getenv(fixtureEnv); name != "" {
		os.Exit(runFixture(name, os.Getenv(breakEnv)))
	}
	os.Exit(m.Run())
}

func runFixture(name, knob string) int {
	switch name {
	case "raw-source":
		return runRaw(fixtureManifest("source"), knob)
	case "raw-sink":
		return runRaw(fixtureManifest("sink"), knob)
	case "good-source":
		runGood(fixtureManifest("source"))
	case "good-sink":
		runGood(fixtureManifest("sink"))
	case "spin": // not a plugin: load for TestVerdictsUnderLoad
		for {
		}
	}
	fmt.Fprintf(os.Stderr, "unknown fixture %q\n", name)
	return 2
}
