package generate

import (
	"regexp"
	"regexp/syntax"
	"strings"
)

// sampleMatch returns a short string re matches, built from its syntax
// tree: the first branch of each alternation, the minimum of each
// repetition, the first character of each class. It reports false when the
// result does not match after all (look-arounds such as \b can spoil it).
func sampleMatch(re *regexp.Regexp) (string, bool) {
	tree, err := syntax.Parse(re.String(), syntax.Perl)
	if err != nil {
		return "", false
	}
	var b strings.Builder
	sample(&b, tree.Simplify())
	s := b.String()
	return s, s != "" && re.MatchString(s)
}

// sample writes a short match of re to b.
func sample(b *strings.Builder, re *syntax.Regexp) {
	switch re.Op {
	case syntax.OpLiteral:
		b.WriteString(string(re.Rune))
	case syntax.OpCharClass:
		if len(re.Rune) > 0 {
			b.WriteRune(pickRune(re.Rune))
		}
	case syntax.OpAnyChar, syntax.OpAnyCharNotNL:
		b.WriteByte('a')
	case syntax.OpCapture, syntax.OpPlus:
		sample(b, re.Sub[0])
	case syntax.OpRepeat:
		for range re.Min {
			sample(b, re.Sub[0])
		}
	case syntax.OpConcat:
		for _, sub := range re.Sub {
			sample(b, sub)
		}
	case syntax.OpAlternate:
		sample(b, re.Sub[0])
	}
	// Empty matches, anchors, boundaries, * and ? add nothing.
}

// pickRune picks a readable rune from a class's ranges: a lowercase
// letter, a digit or an uppercase letter when the class has one.
func pickRune(ranges []rune) rune {
	for _, want := range []rune{'a', 'x', '0', 'A', '-', '.'} {
		for i := 0; i+1 < len(ranges); i += 2 {
			if ranges[i] <= want && want <= ranges[i+1] {
				return want
			}
		}
	}
	return ranges[0]
}
