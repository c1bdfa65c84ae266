package regexsample

import (
	"math/rand/v2"
	"regexp"
	"testing"
)

func TestMatch(t *testing.T) {
	for expr, want := range map[string]string{
		`^https?://`:         "http://",
		`^[A-Za-z0-9]{8,}$`:  "aaaaaaaa",
		`(foo|bar)+\d{2}`:    "foo00",
		`^\w+@\w+\.com$`:     "a@a.com",
		`x*`:                 "",
		`^$|^a`:              "",
		`^tok_[a-z0-9]{4}.$`: "tok_aaaaa",
	} {
		re := regexp.MustCompile(expr)
		s, ok := Match(re)
		if s != want || ok != (want != "") {
			t.Errorf("Match(%s) = %q, %v; want %q", expr, s, ok, want)
		}
	}
}

func TestRandom(t *testing.T) {
	rnd := rand.New(rand.NewPCG(1, 2))
	for _, expr := range []string{`^tok_[a-z0-9]+$`, `^[0-9a-f]{8,}$`, `^https?://\w+\.example\.com$`} {
		re := regexp.MustCompile(expr)
		a, okA := Random(re, rnd, 12)
		b, okB := Random(re, rnd, 12)
		if !okA || !okB || !re.MatchString(a) || !re.MatchString(b) {
			t.Errorf("Random(%s) = %q, %q", expr, a, b)
		}
		if a == b || len(a) < 12 {
			t.Errorf("Random(%s): %q and %q, want two different draws of at least 12", expr, a, b)
		}
	}
	if s, ok := Random(regexp.MustCompile(`^[0-9]{4}$`), rnd, 12); !ok || len(s) != 4 {
		t.Errorf("Random of a bounded repetition: %q, %v", s, ok)
	}
}
