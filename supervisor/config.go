package supervisor

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/BurntSushi/toml"
	"github.com/plugctl/plugctl/enroll"
)

// MaxInstances bounds instances in the configuration: each is a slot with
// a state file and a stream of its own.
const MaxInstances = 256

// Config is the --config file: how many instances of each plugin to run,
// and with which settings. docs/HOST.md describes it.
type Config struct {
	Plugins map[string]PluginConfig // by entry name or id
}

// PluginConfig is one [plugins.NAME] table.
type PluginConfig struct {
	Instances int               // default 1
	Settings  map[string]string // sent with every instance's OPEN
	Global    map[string]string // sent once per process with SETUP; none: no SETUP
}

// For returns the configuration of the plugin enrolled as e: its table by
// id, else by name, else one instance with the plugin's defaults.
func (c *Config) For(e *enroll.Entry) PluginConfig {
	if c != nil {
		if pc, ok := c.Plugins[e.ID]; ok {
			return pc
		}
		if pc, ok := c.Plugins[e.Name]; ok {
			return pc
		}
	}
	return PluginConfig{Instances: 1}
}

// ConfigError is one problem in the configuration file.
type ConfigError struct {
	File      string
	Line, Col int
	Key       string
	Msg       string
}

func (e *ConfigError) Error() string {
	s := fmt.Sprintf("%s:%d:%d: ", e.File, e.Line, e.Col)
	if e.Key != "" {
		s += e.Key + ": "
	}
	return s + e.Msg
}

// LoadConfig reads and checks the configuration file at path. Every
// problem is reported, each a *ConfigError, joined with errors.Join.
func LoadConfig(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return ParseConfig(path, data)
}

// ParseConfig checks a configuration; path only names it in messages.
func ParseConfig(path string, data []byte) (*Config, error) {
	var raw map[string]any
	if _, err := toml.Decode(string(data), &raw); err != nil {
		e := &ConfigError{File: path, Line: 1, Col: 1, Msg: "invalid TOML: " + err.Error()}
		var pe toml.ParseError
		if errors.As(err, &pe) {
			e.Msg = "invalid TOML: " + pe.Message
			e.Line, e.Col = max(pe.Position.Line, 1), max(pe.Position.Col, 1)
		}
		return nil, e
	}
	p := &configParser{file: path, keys: keyPositions(string(data))}
	c := &Config{Plugins: map[string]PluginConfig{}}
	for _, k := range sortedKeys(raw) {
		if k != "plugins" {
			p.fail([]string{k}, "unknown key (the file has one table, [plugins.NAME])")
			continue
		}
		plugins, ok := raw[k].(map[string]any)
		if !ok {
			p.fail([]string{k}, "want a table of plugins, as [plugins.acme]")
			continue
		}
		for _, name := range sortedKeys(plugins) {
			if pc, ok := p.plugin(name, plugins[name]); ok {
				c.Plugins[name] = pc
			}
		}
	}
	if len(p.errs) > 0 {
		slices.SortStableFunc(p.errs, func(a, b *ConfigError) int {
			if a.Line != b.Line {
				return a.Line - b.Line
			}
			return a.Col - b.Col
		})
		errs := make([]error, len(p.errs))
		for i, e := range p.errs {
			errs[i] = e
		}
		return nil, errors.Join(errs...)
	}
	return c, nil
}

type configParser struct {
	file string
	keys map[string][2]int // dotted key path → line, column where it is set
	errs []*ConfigError
}

func (p *configParser) plugin(name string, v any) (PluginConfig, bool) {
	at := []string{"plugins", name}
	t, ok := v.(map[string]any)
	if !ok {
		p.fail(at, "want a table, as [plugins."+name+"]")
		return PluginConfig{}, false
	}
	pc := PluginConfig{Instances: 1}
	n := len(p.errs)
	for _, k := range sortedKeys(t) {
		key := append(at[:2:2], k)
		switch k {
		case "instances":
			i, ok := t[k].(int64)
			if !ok || i < 1 || i > MaxInstances {
				p.fail(key, fmt.Sprintf("want a whole number from 1 to %d", MaxInstances))
				continue
			}
			pc.Instances = int(i)
		case "settings":
			pc.Settings = p.settings(key, t[k])
		case "global":
			pc.Global = p.settings(key, t[k])
		default:
			p.fail(key, "unknown key (want instances, settings or global)")
		}
	}
	return pc, len(p.errs) == n
}

