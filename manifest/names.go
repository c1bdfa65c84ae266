package manifest

import (
	"regexp"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/BurntSushi/toml"

	"github.com/plugctl/plugctl/wire"
)

var (
	// A plugin's name becomes a directory, a binary and part of its full
	// name type:name@version, so it keeps to characters safe in all three.
	pluginNameRE = regexp.MustCompile(`^[a-z][a-z0-9-]*$`)
	// Parameter names may group with '.' (auth.token) and join words with
	// '-' (max-lines), as settings maps do; an empty part ("auth..token",
	// "auth.") would only invite collisions.
	paramNameRE = regexp.MustCompile(`^[a-z][a-z0-9_]*([.-][a-z0-9_]+)*$`)
	// Event kinds are named as event systems name them: log.line, span-end,
	// com.example.user.created (a CloudEvents type).
	kindNameRE = paramNameRE
	// Fields are JSON object keys, named as JSON APIs name them: user_id,
	// userId, http.status.
	fieldNameRE = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]*([.-][A-Za-z0-9_]+)*$`)
	// semver.org's own expression, without a leading "v".
	semverRE = regexp.MustCompile(`^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)` +
		`(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?` +
		`(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$`)
	// A module path's first element is a domain (it has a dot and is
	// lowercase, as `go mod init` requires); later elements are path parts.
	moduleHostRE = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+$`)
	modulePartRE = regexp.MustCompile(`^[A-Za-z0-9_~-]+(\.[A-Za-z0-9_~-]+)*$`)
)

// ValidName reports whether name is a valid plugin name: lowercase letters,
// digits and '-', starting with a letter.
func ValidName(name string) bool { return pluginNameRE.MatchString(name) }

// validModule reports whether path is a plausible Go module path: a domain
// followed by slash-separated elements, such as example.com/acme.
func validModule(path string) bool {
	parts := strings.Split(path, "/")
	if !moduleHostRE.MatchString(parts[0]) {
		return false
	}
	for _, p := range parts[1:] {
		if !modulePartRE.MatchString(p) {
			return false
		}
	}
	return true
}

// initialisms are the name parts GoName writes in capitals, as Go style asks
// (URL, not Url).
var initialisms = map[string]bool{
	"api": true, "cpu": true, "http": true, "id": true, "ip": true, "json": true,
	"sql": true, "tls": true, "ttl": true, "uri": true, "url": true, "uuid": true,
}

// GoName is the exported Go identifier for a manifest name: the parts between
// '.', '_' and '-' (and, in camel case, before a capital) are capitalised
// and joined, and common initialisms are written in capitals. For example
// "auth.token" becomes "AuthToken", "url" "URL", "max_id" "MaxID" and
// "userId" "UserID". Two names with the same GoName would clash in
// generated code, so a manifest may not hold both.
func GoName(name string) string {
	var b strings.Builder
	parts := strings.FieldsFunc(name, func(r rune) bool { return r == '.' || r == '_' || r == '-' })
	for _, p := range parts {
		for _, w := range camelWords(p) {
			if initialisms[strings.ToLower(w)] {
				b.WriteString(strings.ToUpper(w))
				continue
			}
			r, n := utf8.DecodeRuneInString(w)
			b.WriteRune(unicode.ToUpper(r))
			b.WriteString(w[n:])
		}
	}
	return b.String()
}

// camelWords splits a name part written in camel case, as field names of
// JSON APIs are (userId), before each capital that follows a lowercase
// letter or a digit, so that its initialisms are found too (UserID).
func camelWords(p string) []string {
	var words []string
	start := 0
	for i := 1; i < len(p); i++ {
		prev := p[i-1]
		if 'A' <= p[i] && p[i] <= 'Z' && ('a' <= prev && prev <= 'z' || '0' <= prev && prev <= '9') {
			words = append(words, p[start:i])
			start = i
		}
	}
	return append(words, p[start:])
}

// typoSynonyms catch names from other languages that edit distance would
// not bring close enough to a plugctl type.
var typoSynonyms = map[string]string{
	"integer": "int", "int64": "int", "number": "float", "double": "float", "float64": "float",
	"boolean": "bool", "str": "string", "text": "string", "list": "strings", "array": "strings",
	"[]string": "strings", "timestamp": "time", "datetime": "time", "date": "time", "[]byte": "bytes",
}

// Suggest returns the candidate closest to word, or "" when none is close
// enough to be what the author meant. The CLI uses it for command names too.
func Suggest(word string, candidates []string) string {
	lower := strings.ToLower(word)
	if s, ok := typoSynonyms[lower]; ok {
		for _, c := range candidates {
			if c == s {
				return c
			}
		}
	}
	best := wire.Closest(lower, candidates)
	if best != "" || len(lower) < 3 {
		return best
	}
	// An abbreviation, such as "gen" or "desc", is too far from the whole
	// word for a typo, but names it when it begins no other candidate.
	for _, c := range candidates {
		if strings.HasPrefix(c, lower) && c != best {
			if best != "" {
				return ""
			}
			best = c
		}
	}
	return best
}

// named is a name that becomes a Go identifier, with where it is declared
// and the rule it must follow.
type named struct {
	key  []string
	name string
	rule *regexp.Regexp
}

