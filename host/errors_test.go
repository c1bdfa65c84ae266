package host

import (
	"testing"

	"github.com/plugctl/plugctl/wire"
)

// TestRequestErrorOnce checks that each problem is written once, whether
// the plugin's message lists the problems (as the SDK's does) or not.
func TestRequestErrorOnce(t *testing.T) {
	problems := []wire.Problem{{Param: "interval", Message: `must be greater than 10ms (got "10ms")`}, {Param: "bogus", Message: "unknown parameter"}}
	for _, c := range []struct{ message, want string }{
		{`invalid configuration: interval: must be greater than 10ms (got "10ms"); bogus: unknown parameter`,
			`open instance 1: invalid_config: invalid configuration: interval: must be greater than 10ms (got "10ms"); bogus: unknown parameter`},
		{"invalid configuration",
			`open instance 1: invalid_config: invalid configuration: interval: must be greater than 10ms (got "10ms"); bogus: unknown parameter`},
		{"", `open instance 1: invalid_config: interval: must be greater than 10ms (got "10ms"); bogus: unknown parameter`},
	} {
		e := &RequestError{Op: "open instance 1", Status: wire.StatusInvalidConfig, Message: c.message, Problems: problems}
		if got := e.Error(); got != c.want {
			t.Errorf("message %q:\ngot  %s\nwant %s", c.message, got, c.want)
		}
	}
}
