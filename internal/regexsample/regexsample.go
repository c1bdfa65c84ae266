// Package regexsample writes strings that a regular expression matches,
// built from its syntax tree: the generator's sample values and the
// acceptance checks' probes and secrets come from here.
package regexsample

import (
	"math/rand/v2"
	"regexp"
	"regexp/syntax"
	"strings"
)

// Match returns a short string re matches, built from its syntax tree: the
// first branch of each alternation, the minimum of each repetition, the
// first character of each class. It reports false when the result does
// not match after all (look-arounds such as \b can spoil it).
func Match(re *regexp.Regexp) (string, bool) {
	return sampler{pick: pickRune}.match(re)
}

// Random returns a string re matches with each class's character drawn by
// rnd (among its letters and digits when it has some) and each optional or
// repeated part repeated n times where its bounds allow: two draws of a
// pattern with room in it differ, so that a value can be told apart from
// any other. It reports false as Match does.
func Random(re *regexp.Regexp, rnd *rand.Rand, n int) (string, bool) {
	return sampler{pick: func(ranges []rune) rune { return randomRune(ranges, rnd) }, repeat: n}.match(re)
}

// sampler writes one match of a syntax tree: pick chooses a class's
// character, and open-ended repetitions repeat at least repeat times.
type sampler struct {
	pick   func(ranges []rune) rune
	repeat int
}

func (s sampler) match(re *regexp.Regexp) (string, bool) {
	tree, err := syntax.Parse(re.String(), syntax.Perl)
	if err != nil {
		return "", false
	}
	var b strings.Builder
	s.sample(&b, tree.Simplify())
	out := b.String()
	return out, out != "" && re.MatchString(out)
}

// sample writes a match of re to b.
func (s sampler) sample(b *strings.Builder, re *syntax.Regexp) {
	switch re.Op {
	case syntax.OpLiteral:
		b.WriteString(string(re.Rune))
	case syntax.OpCharClass:
		if len(re.Rune) > 0 {
			b.WriteRune(s.pick(re.Rune))
		}
	case syntax.OpAnyChar, syntax.OpAnyCharNotNL:
		b.WriteRune(s.pick([]rune{'a', 'z', '0', '9'}))
	case syntax.OpCapture:
		s.sample(b, re.Sub[0])
	case syntax.OpPlus, syntax.OpStar, syntax.OpQuest, syntax.OpRepeat:
		for range s.count(re) {
			s.sample(b, re.Sub[0])
		}
	case syntax.OpConcat:
		for _, sub := range re.Sub {
			s.sample(b, sub)
		}
	case syntax.OpAlternate:
		s.sample(b, re.Sub[0])
	}
	// Empty matches, anchors and boundaries add nothing.
}

// count is how many times a repetition repeats: its minimum, or s.repeat
// when that is more and the repetition allows it.
func (s sampler) count(re *syntax.Regexp) int {
	lo, hi := re.Min, re.Max
	switch re.Op {
	case syntax.OpPlus:
		lo, hi = 1, -1
	case syntax.OpStar:
		lo, hi = 0, -1
	case syntax.OpQuest:
		lo, hi = 0, 1
	}
	n := max(lo, s.repeat)
	if hi >= 0 {
		n = min(n, max(hi, lo))
	}
	return n
}

// pickRune picks a readable rune from a class's ranges: a lowercase
// letter, a digit or an uppercase letter when the class has one.
func pickRune(ranges []rune) rune {
	for _, want := range []rune{'a', 'x', '0', 'A', '-', '.'} {
		if inRanges(ranges, want) {
			return want
		}
	}
	return ranges[0]
}

// randomRune draws a letter or digit of the class, or picks as pickRune
// does when it has none.
func randomRune(ranges []rune, rnd *rand.Rand) rune {
	var alnum []rune
	for _, set := range []string{"abcdefghijklmnopqrstuvwxyz", "0123456789", "ABCDEFGHIJKLMNOPQRSTUVWXYZ"} {
		for _, r := range set {
			if inRanges(ranges, r) {
				alnum = append(alnum, r)
			}
		}
	}
	if len(alnum) == 0 {
		return pickRune(ranges)
	}
	return alnum[rnd.IntN(len(alnum))]
}

func inRanges(ranges []rune, r rune) bool {
	for i := 0; i+1 < len(ranges); i += 2 {
		if ranges[i] <= r && r <= ranges[i+1] {
			return true
		}
	}
	return false
}