// placed is a name with where it is written.
type placed struct {
	named
	at position
}

// placedNames returns the valid names, in the order they are written.
// Invalid names are left out: they are reported already.
func (c *checker) placedNames(names []named) []placed {
	var list []placed
	for _, n := range names {
		if n.rule.MatchString(n.name) {
			list = append(list, placed{n, c.pos.of(n.key)})
		}
	}
	sort.SliceStable(list, func(i, j int) bool { return list[i].at.before(list[j].at) })
	return list
}

// collisions reports each name whose GoName an earlier name in the file
// already has, naming the line of both.
func (c *checker) collisions(what string, names []named) {
	seen := map[string]placed{}
	for _, n := range c.placedNames(names) {
		g := GoName(n.name)
		first, ok := seen[g]
		if !ok {
			seen[g] = n
			continue
		}
		here, there := toml.Key(n.key).String(), toml.Key(first.key).String()
		switch {
		case n.name == first.name && n.key[0] == first.key[0]:
			// Two spellings of one name: [config.auth.user] and
			// [config."auth.user"] are the same parameter to plugctl,
			// though TOML sees two tables.
			c.errorf(n.key, "remove one of them", "%s %q is declared twice: as %s at line %d and as %s here", what, n.name, there, first.at.line, here)
		case n.name == first.name: // a config and a global parameter
			c.errorf(n.key, "rename one of them", "%ss %s (line %d) and %s both become the Go name %s", what, there, first.at.line, here, g)
		default:
			c.errorf(n.key, "rename one of them", "%ss %q (line %d) and %q both become the Go name %s", what, first.name, first.at.line, n.name, g)
		}
	}
}

// Ident is a package-level identifier of a generated project's main
// package, and what it is, for messages.
type Ident struct{ Name, What string }

// FixedIdents returns the package-level identifiers of a generated
// project's main package that no name in the manifest changes: those of
// main.go, config_gen.go, spec_gen.go, the generated tests and the
// starter's source.go or sink.go (some only in some projects).
func FixedIdents() []string {
	return []string{
		"main", "version", "Spec", "Config", "GlobalConfig", "ParseConfig", "ParseGlobalConfig",
		"configParser", "globalConfigParser", "TestKinds",
		"TestParseConfigDefaults", "TestParseConfigInvalid", "TestParseConfigAllProblems", "TestParseConfigUnknown", "TestParseConfigSecrets",
		"TestParseGlobalConfigDefaults", "TestParseGlobalConfigInvalid", "TestParseGlobalConfigAllProblems", "TestParseGlobalConfigUnknown", "TestParseGlobalConfigSecrets",
		"debug", "setup", "source", "newSource", "run", "emitEvery", "sink", "newSink", "line",
	}
}

// KindIdents returns the package-level identifiers that a generated
// project declares for the event kind name in a plugin of kind pluginKind
// ("source" or "sink"). The generate package's tests check that it
// declares these and no others.
func KindIdents(name, pluginKind string) []Ident {
	g := GoName(name)
	typ := g + "Event"
	ids := []Ident{
		{"Kind" + g, "kind constant"},
		{typ, "payload type"},
		{"sample" + typ + "s", "test samples"},
		{"Test" + typ + "AppendJSON", "encoder test"},
		{"Test" + typ + "AppendJSONAllocs", "allocation test"},
		{"BenchmarkAppendJSON" + g, "encoder benchmark"},
		{"BenchmarkMarshal" + g, "encoding/json benchmark"},
	}
	if pluginKind == "sink" {
		return append(ids, Ident{"Decode" + g, "Decode function"}, Ident{"TestDecode" + g, "decoder test"})
	}
	return append(ids, Ident{"Add" + g, "Add function"}, Ident{"Emit" + g, "Emit function"},
		Ident{"Test" + typ + "RoundTrip", "round-trip test"})
}

// identClashes reports each event kind that a generated identifier of
// another kind, or of the generated code itself, takes away: in a source,
// kinds "event" and "kind" would both declare KindEvent, the constant of
// one and the payload type of the other. Kinds that share a Go name are
// reported by collisions and left out here.
func (c *checker) identClashes(names []named, pluginKind string) {
	type owner struct {
		placed
		what string
	}
	declared := map[string]*owner{}
	for _, id := range FixedIdents() {
		declared[id] = nil
	}
	goNames := map[string]bool{}
	for _, n := range c.placedNames(names) {
		g := GoName(n.name)
		if goNames[g] {
			continue
		}
		goNames[g] = true
		reported := map[string]bool{} // one error for each other kind
		for _, id := range KindIdents(n.name, pluginKind) {
			first, taken := declared[id.Name]
			switch {
			case !taken:
				declared[id.Name] = &owner{n, id.What}
			case first == nil:
				c.errorf(n.key, "rename the kind", "event kind %q would declare %s (its %s), which generated code declares already", n.name, id.Name, id.What)
			case !reported[first.name]:
				reported[first.name] = true
				c.errorf(n.key, "rename one of them", "event kinds %q (line %d) and %q both give the Go identifier %s: the %s of %q and the %s of %q",
					first.name, first.at.line, n.name, id.Name, first.what, first.name, id.What, n.name)
			}
		}
	}
}