// settings converts a table of parameters to the wire's text forms
// (docs/PROTOCOL.md §4.7): numbers and booleans as Go formats them, a
// list of strings joined with commas.
func (p *configParser) settings(at []string, v any) map[string]string {
	t, ok := v.(map[string]any)
	if !ok {
		p.fail(at, `want a table of parameters, as { interval = "50ms" }`)
		return nil
	}
	out := make(map[string]string, len(t))
	for _, k := range sortedKeys(t) {
		key := append(at[:len(at):len(at)], k)
		switch x := t[k].(type) {
		case string:
			out[k] = x
		case int64:
			out[k] = strconv.FormatInt(x, 10)
		case float64:
			out[k] = strconv.FormatFloat(x, 'g', -1, 64)
		case bool:
			out[k] = strconv.FormatBool(x)
		case []any:
			items := make([]string, len(x))
			for i, item := range x {
				s, ok := item.(string)
				if !ok || strings.Contains(s, ",") {
					p.fail(key, "a list must hold strings without commas")
					break
				}
				items[i] = s
			}
			out[k] = strings.Join(items, ",")
		default:
			p.fail(key, "want a string, number, boolean or list of strings")
		}
	}
	return out
}

func (p *configParser) fail(key []string, msg string) {
	line, col := p.locate(key)
	p.errs = append(p.errs, &ConfigError{File: p.file, Line: line, Col: col, Key: strings.Join(key, "."), Msg: msg})
}

// locate finds where key, or failing that its nearest enclosing key, is
// set; keys inside an inline table are found on its line.
func (p *configParser) locate(key []string) (line, col int) {
	for n := len(key); n > 0; n-- {
		if pos, ok := p.keys[strings.Join(key[:n], ".")]; ok {
			return pos[0], pos[1]
		}
	}
	return 1, 1
}

// keyPositions scans TOML source for table headers and "key =" lines,
// recording where each dotted key path is first set. The decoder keeps
// its positions to itself; the configuration is simple enough for this.
func keyPositions(src string) map[string][2]int {
	keys := map[string][2]int{}
	record := func(path []string, line, col int) {
		for n := 1; n <= len(path); n++ {
			k := strings.Join(path[:n], ".")
			if _, ok := keys[k]; !ok {
				keys[k] = [2]int{line, col}
			}
		}
	}
	var table []string
	for i, l := range strings.Split(src, "\n") {
		t := strings.TrimSpace(l)
		col := strings.Index(l, t) + 1
		switch {
		case t == "" || strings.HasPrefix(t, "#"):
		case strings.HasPrefix(t, "["):
			head := strings.TrimSpace(strings.SplitN(t, "#", 2)[0])
			table = splitKey(strings.Trim(head, "[]"))
			record(table, i+1, col)
		default:
			k, rest, ok := strings.Cut(t, "=")
			if !ok {
				continue
			}
			path := append(table[:len(table):len(table)], splitKey(k)...)
			record(path, i+1, col)
			// Keys of an inline table on the same line, as { interval = "50ms" }.
			for _, part := range strings.Split(strings.Trim(strings.TrimSpace(rest), "{}"), ",") {
				ik, _, ok := strings.Cut(part, "=")
				if name := splitKey(ik); ok && len(name) > 0 {
					record(append(path[:len(path):len(path)], name...), i+1, strings.Index(l, strings.TrimSpace(ik))+1)
				}
			}
		}
	}
	return keys
}

// splitKey splits a dotted TOML key, unquoting its parts.
func splitKey(k string) []string {
	var parts []string
	for _, p := range strings.Split(k, ".") {
		if p = strings.Trim(strings.TrimSpace(p), `"'`); p != "" {
			parts = append(parts, p)
		}
	}
	return parts
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
